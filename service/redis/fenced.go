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
// still exactly the writer's (same owner and token), or is free with no
// newer token handed out (a Redis failover lost it): then it takes it back,
// as a renewal would. KEYS stream, lease, fence, running; ARGV lease value,
// payload, token, ttl ms, session id, owner. Every key has the {core} tag.
var fencedAddScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[2])
if cur ~= ARGV[1] then
  if cur == false and (tonumber(redis.call('GET', KEYS[3])) or 0) <= tonumber(ARGV[3]) and tonumber(ARGV[4]) > 0 then
    redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
    redis.call('SET', KEYS[3], ARGV[3])
    redis.call('HSET', KEYS[4], ARGV[5], ARGV[6])
  else
    return redis.error_reply('FENCED lease is not held')
  end
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
		id, err := acked(ctx, o.rdb, o.acks, func(p goredis.Pipeliner) *goredis.Cmd {
			// Eval, not Run: a pipeline cannot fall back from EVALSHA on NOSCRIPT.
			return fencedAddScript.Eval(ctx, p,
				[]string{o.streams[it.Lane], coreKey(o.cfg.Prefix, "lease:"+it.SessionID),
					coreKey(o.cfg.Prefix, "fence:"+it.SessionID), coreKey(o.cfg.Prefix, "running")},
				leaseValue(lease), payload, lease.Token, lease.TTL.Milliseconds(), it.SessionID, lease.Owner)
		}).Text()
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
