package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
)

// Cache is the L2 service.Cache: JSON values under {prefix}qr:{id} and
// {prefix}status:{id}, expiring by Redis TTL.
type Cache struct {
	rdb    *goredis.Client
	prefix string

	hits, misses, sets, invalidations, errors atomic.Int64
}

// CacheOption configures a Cache.
type CacheOption func(*Cache)

// WithPrefix replaces DefaultPrefix in every key.
func WithPrefix(prefix string) CacheOption {
	return func(c *Cache) { c.prefix = keyPrefix(prefix) }
}

// NewCache returns a Cache on rdb.
func NewCache(rdb *goredis.Client, opts ...CacheOption) *Cache {
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
	return c.set(ctx, "qr:", qr.SessionID, cachedQR{QR: qr, Code: qr.Code}, ttl)
}

func (c *Cache) GetQR(ctx context.Context, sessionID string) (service.QR, bool, error) {
	var v cachedQR
	ok, err := c.get(ctx, "qr:", sessionID, &v)
	if !ok || err != nil {
		return service.QR{}, false, err
	}
	v.QR.Code = v.Code
	return v.QR, true, nil
}

func (c *Cache) SetStatus(ctx context.Context, rec service.StatusRecord, ttl time.Duration) error {
	return c.set(ctx, "status:", rec.SessionID, rec, ttl)
}

func (c *Cache) GetStatus(ctx context.Context, sessionID string) (service.StatusRecord, bool, error) {
	var v service.StatusRecord
	ok, err := c.get(ctx, "status:", sessionID, &v)
	if !ok || err != nil {
		return service.StatusRecord{}, false, err
	}
	return v, true, nil
}

func (c *Cache) Invalidate(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		c.errors.Add(1)
		return err
	}
	if err := c.rdb.Del(ctx, c.prefix+"qr:"+sessionID, c.prefix+"status:"+sessionID).Err(); err != nil {
		c.errors.Add(1)
		return fmt.Errorf("redis cache: invalidate %s: %w", sessionID, err)
	}
	c.invalidations.Add(1)
	return nil
}

// InvalidateAll deletes the cache keys of this prefix with SCAN (KEYS would
// block Redis); outbox and lease keys do not match the patterns.
func (c *Cache) InvalidateAll(ctx context.Context) error {
	for _, kind := range []string{"qr:", "status:"} {
		iter := c.rdb.Scan(ctx, 0, c.prefix+kind+"*", 500).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			err := c.rdb.Unlink(ctx, batch...).Err()
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 500 {
				if err := flush(); err != nil {
					c.errors.Add(1)
					return fmt.Errorf("redis cache: invalidate all: %w", err)
				}
			}
		}
		if err := errors.Join(iter.Err(), flush()); err != nil {
			c.errors.Add(1)
			return fmt.Errorf("redis cache: invalidate all: %w", err)
		}
	}
	c.invalidations.Add(1)
	return nil
}

func (c *Cache) Metrics() service.CacheMetrics {
	hits, misses := c.hits.Load(), c.misses.Load()
	return service.CacheMetrics{Hits: hits, Misses: misses, HitRate: service.HitRate(hits, misses),
		Sets: c.sets.Load(), Invalidations: c.invalidations.Load(), Errors: c.errors.Load()}
}

// set stores value as JSON; ttl <= 0 keeps it until invalidated.
func (c *Cache) set(ctx context.Context, kind, id string, value any, ttl time.Duration) error {
	if err := service.ValidateSessionID(id); err != nil {
		c.errors.Add(1)
		return err
	}
	b, err := json.Marshal(value)
	if err != nil {
		c.errors.Add(1)
		return fmt.Errorf("redis cache: encode %s%s: %w", kind, id, err)
	}
	if ttl < 0 {
		ttl = 0
	}
	if err := c.rdb.Set(ctx, c.prefix+kind+id, b, ttl).Err(); err != nil {
		c.errors.Add(1)
		return fmt.Errorf("redis cache: set %s%s: %w", kind, id, err)
	}
	c.sets.Add(1)
	return nil
}

func (c *Cache) get(ctx context.Context, kind, id string, v any) (bool, error) {
	if err := service.ValidateSessionID(id); err != nil {
		c.errors.Add(1)
		return false, err
	}
	b, err := c.rdb.Get(ctx, c.prefix+kind+id).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		c.misses.Add(1)
		return false, nil
	case err != nil:
		c.errors.Add(1)
		return false, fmt.Errorf("redis cache: get %s%s: %w", kind, id, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		// A value we cannot read is as good as absent; the caller refills it.
		c.errors.Add(1)
		c.misses.Add(1)
		return false, nil
	}
	c.hits.Add(1)
	return true, nil
}
