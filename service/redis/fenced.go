package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
)

// fencedAddScript adds an outbox entry only while the session's lease is
// still exactly the writer's (same owner and token). KEYS stream, lease;
// ARGV lease value, payload. Both keys have the {core} tag.
var fencedAddScript = goredis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('FENCED lease is not held')
end
return redis.call('XADD', KEYS[1], '*', 'item', ARGV[2])
`)

// addFenced is Add of an update that carries its session's lease: Redis
// refuses it (error code ECONFLICT) when the lease lapsed or a newer holder
// took it, so an instance that paused past its lease cannot report for a
// session another instance runs now. During an outage the item is buffered like any other:
// the writer cannot prove or disprove its lease then, and the item was made
// while it still believed it held it.
func (o *Outbox) addFenced(ctx context.Context, it service.Update, lease service.Lease) (service.Update, error) {
	if lease.SessionID != it.SessionID || !lease.Valid() {
		return service.Update{}, service.Errorf(service.EINVALID, "fenced add of %s needs its session's lease", it)
	}
	it.ID, it.Attempts, it.Lease = "", 0, nil
	if o.usable(ctx) {
		payload, err := json.Marshal(it)
		if err != nil {
			return service.Update{}, fmt.Errorf("redis outbox: encode %s: %w", it, err)
		}
		id, err := fencedAddScript.Run(ctx, o.rdb,
			[]string{o.streams[it.Lane], coreKey(o.cfg.Prefix, "lease:"+it.SessionID)},
			leaseValue(lease), payload).Text()
		switch {
		case err == nil:
			it.ID = id
			return it, nil
		case strings.HasPrefix(err.Error(), "FENCED"):
			return service.Update{}, fmt.Errorf("redis outbox: add %s: %w", it,
				service.Errorf(service.ECONFLICT, "lease of %s (token %d) is no longer held by %s", it.SessionID, lease.Token, lease.Owner))
		case !isConnError(err) || ctx.Err() != nil:
			return service.Update{}, fmt.Errorf("redis outbox: add %s: %w", it, err)
		}
		o.markDown(err)
	}
	return o.buf.add(it, o.cfg.Clock.Now())
}
