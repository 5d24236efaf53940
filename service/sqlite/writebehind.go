package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// cacheFlushDelay is how long cache rows wait in memory before one
// transaction commits them all. Their records are in the outbox log
// already (a crash loses none), so the delay only trades memory for
// fewer transactions.
const cacheFlushDelay = time.Second

// cacheWrite is one row waiting for its transaction.
type cacheWrite struct {
	key        string
	value      []byte
	atNs       int64
	expiresNs  int64 // 0: never
	newestWins bool  // keep a live stored row with a later atNs
}

// writeBehind holds cache writes until a timer commits them, at most
// cacheFlushDelay later, in one transaction. Each write's record is also
// queued for the log's next write, which the session manager's outbox Add
// for the same event makes (a lone one goes out within loneCacheDelay):
// an event's cache row is never lost while its item survives, and Open
// commits the rows the log holds. Reads look here first.
type writeBehind struct {
	db     *DB
	errors atomic.Int64

	upsert, upsertNewer *sql.Stmt // prepared by Open

	// commitMu is held from taking the queue to the end of its commit, so
	// a compaction of the log (which drops the rows' records) waits for a
	// commit under way.
	commitMu sync.Mutex

	mu     sync.Mutex
	queue  map[string]cacheWrite
	timer  *time.Timer // armed while queue is not empty
	closed bool
}

func newWriteBehind(db *DB) *writeBehind {
	return &writeBehind{db: db, queue: make(map[string]cacheWrite)}
}

// put queues w for the table and for the log; against a queued write of
// the same key it applies the newest-wins rule itself, as the statement
// does against the stored row.
func (b *writeBehind) put(w cacheWrite, nowNs int64) {
	if !b.queueRow(w, nowNs) {
		return
	}
	// Queued first: a compaction between the two finds the row in the
	// queue, and commits it before it drops the log.
	b.db.state.writeCache(w)
}

func (b *writeBehind) queueRow(w cacheWrite, nowNs int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.queue[w.key]; ok && w.newestWins && old.atNs > w.atNs && !expired(old.expiresNs, nowNs) {
		return false
	}
	b.queue[w.key] = w
	b.arm()
	return true
}

// arm starts the commit timer unless it runs or the queue is closed; the
// caller holds b.mu.
func (b *writeBehind) arm() {
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

func (b *writeBehind) write(ctx context.Context, tx *sql.Tx, rows []cacheWrite, now time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	// Bound to tx once, not per row: each StmtContext is a new *sql.Stmt.
	upsert, upsertNewer := tx.StmtContext(ctx, b.upsert), tx.StmtContext(ctx, b.upsertNewer)
	// The rows run without ctx's Done channel: for a statement whose context
	// can end, the driver starts a goroutine to interrupt it, one per row.
	// ctx still bounds the commit: when it ends, database/sql rolls tx
	// back, and the next row fails with sql.ErrTxDone.
	rowCtx := context.WithoutCancel(ctx)
	for _, w := range rows {
		var err error
		if w.newestWins {
			_, err = upsertNewer.ExecContext(rowCtx, w.key, w.value, w.atNs, w.expiresNs, now.UnixNano())
		} else {
			_, err = upsert.ExecContext(rowCtx, w.key, w.value, w.atNs, w.expiresNs)
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

// commit writes the queue in a transaction of its own. Rows of a failed
// commit go back to the queue (unless a newer write of their key came),
// since the log compaction after a commit drops their records.
func (b *writeBehind) commit() error {
	b.commitMu.Lock()
	defer b.commitMu.Unlock()
	rows := b.take()
	if len(rows) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := b.db.inTx(ctx, func(tx *sql.Tx) error { return b.write(ctx, tx, rows, b.db.clock.Now()) })
	if err != nil {
		b.requeue(rows)
	}
	return err
}

// requeue puts back rows whose key has no newer write queued.
func (b *writeBehind) requeue(rows []cacheWrite) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range rows {
		if _, ok := b.queue[w.key]; !ok {
			b.queue[w.key] = w
		}
	}
	b.arm()
}

// flush is the timer's commit: a failure is counted and logged, and the
// rows wait for the next try.
func (b *writeBehind) flush(ctx context.Context) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return
	}
	if err := b.commit(); err != nil {
		b.errors.Add(1)
		b.db.log.WarnContext(ctx, "cache rows not committed: will retry", "err", err)
	}
}

// replay commits, in one transaction and in order, the cache records Open
// read from the log.
func (b *writeBehind) replay(ctx context.Context, ops []cacheOp) error {
	if len(ops) == 0 {
		return nil
	}
	now := b.db.clock.Now()
	err := b.db.inTx(ctx, func(tx *sql.Tx) error {
		for _, op := range ops {
			var err error
			switch {
			case op.row != nil:
				err = b.write(ctx, tx, []cacheWrite{*op.row}, now)
			case len(op.uncache) == 0:
				_, err = tx.ExecContext(ctx, `DELETE FROM cache`)
			default:
				for _, k := range op.uncache {
					if _, err = tx.ExecContext(ctx, `DELETE FROM cache WHERE key = ?`, k); err != nil {
						break
					}
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: commit the cache rows of the outbox log: %w", err)
	}
	return nil
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
