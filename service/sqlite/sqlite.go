// Package sqlite is the embedded durable storage of the gateway when there is
// no Redis, in DATA_DIR: the outbox and the leases in memory with every
// change appended to a log (outbox.log), the L2 cache and the dead letters
// in one SQLite file (modernc.org/sqlite, pure Go, WAL). One process owns a data
// directory at a time (a lock file), so it is for a single gateway
// instance; several instances share state through Redis instead. It must
// never reach the network.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go (CGO_ENABLED=0)

	"wagateway/service"
)

// FileName is the database file inside the data directory; LockName the
// lock file that keeps a second process out.
const (
	FileName = "wagateway.db"
	LockName = "wagateway.lock"
)

// pragmas apply to every connection. WAL lets readers run beside the one
// writer; synchronous(NORMAL) in WAL mode makes a commit reach the OS before
// it returns (a killed process loses nothing) and fsyncs at checkpoints, so
// only a power cut or OS crash can lose the last commits.
// wal_autocheckpoint(4000): a 16 MB WAL before a checkpoint copies it back;
// the outbox and cache rewrite the same few pages all the time, and each
// checkpoint writes a page once however often it changed.
// locking_mode(EXCLUSIVE): the one connection keeps the file locked, so a
// transaction takes no file locks and WAL needs no shared-memory index
// (fewer system calls per commit); no other process can open the file
// while the gateway runs, which the lock file promises anyway.
const pragmas = "_pragma=locking_mode(EXCLUSIVE)&_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(4000)&_txlock=immediate"

// Config configures a DB; zero fields take the defaults.
type Config struct {
	// Dir is the data directory (DATA_DIR); created when missing.
	Dir    string
	Clock  service.Clock
	Logger *slog.Logger
}

// DB is the open store: the database and the lock on its directory. Build
// the Outbox, Cache and Leases on it, and Close it last.
type DB struct {
	db    *sql.DB
	lock  *os.File
	path  string
	clock service.Clock
	log   *slog.Logger
	state *logState    // what the log keeps: the pending outbox items, the leases
	cache *writeBehind // cache rows waiting for their commit

	closeOnce sync.Once
	closeErr  error
}

// Open locks cfg.Dir for this process and opens (creating or upgrading) the
// database in it. A directory another live process holds is an ECONFLICT
// error naming that process.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Dir == "" {
		return nil, service.Errorf(service.EINVALID, "sqlite store needs a data directory")
	}
	if cfg.Clock == nil {
		cfg.Clock = service.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.Dir, FileName)
	db, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and a single connection
	// never meets SQLITE_BUSY from itself.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	d := &DB{db: db, lock: lock, path: path, clock: cfg.Clock, log: cfg.Logger.With("component", "sqlite")}
	d.cache = newWriteBehind(d)
	d.state = newLogState(cfg.Dir, d.log)
	d.state.flushCache = d.cache.commit
	d.state.cacheErrs = func() { d.cache.errors.Add(1) }
	var replayed []cacheOp
	skipped, err := d.state.replay(func(op cacheOp) { replayed = append(replayed, op) })
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	if skipped > 0 {
		// A write a crash cut off (or damage): keep the file for an
		// operator; the snapshot below starts a whole one.
		d.log.ErrorContext(ctx, "outbox log: damaged tail skipped", "path", d.state.j.path, "bytes", skipped,
			"kept_as", setAside(d.state.j.path, d.clock.Now()))
	}
	if err := d.migrate(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	if err := d.cache.prepare(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	legacy, err := d.loadLegacyTables(ctx)
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	if err := d.cache.replay(ctx, replayed); err != nil {
		_ = d.Close()
		return nil, err
	}
	// A fresh log: the snapshot of the items, the cache rows now in the table.
	d.state.mu.Lock()
	err = d.state.compactErr()
	d.state.mu.Unlock()
	for _, table := range legacy {
		if err == nil {
			_, err = d.db.ExecContext(ctx, `DROP TABLE `+table)
		}
	}
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return d, nil
}

// Dir is the data directory.
func (d *DB) Dir() string { return filepath.Dir(d.path) }

// Path is the database file.
func (d *DB) Path() string { return d.path }

// Close commits the cache rows still queued, closes the database, then
// gives up the directory lock. Calling it again returns the first result.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.cache.close(ctx)
		d.closeErr = errors.Join(d.state.close(), d.db.Close())
		if d.lock != nil {
			d.closeErr = errors.Join(d.closeErr, d.lock.Close())
		}
	})
	return d.closeErr
}

