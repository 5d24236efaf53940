package inmem

import (
	"container/list"
	"context"
	"sync"
	"time"

	"wagateway/service"
)

// DefaultMaxEntries bounds a Cache built without WithMaxEntries.
const DefaultMaxEntries = 100_000

// Cache is a bounded in-memory service.Cache whose TTLs run on an injected clock.
type Cache struct {
	clock service.Clock
	max   int

	mu        sync.Mutex
	entries   map[string]*list.Element // key → element of order
	order     *list.List               // *entry, least recently written first
	lastSweep time.Time

	count service.CacheCounters
}

type entry struct {
	key     string
	value   any
	expires time.Time // zero: no expiry
}

// CacheOption configures a Cache.
type CacheOption func(*Cache)

// WithMaxEntries bounds the number of entries (QR and status count apart);
// when full, expired entries go first, then the least recently written.
func WithMaxEntries(n int) CacheOption {
	return func(c *Cache) {
		if n > 0 {
			c.max = n
		}
	}
}

// NewCache returns an empty Cache; a nil clock is the system clock.
func NewCache(clock service.Clock, opts ...CacheOption) *Cache {
	c := &Cache{
		clock:   clockOrSystem(clock),
		max:     DefaultMaxEntries,
		entries: make(map[string]*list.Element),
		order:   list.New(),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ service.Cache = (*Cache)(nil)

func (c *Cache) SetQR(ctx context.Context, qr service.QR, ttl time.Duration) error {
	return c.set("qr:", qr.SessionID, qr, ttl, nil)
}

func (c *Cache) GetQR(ctx context.Context, sessionID string) (service.QR, bool, error) {
	v, ok, err := c.get("qr:", sessionID)
	if !ok || err != nil {
		return service.QR{}, false, err
	}
	return v.(service.QR), true, nil
}

// SetStatus keeps the newer record: one older than the stored one (by
// UpdatedAt) is dropped, as Laravel drops it.
func (c *Cache) SetStatus(ctx context.Context, rec service.StatusRecord, ttl time.Duration) error {
	return c.set("status:", rec.SessionID, rec, ttl, func(stored any) bool {
		return stored.(service.StatusRecord).UpdatedAt.After(rec.UpdatedAt)
	})
}

func (c *Cache) GetStatus(ctx context.Context, sessionID string) (service.StatusRecord, bool, error) {
	v, ok, err := c.get("status:", sessionID)
	if !ok || err != nil {
		return service.StatusRecord{}, false, err
	}
	return v.(service.StatusRecord), true, nil
}

func (c *Cache) Invalidate(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		c.count.Failure()
		return err
	}
	c.mu.Lock()
	c.remove("qr:" + sessionID)
	c.remove("status:" + sessionID)
	c.mu.Unlock()
	c.count.Invalidation()
	return nil
}

func (c *Cache) InvalidateAll(ctx context.Context) error {
	c.mu.Lock()
	clear(c.entries)
	c.order.Init()
	c.mu.Unlock()
	c.count.Invalidation()
	return nil
}

// Len returns the number of entries held, expired ones not yet dropped included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) Metrics() service.CacheMetrics { return c.count.Metrics() }

// set stores value under prefix+id; ttl <= 0 keeps it until evicted.
// set stores value under prefix+id, unless storedIsNewer (when given) says
// the live entry there must stay.
func (c *Cache) set(prefix, id string, value any, ttl time.Duration, storedIsNewer func(stored any) bool) error {
	if err := service.ValidateSessionID(id); err != nil {
		c.count.Failure()
		return err
	}
	now := c.clock.Now()
	e := &entry{key: prefix + id, value: value}
	if ttl > 0 {
		e.expires = now.Add(ttl)
	}
	c.mu.Lock()
	if el, ok := c.entries[e.key]; ok && storedIsNewer != nil {
		if old := el.Value.(*entry); !old.expired(now) && storedIsNewer(old.value) {
			c.mu.Unlock()
			return nil
		}
	}
	c.remove(e.key)
	if len(c.entries) >= c.max {
		c.makeRoom(now)
	}
	c.entries[e.key] = c.order.PushBack(e)
	c.mu.Unlock()
	c.count.Set()
	return nil
}

func (c *Cache) get(prefix, id string) (any, bool, error) {
	if err := service.ValidateSessionID(id); err != nil {
		c.count.Failure()
		return nil, false, err
	}
	key := prefix + id
	now := c.clock.Now()
	c.mu.Lock()
	el, ok := c.entries[key]
	var value any
	if ok {
		e := el.Value.(*entry)
		if e.expired(now) {
			c.remove(key)
			ok = false
		} else {
			value = e.value
		}
	}
	c.mu.Unlock()
	if !ok {
		c.count.Miss()
		return nil, false, nil
	}
	c.count.Hit()
	return value, true, nil
}

// makeRoom frees at least one slot: a sweep of expired entries (at most once
// per second of clock time, so a full cache of live entries stays O(1) per
// set), else the least recently written entry.
func (c *Cache) makeRoom(now time.Time) {
	if now.Sub(c.lastSweep) >= time.Second {
		c.lastSweep = now
		for el := c.order.Front(); el != nil; {
			next := el.Next()
			if e := el.Value.(*entry); e.expired(now) {
				c.order.Remove(el)
				delete(c.entries, e.key)
			}
			el = next
		}
	}
	for len(c.entries) >= c.max {
		el := c.order.Front()
		c.order.Remove(el)
		delete(c.entries, el.Value.(*entry).key)
	}
}

func (c *Cache) remove(key string) {
	if el, ok := c.entries[key]; ok {
		c.order.Remove(el)
		delete(c.entries, key)
	}
}

func (e *entry) expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}
