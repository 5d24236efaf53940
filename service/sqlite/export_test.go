package sqlite

import (
	"context"
	"errors"

	"wagateway/service"
)

// RawQuery runs one query for tests that inspect or damage the file.
func RawQuery(ctx context.Context, d *DB, q string, into ...any) error {
	rows, err := d.db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() && len(into) > 0 {
		if err := rows.Scan(into...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Crash gives d up as a killed process would: the cache rows still queued
// are not committed and the log is not synced; only the lock goes.
func Crash(d *DB) error {
	d.closeOnce.Do(func() {
		d.cache.mu.Lock()
		d.cache.closed = true
		if d.cache.timer != nil {
			d.cache.timer.Stop()
		}
		d.cache.mu.Unlock()
		d.state.mu.Lock()
		_ = d.state.j.f.Close()
		d.state.j.f = nil
		d.state.mu.Unlock()
		d.closeErr = errors.Join(d.db.Close(), d.lock.Close())
	})
	return d.closeErr
}

// CompactEvery makes the log compact whenever it grew by size bytes.
func CompactEvery(d *DB, size int64) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	d.state.j.grow = size
	d.state.j.postpone()
}

// LogSize is the log's size now.
func LogSize(d *DB) int64 {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	return d.state.j.size
}

// AddRawItem logs an item of lane whose payload is the given bytes, as a
// damaged or future-version record would hold, and returns its id.
func AddRawItem(d *DB, lane service.Lane, payload []byte) (int64, error) {
	l := d.state
	l.mu.Lock()
	defer l.mu.Unlock()
	it := &logItem{id: l.seq + 1, lane: lane, raw: payload}
	if err := l.write(func(e *encoder) { encodeAdd(e, it, 0, payload) }); err != nil {
		return 0, err
	}
	return it.id, l.insert(it, 0)
}

// LoneCacheDelay is how soon a lone cache record is written.
const LoneCacheDelay = loneCacheDelay

// LogWrites is how many writes to the log succeeded.
func LogWrites(d *DB) int64 {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	return d.state.j.writes
}

// BreakLog marks the log as after a write that could not be undone: the
// next write must compact it first.
func BreakLog(d *DB) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	d.state.j.broken = errors.New("simulated: a failed write could not be cut off")
}

// CommitCache commits the queued cache rows now, as the write-behind timer
// does.
func CommitCache(d *DB) error { return d.cache.commit() }
