package sqlite_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"wagateway/service/leasetest"
	"wagateway/service/sqlite"
)

func TestLeasesContract(t *testing.T) {
	leasetest.Run(t, func(t *testing.T) leasetest.Store {
		clock := newClock()
		return leasetest.Store{Leases: sqlite.NewLeases(open(t, "", clock)), Pass: clock.Advance}
	})
}

// Restore after a restart starts the sessions Known lists, and the tokens
// must keep growing: both survive the process.
func TestLeasesKnownSurvivesAReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := open(t, dir, nil)
	l := sqlite.NewLeases(db)
	for _, id := range []string{"user_2", "user_1"} {
		if err := l.Register(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	lease, ok, err := l.Take(ctx, "user_1", "gw", time.Minute)
	if !ok || err != nil {
		t.Fatalf("Take: %v, %v", ok, err)
	}
	if err := l.End(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Twice: the first open rewrites the log as a snapshot, the second reads that.
	for range 2 {
		db = open(t, dir, nil)
		l = sqlite.NewLeases(db)
		if got, err := l.Known(ctx); err != nil || !slices.Equal(got, []string{"user_1", "user_2"}) {
			t.Fatalf("Known after reopen = %v, %v", got, err)
		}
		if err := sqlite.Crash(db); err != nil {
			t.Fatal(err)
		}
	}
	l = sqlite.NewLeases(open(t, dir, nil))
	// The fencing token never goes down, not even across a restart.
	if again, _, err := l.Take(ctx, "user_1", "gw", time.Minute); err != nil || again.Token <= lease.Token {
		t.Fatalf("Take after reopen: token %d, %v; want > %d", again.Token, err, lease.Token)
	}
}

// A renewal of a lease still held is kept in memory: the log keeps the
// expiry of the Take (no record), yet the lease reads as held until the
// renewed expiry. After a restart the logged expiry counts again.
func TestLeasesRenewalIsNotWritten(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	db := open(t, dir, clock)
	l := sqlite.NewLeases(db)
	lease, ok, err := l.Take(ctx, "user_1", "gw", 10*time.Second)
	if !ok || err != nil {
		t.Fatalf("Take: %v, %v", ok, err)
	}
	clock.Advance(8 * time.Second)
	size := sqlite.LogSize(db)
	if held, err := l.Renew(ctx, 10*time.Second, lease); err != nil || !held[0] {
		t.Fatalf("Renew = %v, %v", held, err)
	}
	if grown := sqlite.LogSize(db) - size; grown != 0 {
		t.Fatalf("Renew of a held lease wrote %d bytes to the log; want none", grown)
	}

	clock.Advance(8 * time.Second) // past the row's expiry, before the renewed one
	if owner, err := l.Owner(ctx, "user_1"); err != nil || owner != "gw" {
		t.Fatalf("Owner = %q, %v; want gw", owner, err)
	}
	if orphans, err := l.Orphans(ctx); err != nil || len(orphans) != 0 {
		t.Fatalf("Orphans = %v, %v; want none", orphans, err)
	}
	if other, ok, err := l.Take(ctx, "user_1", "gw2", 10*time.Second); ok || err != nil || other.Owner != "gw" {
		t.Fatalf("Take by another owner = %+v, %v, %v; want refused, held by gw", other, ok, err)
	}
	if held, err := l.Renew(ctx, 10*time.Second, lease); err != nil || !held[0] {
		t.Fatalf("second Renew = %v, %v", held, err)
	}

	if err := sqlite.Crash(db); err != nil {
		t.Fatal(err)
	}
	l = sqlite.NewLeases(open(t, dir, clock))
	if orphans, err := l.Orphans(ctx); err != nil || orphans["user_1"] != "gw" {
		t.Fatalf("Orphans after a restart = %v, %v; want user_1 of gw", orphans, err)
	}
}

// A data directory of a gateway before the leases moved to the log
// (schema version 3) keeps them: Open moves the rows of session_lease and
// known_session into the log and drops the tables; tokens keep growing
// past the old ones.
func TestOpenMovesTheLeaseTablesToTheLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldDatabase(t, dir,
		`CREATE TABLE session_lease (session_id TEXT PRIMARY KEY, token INTEGER NOT NULL, owner TEXT NOT NULL DEFAULT '',
			expires_ns INTEGER NOT NULL DEFAULT 0, running INTEGER NOT NULL DEFAULT 0, last_owner TEXT NOT NULL DEFAULT '') WITHOUT ROWID`,
		`CREATE TABLE known_session (session_id TEXT PRIMARY KEY) WITHOUT ROWID`,
		// user_1 ran on old-gw, which died; user_2 was ended.
		`INSERT INTO session_lease VALUES ('user_1', 41, 'old-gw', 1, 1, 'old-gw'), ('user_2', 7, '', 0, 0, '')`,
		`INSERT INTO known_session VALUES ('user_1'), ('user_2')`,
		`PRAGMA user_version = 3`,
	)

	check := func(db *sqlite.DB, when string) {
		t.Helper()
		l := sqlite.NewLeases(db)
		if got, err := l.Known(ctx); err != nil || !slices.Equal(got, []string{"user_1", "user_2"}) {
			t.Fatalf("%s: Known = %v, %v", when, got, err)
		}
		if orphans, err := l.Orphans(ctx); err != nil || len(orphans) != 1 || orphans["user_1"] != "old-gw" {
			t.Fatalf("%s: Orphans = %v, %v; want user_1 of old-gw", when, orphans, err)
		}
	}
	db := open(t, dir, newClock())
	var tables int
	if err := rawQuery(t, db, "SELECT count(*) FROM sqlite_schema WHERE name IN ('session_lease', 'known_session')", &tables); err != nil || tables != 0 {
		t.Fatalf("lease tables after the move: %d, %v", tables, err)
	}
	check(db, "after the move")
	if err := sqlite.Crash(db); err != nil {
		t.Fatal(err)
	}
	db = open(t, dir, newClock())
	check(db, "after a crash")
	if lease, ok, err := sqlite.NewLeases(db).Take(ctx, "user_1", "gw", time.Minute); !ok || err != nil || lease.Token != 42 {
		t.Fatalf("Take after the move = %+v, %v, %v; want token 42", lease, ok, err)
	}
}
