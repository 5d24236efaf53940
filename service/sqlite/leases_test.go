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
