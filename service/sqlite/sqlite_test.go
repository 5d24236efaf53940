package sqlite_test

import (
	"context"
	"fmt"
	"os"
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

func rawQuery(t testing.TB, db *sqlite.DB, q string, into ...any) error {
	t.Helper()
	return sqlite.RawQuery(context.Background(), db, q, into...)
}
