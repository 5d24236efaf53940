package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"wagateway/service"
)

// sweepEvery is how often (clock time) a write also deletes expired rows,
// so the table does not grow with sessions long gone.
const sweepEvery = time.Minute

// Cache is the L2 service.Cache in the table cache: JSON values under
// qr:{id} and status:{id}, with their expiry; an expired row reads as a miss.
type Cache struct {
	db *DB

	sweepMu   sync.Mutex
	lastSweep time.Time

	hits, misses, sets, invalidations, errors atomic.Int64
}

// NewCache returns the Cache of db.
func NewCache(db *DB) *Cache { return &Cache{db: db} }

var _ service.Cache = (*Cache)(nil)

// cachedQR keeps the raw code too (service.QR hides it from JSON), so L1 and
// L2 answer with the same value.
type cachedQR struct {
	service.QR
	Code string `json:"code,omitempty"`
}

func (c *Cache) SetQR(ctx context.Context, qr service.QR, ttl time.Duration) error {
	return c.set(ctx, "qr:", qr.SessionID, cachedQR{QR: qr, Code: qr.Code}, 0, false, ttl)
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

// SetStatus keeps the newer record: the row is replaced only when rec is at
// least as new as the stored one, or the stored one has expired.
func (c *Cache) SetStatus(ctx context.Context, rec service.StatusRecord, ttl time.Duration) error {
	return c.set(ctx, "status:", rec.SessionID, rec, rec.UpdatedAt.UnixNano(), true, ttl)
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
	if _, err := c.db.db.ExecContext(ctx, `DELETE FROM cache WHERE key IN (?, ?)`, "qr:"+sessionID, "status:"+sessionID); err != nil {
		c.errors.Add(1)
		return fmt.Errorf("sqlite cache: invalidate %s: %w", sessionID, err)
	}
	c.invalidations.Add(1)
	return nil
}

func (c *Cache) InvalidateAll(ctx context.Context) error {
	if _, err := c.db.db.ExecContext(ctx, `DELETE FROM cache`); err != nil {
		c.errors.Add(1)
		return fmt.Errorf("sqlite cache: invalidate all: %w", err)
	}
	c.invalidations.Add(1)
	return nil
}

func (c *Cache) Metrics() service.CacheMetrics {
	hits, misses := c.hits.Load(), c.misses.Load()
	return service.CacheMetrics{Hits: hits, Misses: misses, HitRate: service.HitRate(hits, misses),
		Sets: c.sets.Load(), Invalidations: c.invalidations.Load(), Errors: c.errors.Load()}
}

// set upserts prefix+id; when newestWins, a live stored row with a later
// at_ns stays. ttl <= 0 keeps the row until invalidated.
func (c *Cache) set(ctx context.Context, prefix, id string, value any, atNs int64, newestWins bool, ttl time.Duration) error {
	if err := service.ValidateSessionID(id); err != nil {
		c.errors.Add(1)
		return err
	}
	b, err := json.Marshal(value)
	if err != nil {
		c.errors.Add(1)
		return fmt.Errorf("sqlite cache: encode %s%s: %w", prefix, id, err)
	}
	now := c.db.clock.Now()
	var expires int64
	if ttl > 0 {
		expires = now.Add(ttl).UnixNano()
	}
	q := `INSERT INTO cache (key, value, at_ns, expires_ns) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, at_ns = excluded.at_ns, expires_ns = excluded.expires_ns`
	args := []any{prefix + id, b, atNs, expires}
	if newestWins {
		q += ` WHERE cache.at_ns <= excluded.at_ns OR (cache.expires_ns != 0 AND cache.expires_ns <= ?)`
		args = append(args, now.UnixNano())
	}
	if _, err := c.db.db.ExecContext(ctx, q, args...); err != nil {
		c.errors.Add(1)
		return fmt.Errorf("sqlite cache: set %s%s: %w", prefix, id, err)
	}
	c.sets.Add(1)
	c.sweep(ctx, now)
	return nil
}

func (c *Cache) get(ctx context.Context, prefix, id string, into any) (bool, error) {
	if err := service.ValidateSessionID(id); err != nil {
		c.errors.Add(1)
		return false, err
	}
	var b []byte
	var expires int64
	err := c.db.db.QueryRowContext(ctx, `SELECT value, expires_ns FROM cache WHERE key = ?`, prefix+id).Scan(&b, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c.misses.Add(1)
		return false, nil
	case err != nil:
		c.errors.Add(1)
		return false, fmt.Errorf("sqlite cache: get %s%s: %w", prefix, id, err)
	}
	if expires != 0 && expires <= c.db.clock.Now().UnixNano() {
		c.misses.Add(1)
		return false, nil
	}
	if err := json.Unmarshal(b, into); err != nil {
		// A row we cannot read is a miss: the caller asks the next level.
		c.errors.Add(1)
		c.misses.Add(1)
		return false, nil
	}
	c.hits.Add(1)
	return true, nil
}

// sweep deletes expired rows, at most once per sweepEvery.
func (c *Cache) sweep(ctx context.Context, now time.Time) {
	c.sweepMu.Lock()
	due := now.Sub(c.lastSweep) >= sweepEvery
	if due {
		c.lastSweep = now
	}
	c.sweepMu.Unlock()
	if !due {
		return
	}
	if _, err := c.db.db.ExecContext(ctx, `DELETE FROM cache WHERE expires_ns != 0 AND expires_ns <= ?`, now.UnixNano()); err != nil {
		c.db.log.WarnContext(ctx, "sweep expired cache rows", "err", err)
	}
}
