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
	l = sqlite.NewLeases(open(t, dir, nil))
	if got, err := l.Known(ctx); err != nil || !slices.Equal(got, []string{"user_1", "user_2"}) {
		t.Fatalf("Known after reopen = %v, %v", got, err)
	}
	// The fencing token never goes down, not even across a restart.
	if again, _, err := l.Take(ctx, "user_1", "gw", time.Minute); err != nil || again.Token <= lease.Token {
		t.Fatalf("Take after reopen: token %d, %v; want > %d", again.Token, err, lease.Token)
	}
}

// A renewal of a lease still held is kept in memory: the row keeps the
// expiry of the Take (no write), yet the lease reads as held until the
// renewed expiry. After a restart the row's expiry counts again.
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
	if held, err := l.Renew(ctx, 10*time.Second, lease); err != nil || !held[0] {
		t.Fatalf("Renew = %v, %v", held, err)
	}
	var expires int64
	if err := rawQuery(t, db, "SELECT expires_ns FROM session_lease WHERE session_id = 'user_1'", &expires); err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(10 * time.Second).UnixNano(); expires != want {
		t.Fatalf("row expiry after Renew = %d, want the Take's %d (a renewal must not write)", expires, want)
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

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	l = sqlite.NewLeases(open(t, dir, clock))
	if orphans, err := l.Orphans(ctx); err != nil || orphans["user_1"] != "gw" {
		t.Fatalf("Orphans after a restart = %v, %v; want user_1 of gw", orphans, err)
	}
}