// Ping checks the database answers (for /health and /ready).
func (d *DB) Ping(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// schemaVersion is the user_version this gateway writes and reads.
// Version 3 keeps the outbox in the log (outbox.log), not in a table;
// version 4 the leases too.
const schemaVersion = 4

// schema creates the database as of schemaVersion. Times are unix
// nanoseconds of the injected clock; expires 0 means never.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS deadletter (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		session_id TEXT    NOT NULL,
		dead_ns    INTEGER NOT NULL,
		dead       BLOB    NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS deadletter_session ON deadletter (session_id, id)`,
	cacheTable,
}

// cacheTable is a rowid table, not WITHOUT ROWID: a QR row (its PNG data
// URL) is about 2.3 KB, and in a WITHOUT ROWID table a row over about 1 KB
// spills into overflow pages that each rewrite frees and allocates again.
// As a rowid table the row stays on its leaf page, and the key's index
// only changes when a key is added: about 14 % less time per event in
// BenchmarkEventMix10000.
const cacheTable = `CREATE TABLE IF NOT EXISTS cache (
		key        TEXT PRIMARY KEY,
		value      BLOB    NOT NULL,
		at_ns      INTEGER NOT NULL DEFAULT 0,
		expires_ns INTEGER NOT NULL DEFAULT 0
	)`

// upgrades[v] brings a database of version v+1 to version v+2.
var upgrades = [][]string{
	// 1 → 2: the cache table becomes a rowid table.
	{
		`ALTER TABLE cache RENAME TO cache_v1`,
		cacheTable,
		`INSERT INTO cache (key, value, at_ns, expires_ns) SELECT key, value, at_ns, expires_ns FROM cache_v1`,
		`DROP TABLE cache_v1`,
	},
	// 2 → 3: the outbox moves to the log; Open moves the rows of the table
	// outbox (loadOutboxTable), then drops it.
	{},
	// 3 → 4: the leases move to the log; Open moves the rows of the tables
	// session_lease and known_session (loadLeaseTables), then drops them.
	{},
}

// loadLegacyTables moves the rows of the tables that gateways before the
// log kept (outbox, session_lease, known_session) into the log's memory,
// and returns the tables it found. Open writes the rows to the log and
// then drops the tables, so a crash in between finds them again; a row
// the log has already wins.
func (d *DB) loadLegacyTables(ctx context.Context) ([]string, error) {
	var found []string
	for _, t := range []struct {
		name string
		load func(context.Context) error
	}{{"outbox", d.loadOutboxTable}, {"session_lease", d.loadLeaseTable}, {"known_session", d.loadKnownTable}} {
		var n int
		if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, t.name).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite: look for the table %s: %w", t.name, err)
		}
		if n == 0 {
			continue
		}
		if err := t.load(ctx); err != nil {
			return nil, fmt.Errorf("sqlite: read the table %s: %w", t.name, err)
		}
		found = append(found, t.name)
	}
	return found, nil
}

// loadLeaseTable moves the rows of session_lease (schema version 3).
func (d *DB) loadLeaseTable(ctx context.Context) error {
	rows, err := d.db.QueryContext(ctx, `SELECT session_id, token, owner, expires_ns, running, last_owner FROM session_lease`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var r leaseRow
		if err := rows.Scan(&id, &r.token, &r.owner, &r.expiresNs, &r.running, &r.last); err != nil {
			return err
		}
		if _, ok := d.state.leases[id]; !ok {
			d.state.leases[id] = &r
		}
	}
	return rows.Err()
}

// loadKnownTable moves the rows of known_session (schema version 3).
func (d *DB) loadKnownTable(ctx context.Context) error {
	rows, err := d.db.QueryContext(ctx, `SELECT session_id FROM known_session`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		d.state.known[id] = struct{}{}
	}
	return rows.Err()
}

// loadOutboxTable moves the items of the table outbox (schema version 2),
// with their ids, claims and attempts.
func (d *DB) loadOutboxTable(ctx context.Context) error {
	l := d.state
	var seq int64
	err := d.db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'outbox'`).Scan(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	l.seq = max(l.seq, seq) // ids keep increasing past the table's
	rows, err := d.db.QueryContext(ctx, `SELECT id, lane, item, added_ns, coalesce(consumer, ''), claimed_ns, attempts FROM outbox ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	moved := 0
	for rows.Next() {
		it := &logItem{}
		var lane string
		if err := rows.Scan(&it.id, &lane, &it.raw, &it.addedNs, &it.consumer, &it.claimedNs, &it.attempts); err != nil {
			return err
		}
		it.lane = service.Lane(lane)
		if _, ok := l.byID[it.id]; ok {
			continue // moved before a crash: the log has it
		}
		if err := l.insert(it, 0); err != nil {
			return err
		}
		moved++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	d.log.InfoContext(ctx, "outbox table moved to the log", "items", moved)
	return nil
}

func (d *DB) migrate(ctx context.Context) error {
	var version int
	if err := d.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("sqlite: read schema version of %s: %w", d.path, err)
	}
	if version > schemaVersion {
		return service.Errorf(service.EINVALID, "%s has schema version %d, this gateway knows %d: it was written by a newer gateway", d.path, version, schemaVersion)
	}
	// The upgrades of an older file, then what may still be missing.
	var stmts []string
	if version > 0 {
		stmts = slices.Concat(upgrades[version-1:]...)
	}
	stmts = append(stmts, schema...)
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, stmt := range append(stmts, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlite: migrate %s from version %d: %w", d.path, version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", d.path, err)
	}
	return nil
}

// toPrepare is a statement that a store prepares once, at open, and where
// it keeps it: parsing SQL per call cost more than running it.
type toPrepare struct {
	stmt **sql.Stmt
	sql  string
}

// prepareAll prepares each statement of all; what names the store in the
// error.
func (d *DB) prepareAll(ctx context.Context, what string, all ...toPrepare) error {
	for _, p := range all {
		var err error
		if *p.stmt, err = d.db.PrepareContext(ctx, p.sql); err != nil {
			return fmt.Errorf("sqlite %s: prepare: %w", what, err)
		}
	}
	return nil
}

// inTx runs fn in one write transaction.
func (d *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
