package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/sqlite"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)

// open opens dir (a new temp dir when empty) and closes it with the test.
func open(t testing.TB, dir string, clock service.Clock) *sqlite.DB {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	db, err := sqlite.Open(context.Background(), sqlite.Config{Dir: dir, Clock: clock})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func newClock() *clocktest.Clock { return clocktest.New(t0) }

func TestOpenCreatesTheDataDirectory(t *testing.T) {
	dir := t.TempDir() + "/nested/data"
	db := open(t, dir, nil)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{sqlite.FileName, sqlite.LockName} {
		if _, err := os.Stat(dir + "/" + name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var mode string
	if err := rawQuery(t, db, "PRAGMA journal_mode", &mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// A second opener of one data directory gets a clear error instead of a
// share in the writes; flock locks belong to an open file, so this holds
// within one process as between two (the e2e suite runs two processes).
func TestOpenRefusesADirectoryInUse(t *testing.T) {
	dir := t.TempDir()
	first := open(t, dir, nil)
	_, err := sqlite.Open(context.Background(), sqlite.Config{Dir: dir})
	if service.ErrorCode(err) != service.ECONFLICT {
		t.Fatalf("second Open: %v, want ECONFLICT", err)
	}
	msg := service.ErrorMessage(err)
	for _, want := range []string{dir, fmt.Sprintf("process %d", os.Getpid()), "DATA_DIR", "REDIS_URL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, dir, nil) // free again once the first one closed
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, nil)
	var ignored int
	_ = rawQuery(t, db, "PRAGMA user_version = 7", &ignored)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(context.Background(), sqlite.Config{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "newer gateway") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

// TestOpenUpgradesVersion1 opens a database as the first embedded store
// wrote it (a WITHOUT ROWID cache table, user_version 1): the rows stay,
// the cache table becomes a rowid table, and the version moves to 4.
func TestOpenUpgradesVersion1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rec, _ := json.Marshal(service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0})
	oldDatabase(t, dir,
		`CREATE TABLE cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, at_ns INTEGER NOT NULL DEFAULT 0,
			expires_ns INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`,
		`INSERT INTO cache (key, value, at_ns) VALUES ('status:s1', '`+string(rec)+`', 1)`,
		`CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, item BLOB NOT NULL,
			added_ns INTEGER NOT NULL, consumer TEXT, claimed_ns INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0)`,
		`PRAGMA user_version = 1`,
	)

	db := open(t, dir, newClock())
	if got, ok, err := sqlite.NewCache(db).GetStatus(ctx, "s1"); err != nil || !ok || got.Status != service.StatusActive {
		t.Fatalf("GetStatus after the upgrade = %+v, %v, %v", got, ok, err)
	}
	var version int
	var ddl string
	if err := rawQuery(t, db, "PRAGMA user_version", &version); err != nil || version != 4 {
		t.Fatalf("user_version = %d, %v; want 4", version, err)
	}
	if err := rawQuery(t, db, "SELECT sql FROM sqlite_schema WHERE name = 'cache'", &ddl); err != nil || strings.Contains(ddl, "WITHOUT ROWID") {
		t.Fatalf("cache table after the upgrade: %q, %v", ddl, err)
	}
}

// oldDatabase writes the database of dir as an older gateway left it:
// stmts run in order on a plain connection, closed before Open.
func oldDatabase(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range stmts {
		if _, err := db.ExecContext(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func rawQuery(t testing.TB, db *sqlite.DB, q string, into ...any) error {
	t.Helper()
	return sqlite.RawQuery(context.Background(), db, q, into...)
}
