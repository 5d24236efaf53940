package inmem_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/inmem"
	"wagateway/service/leasetest"
)

func TestLeases(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	l := inmem.NewLeases(clock)
	acquire := func(owner string, want bool) {
		t.Helper()
		got, err := l.Acquire(ctx, "s1", owner, 10*time.Second)
		if err != nil || got != want {
			t.Fatalf("Acquire(%s) = %v, %v; want %v", owner, got, err, want)
		}
	}
	owner := func(want string) {
		t.Helper()
		if got, err := l.Owner(ctx, "s1"); err != nil || got != want {
			t.Fatalf("Owner = %q, %v; want %q", got, err, want)
		}
	}
	owner("")
	acquire("a", true)
	acquire("b", false)
	owner("a")
	clock.Advance(8 * time.Second)
	acquire("a", true) // renew
	clock.Advance(8 * time.Second)
	acquire("b", false) // the renewal still holds
	if err := l.Release(ctx, "s1", "b"); err != nil {
		t.Fatal(err)
	}
	owner("a") // a non-owner cannot release
	clock.Advance(3 * time.Second)
	owner("") // expired
	acquire("b", true)
	if err := l.Release(ctx, "s1", "b"); err != nil {
		t.Fatal(err)
	}
	owner("")
	if _, err := l.Acquire(ctx, "s1", "", time.Second); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Acquire without owner: %v", err)
	}
}

func TestLeasesKnown(t *testing.T) {
	ctx := context.Background()
	l := inmem.NewLeases(nil)
	for _, id := range []string{"b", "a", "b"} {
		if err := l.Register(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Forget(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Known(ctx); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("Known = %v", got)
	}
	if err := l.Register(ctx, "../x"); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Register of a bad id: %v", err)
	}
}

func TestLeasesContract(t *testing.T) {
	leasetest.Run(t, func(t *testing.T) leasetest.Store {
		clock := newFakeClock()
		return leasetest.Store{Leases: inmem.NewLeases(clock), Pass: clock.Advance}
	})
}
