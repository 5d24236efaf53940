package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// cacheFlushDelay bounds how long a cache write waits for an outbox commit
// to ride along before it gets a transaction of its own.
const cacheFlushDelay = 20 * time.Millisecond

// cacheWrite is one row waiting for its transaction.
type cacheWrite struct {
	key        string
	value      []byte
	atNs       int64
	expiresNs  int64 // 0: never
	newestWins bool  // keep a live stored row with a later atNs
}

// writeBehind holds cache writes until the next commit: the session manager
// writes the cache and then the outbox for every event, and a commit is
// most of what either costs. Each outbox group commit carries the queued
// cache writes in its transaction (so an event's cache row is never lost
// while its outbox item survives); writes no Add follows are committed by
// a timer after cacheFlushDelay. Reads look here first.
type writeBehind struct {
	db     *DB
	errors atomic.Int64

	upsert, upsertNewer *sql.Stmt // prepared by Open

	mu     sync.Mutex
	queue  map[string]cacheWrite
	timer  *time.Timer // armed while queue is not empty
	closed bool
}

func newWriteBehind(db *DB) *writeBehind {
	return &writeBehind{db: db, queue: make(map[string]cacheWrite)}
}

// put queues w; against a queued write of the same key it applies the
// newest-wins rule itself, as the statement does against the stored row.
func (b *writeBehind) put(w cacheWrite, nowNs int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.queue[w.key]; ok && w.newestWins && old.atNs > w.atNs && !expired(old.expiresNs, nowNs) {
		return
	}
	b.queue[w.key] = w
	if b.timer == nil && !b.closed {
		b.timer = time.AfterFunc(cacheFlushDelay, func() { b.flush(context.Background()) })
	}
}

// get returns the queued write of key, if any.
func (b *writeBehind) get(key string) (cacheWrite, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.queue[key]
	return w, ok
}

// drop forgets queued writes of keys (Invalidate); with no keys, all of them.
func (b *writeBehind) drop(keys ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(keys) == 0 {
		clear(b.queue)
		return
	}
	for _, k := range keys {
		delete(b.queue, k)
	}
}

// take empties the queue and returns what was in it.
func (b *writeBehind) take() []cacheWrite {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.queue) == 0 {
		return nil
	}
	out := make([]cacheWrite, 0, len(b.queue))
	for _, w := range b.queue {
		out = append(out, w)
	}
	clear(b.queue)
	return out
}

// writeIn writes the queued rows in tx (the caller's transaction).
func (b *writeBehind) writeIn(ctx context.Context, tx *sql.Tx, now time.Time) error {
	return b.write(ctx, tx, b.take(), now)
}

func (b *writeBehind) write(ctx context.Context, tx *sql.Tx, rows []cacheWrite, now time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	for _, w := range rows {
		var err error
		if w.newestWins {
			_, err = tx.StmtContext(ctx, b.upsertNewer).ExecContext(ctx, w.key, w.value, w.atNs, w.expiresNs, now.UnixNano())
		} else {
			_, err = tx.StmtContext(ctx, b.upsert).ExecContext(ctx, w.key, w.value, w.atNs, w.expiresNs)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// prepare makes the two upserts once, at open: parsing them per commit
// cost more than running them, and inside a transaction the one
// connection is taken.
func (b *writeBehind) prepare(ctx context.Context) error {
	return b.db.prepareAll(ctx, "cache",
		toPrepare{&b.upsert, upsertCacheSQL}, toPrepare{&b.upsertNewer, upsertCacheSQL + upsertNewerSQL})
}

// flush commits the queue in a transaction of its own; a failure loses
// those cache rows (the next level answers instead), so it is counted and
// logged, not returned.
func (b *writeBehind) flush(ctx context.Context) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	rows := b.take()
	if len(rows) == 0 {
		return
	}
	err := b.db.inTx(ctx, func(tx *sql.Tx) error { return b.write(ctx, tx, rows, b.db.clock.Now()) })
	if err != nil {
		b.errors.Add(1)
		b.db.log.WarnContext(ctx, "cache rows lost: write failed", "rows", len(rows), "err", err)
	}
}

// close commits what waits and stops the timer for good.
func (b *writeBehind) close(ctx context.Context) {
	b.flush(ctx)
	b.mu.Lock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.mu.Unlock()
}

// upsertCacheSQL writes a row (key, value, at_ns, expires_ns); with
// upsertNewerSQL (one more argument: now) a row replaces a stored one only
// when at least as new, or when the stored one expired.
const (
	upsertCacheSQL = `INSERT INTO cache (key, value, at_ns, expires_ns) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, at_ns = excluded.at_ns, expires_ns = excluded.expires_ns`
	upsertNewerSQL = ` WHERE cache.at_ns <= excluded.at_ns OR (cache.expires_ns != 0 AND cache.expires_ns <= ?)`
)

func expired(expiresNs, nowNs int64) bool { return expiresNs != 0 && expiresNs <= nowNs }
