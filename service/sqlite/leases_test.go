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
	leasetest.Run(t, func(t *testing.T) leasetest.Fixture {
		clock := newClock()
		return leasetest.Fixture{Leases: sqlite.NewLeases(open(t, "", clock)), Elapse: clock.Advance}
	})
}

// Restore after a restart starts the sessions Known lists: they must
// survive the process.
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
	if ok, err := l.Acquire(ctx, "user_1", "gw", time.Minute); !ok || err != nil {
		t.Fatalf("Acquire: %v, %v", ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	l = sqlite.NewLeases(open(t, dir, nil))
	if got, err := l.Known(ctx); err != nil || !slices.Equal(got, []string{"user_1", "user_2"}) {
		t.Fatalf("Known after reopen = %v, %v", got, err)
	}
}
