package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"wagateway/internal/jsonenc"
	"wagateway/service"
)

// sweepEvery is how often (clock time) a write also deletes expired rows,
// so the table does not grow with sessions long gone.
const sweepEvery = time.Minute

// Cache is the L2 service.Cache in the table cache: JSON values under
// qr:{id} and status:{id}, with their expiry; an expired row reads as a miss.
// Writes reach the table within cacheFlushDelay and the outbox log with
// the next outbox record, or within loneCacheDelay (see writeBehind);
// reads see them at once.
type Cache struct {
	db *DB

	sweepMu   sync.Mutex
	lastSweep time.Time

	count service.CacheCounters
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
	b, err := jsonenc.QRWithCode(nil, qr) // a cachedQR
	return c.set(ctx, "qr:", qr.SessionID, b, err, 0, false, ttl)
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
	b, err := jsonenc.StatusRecord(nil, rec)
	return c.set(ctx, "status:", rec.SessionID, b, err, rec.UpdatedAt.UnixNano(), true, ttl)
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
		c.count.Failure()
		return err
	}
	c.db.cache.drop("qr:"+sessionID, "status:"+sessionID)
	// Logged before the rows go: the log's older records of these keys
	// must not bring them back after a crash.
	if err := c.db.state.writeUncache("qr:"+sessionID, "status:"+sessionID); err != nil {
		c.count.Failure()
		return fmt.Errorf("sqlite cache: invalidate %s: %w", sessionID, err)
	}
	if _, err := c.db.db.ExecContext(ctx, `DELETE FROM cache WHERE key IN (?, ?)`, "qr:"+sessionID, "status:"+sessionID); err != nil {
		c.count.Failure()
		return fmt.Errorf("sqlite cache: invalidate %s: %w", sessionID, err)
	}
	c.count.Invalidation()
	return nil
}

func (c *Cache) InvalidateAll(ctx context.Context) error {
	c.db.cache.drop()
	if err := c.db.state.writeUncache(); err != nil {
		c.count.Failure()
		return fmt.Errorf("sqlite cache: invalidate all: %w", err)
	}
	if _, err := c.db.db.ExecContext(ctx, `DELETE FROM cache`); err != nil {
		c.count.Failure()
		return fmt.Errorf("sqlite cache: invalidate all: %w", err)
	}
	c.count.Invalidation()
	return nil
}

// Metrics adds the failed commits of the write-behind queue to the
// counts of the calls.
func (c *Cache) Metrics() service.CacheMetrics {
	m := c.count.Metrics()
	m.Errors += c.db.cache.errors.Load()
	return m
}

// set queues b, the row of prefix+id (or the error encoding it), for the
// next commit; when newestWins, a live stored row with a later atNs stays.
// ttl <= 0 keeps the row until invalidated.
func (c *Cache) set(ctx context.Context, prefix, id string, b []byte, encodeErr error, atNs int64, newestWins bool, ttl time.Duration) error {
	if err := service.ValidateSessionID(id); err != nil {
		c.count.Failure()
		return err
	}
	if err := encodeErr; err != nil {
		c.count.Failure()
		return fmt.Errorf("sqlite cache: encode %s%s: %w", prefix, id, err)
	}
	now := c.db.clock.Now()
	w := cacheWrite{key: prefix + id, value: b, atNs: atNs, newestWins: newestWins}
	if ttl > 0 {
		w.expiresNs = now.Add(ttl).UnixNano()
	}
	c.db.cache.put(w, now.UnixNano())
	c.count.Set()
	c.sweep(ctx, now)
	return nil
}

// get reads prefix+id: the queued write if there is one (unless the stored
// row is newer, for a newest-wins key), else the stored row.
func (c *Cache) get(ctx context.Context, prefix, id string, into any) (bool, error) {
	if err := service.ValidateSessionID(id); err != nil {
		c.count.Failure()
		return false, err
	}
	key := prefix + id
	nowNs := c.db.clock.Now().UnixNano()
	queued, isQueued := c.db.cache.get(key)
	var stored cacheWrite
	isStored := false
	if !isQueued || queued.newestWins {
		err := c.db.db.QueryRowContext(ctx, `SELECT value, at_ns, expires_ns FROM cache WHERE key = ?`, key).
			Scan(&stored.value, &stored.atNs, &stored.expiresNs)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			c.count.Failure()
			return false, fmt.Errorf("sqlite cache: get %s: %w", key, err)
		default:
			isStored = !expired(stored.expiresNs, nowNs)
		}
	}
	var value []byte
	switch {
	case isQueued && (!isStored || stored.atNs <= queued.atNs || !queued.newestWins):
		if expired(queued.expiresNs, nowNs) {
			c.count.Miss()
			return false, nil
		}
		value = queued.value
	case isStored:
		value = stored.value
	default:
		c.count.Miss()
		return false, nil
	}
	// A row we cannot read is a miss: the caller asks the next level.
	return c.count.Decoded(json.Unmarshal(value, into)), nil
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
