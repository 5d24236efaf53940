package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/jsonenc"
	"wagateway/service"
)

// Cache is the L2 service.Cache: JSON values under {prefix}qr:{<id>} and
// {prefix}status:{<id>}, expiring by Redis TTL.
type Cache struct {
	rdb    goredis.UniversalClient
	prefix string
	behind *WriteBehind // nil: every write goes at once

	count service.CacheCounters
}

// cacheWrite is one SET of a cache key.
type cacheWrite struct {
	key   string
	value []byte
	ttl   time.Duration // 0 = none
	newer bool          // a status: keep the stored one when it is newer
	atMs  int64
}

// CacheOption configures a Cache.
type CacheOption func(*Cache)

// WithPrefix replaces DefaultPrefix in every key.
func WithPrefix(prefix string) CacheOption {
	return func(c *Cache) { c.prefix = keyPrefix(prefix) }
}

// WithWriteBehind queues the writes on w (see WriteBehind): a write returns
// before it reaches Redis; reads in this process still see it, other
// instances up to w's delay later.
func WithWriteBehind(w *WriteBehind) CacheOption {
	return func(c *Cache) { c.behind = w }
}

// NewCache returns a Cache on rdb.
func NewCache(rdb goredis.UniversalClient, opts ...CacheOption) *Cache {
	c := &Cache{rdb: rdb, prefix: DefaultPrefix}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ service.Cache = (*Cache)(nil)

// cachedQR keeps the raw code too (service.QR hides it from JSON), so L1 and
// L2 answer with the same value.
type cachedQR struct {
	service.QR
	Code string `json:"code,omitempty"`
}

func (c *Cache) SetQR(ctx context.Context, qr service.QR, ttl time.Duration) error {
	b, err := jsonenc.QRWithCode(nil, qr) // a cachedQR
	return c.set(ctx, "qr", qr.SessionID, b, err, ttl)
}

func (c *Cache) GetQR(ctx context.Context, sessionID string) (service.QR, bool, error) {
	var v cachedQR
	ok, err := c.get(ctx, "qr", sessionID, &v)
	if !ok || err != nil {
		return service.QR{}, false, err
	}
	v.QR.Code = v.Code
	return v.QR, true, nil
}

// cachedStatus carries the record's time as a number too, so the
// newest-wins script compares it without parsing RFC 3339 in Lua.
type cachedStatus struct {
	service.StatusRecord
	AtMs int64 `json:"at_ms"`
}

// setNewerScript sets KEYS[1] to ARGV[1] (TTL ARGV[3] ms, 0 = none) unless
// the stored value's at_ms is newer than ARGV[2]; one round trip, atomic.
var setNewerScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' and tonumber(v.at_ms) and tonumber(v.at_ms) > tonumber(ARGV[2]) then
    return 0
  end
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
`)

// SetStatus keeps the newer record: one older than the stored one (by
// UpdatedAt) is dropped, as Laravel drops it, so a late writer cannot put an
// old state back.
func (c *Cache) SetStatus(ctx context.Context, rec service.StatusRecord, ttl time.Duration) error {
	id := rec.SessionID
	if err := service.ValidateSessionID(id); err != nil {
		c.count.Failure()
		return err
	}
	at := rec.UpdatedAt.UnixMilli()
	b, err := json.Marshal(cachedStatus{StatusRecord: rec, AtMs: at})
	if err != nil {
		c.count.Failure()
		return fmt.Errorf("redis cache: encode status:%s: %w", id, err)
	}
	return c.write(ctx, cacheWrite{key: sessionKey(c.prefix, "status", id), value: b, ttl: max(ttl, 0), newer: true, atMs: at})
}

// write sends w now, or queues it behind.
func (c *Cache) write(ctx context.Context, w cacheWrite) error {
	if c.behind != nil {
		c.behind.add(ctx, queuedWrite{key: w.key, write: w.pipe, done: c.written})
		return nil
	}
	var err error
	if w.newer {
		err = setNewerScript.Run(ctx, c.rdb, []string{w.key}, w.value, w.atMs, w.ttl.Milliseconds()).Err()
	} else {
		err = c.rdb.Set(ctx, w.key, w.value, w.ttl).Err()
	}
	c.written(err)
	if err != nil {
		return fmt.Errorf("redis cache: set %s: %w", w.key, err)
	}
	return nil
}

// written counts a write's outcome.
func (c *Cache) written(err error) {
	if err != nil {
		c.count.Failure()
	} else {
		c.count.Set()
	}
}

// pipe adds w to a write-behind pipeline.
func (w cacheWrite) pipe(ctx context.Context, p goredis.Pipeliner) []goredis.Cmder {
	if w.newer {
		// Eval, not Run: a pipeline cannot fall back from EVALSHA on NOSCRIPT.
		return []goredis.Cmder{setNewerScript.Eval(ctx, p, []string{w.key}, w.value, w.atMs, w.ttl.Milliseconds())}
	}
	return []goredis.Cmder{p.Set(ctx, w.key, w.value, w.ttl)}
}

// flushKey sends the queued writes when one is for key, so a read in this
// process sees what it wrote ("" for any key).
func (c *Cache) flushKey(ctx context.Context, key string) {
	if c.behind != nil {
		c.behind.flushIf(ctx, key)
	}
}

func (c *Cache) GetStatus(ctx context.Context, sessionID string) (service.StatusRecord, bool, error) {
	var v cachedStatus
	ok, err := c.get(ctx, "status", sessionID, &v)
	if !ok || err != nil {
		return service.StatusRecord{}, false, err
	}
	return v.StatusRecord, true, nil
}

var _ service.StatusBatcher = (*Cache)(nil)

// statusBatch bounds one pipeline of GetStatuses.
const statusBatch = 1000

// GetStatuses reads the status of each of ids, statusBatch GETs per
// pipeline; on a Cluster go-redis sends each GET to its slot's master.
func (c *Cache) GetStatuses(ctx context.Context, ids []string) (map[string]service.StatusRecord, error) {
	c.flushKey(ctx, "")
	out := make(map[string]service.StatusRecord, len(ids))
	for chunk := range slices.Chunk(ids, statusBatch) {
		cmds := make([]*goredis.StringCmd, len(chunk))
		_, err := c.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, id := range chunk {
				cmds[i] = p.Get(ctx, sessionKey(c.prefix, "status", id))
			}
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) {
			c.count.Failure()
			return out, fmt.Errorf("redis cache: get %d statuses: %w", len(chunk), err)
		}
		for i, cmd := range cmds {
			var v cachedStatus
			b, err := cmd.Bytes()
			if err != nil {
				c.count.Miss()
				continue
			}
			if c.count.Decoded(json.Unmarshal(b, &v)) {
				out[chunk[i]] = v.StatusRecord
			}
		}
	}
	return out, nil
}

func (c *Cache) Invalidate(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		c.count.Failure()
		return err
	}
	// A queued write would put the value back after the DEL.
	c.flushKey(ctx, "")
	if err := c.rdb.Del(ctx, sessionKey(c.prefix, "qr", sessionID), sessionKey(c.prefix, "status", sessionID)).Err(); err != nil {
		c.count.Failure()
		return fmt.Errorf("redis cache: invalidate %s: %w", sessionID, err)
	}
	c.count.Invalidation()
	return nil
}

// InvalidateAll deletes the cache keys of this prefix with SCAN (KEYS would
// block Redis), on every master of a Cluster; outbox and lease keys do not
// match the patterns. Keys are unlinked one command each: on a Cluster a
// batch of keys from many slots would be refused (CROSSSLOT), and go-redis
// sends each command of a pipeline to its slot's master.
func (c *Cache) InvalidateAll(ctx context.Context) error {
	c.flushKey(ctx, "")
	err := forEachMaster(ctx, c.rdb, func(ctx context.Context, node goredis.UniversalClient) error {
		for _, kind := range []string{"qr:", "status:"} {
			iter := node.Scan(ctx, 0, c.prefix+kind+"*", 500).Iterator()
			var batch []string
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				_, err := c.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
					for _, k := range batch {
						p.Unlink(ctx, k)
					}
					return nil
				})
				batch = batch[:0]
				return err
			}
			for iter.Next(ctx) {
				batch = append(batch, iter.Val())
				if len(batch) == 500 {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			if err := errors.Join(iter.Err(), flush()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.count.Failure()
		return fmt.Errorf("redis cache: invalidate all: %w", err)
	}
	c.count.Invalidation()
	return nil
}

func (c *Cache) Metrics() service.CacheMetrics { return c.count.Metrics() }

// set stores b, the JSON of the value (or the error encoding it); ttl <= 0
// keeps it until invalidated.
func (c *Cache) set(ctx context.Context, kind, id string, b []byte, encodeErr error, ttl time.Duration) error {
	if err := service.ValidateSessionID(id); err != nil {
		c.count.Failure()
		return err
	}
	if err := encodeErr; err != nil {
		c.count.Failure()
		return fmt.Errorf("redis cache: encode %s:%s: %w", kind, id, err)
	}
	return c.write(ctx, cacheWrite{key: sessionKey(c.prefix, kind, id), value: b, ttl: max(ttl, 0)})
}

func (c *Cache) get(ctx context.Context, kind, id string, v any) (bool, error) {
	if err := service.ValidateSessionID(id); err != nil {
		c.count.Failure()
		return false, err
	}
	key := sessionKey(c.prefix, kind, id)
	c.flushKey(ctx, key)
	b, err := c.rdb.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		c.count.Miss()
		return false, nil
	case err != nil:
		c.count.Failure()
		return false, fmt.Errorf("redis cache: get %s:%s: %w", kind, id, err)
	}
	// A value we cannot read is as good as absent; the caller refills it.
	return c.count.Decoded(json.Unmarshal(b, v)), nil
}
