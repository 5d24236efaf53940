// Package leasetest is the behaviour every service.Leases must show, as a
// test suite each implementation (inmem, redis, sqlite) runs against itself.
// It holds only tests of the interface's contract.
package leasetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"wagateway/service"
)

// Fixture is one empty Leases and a way to let its time pass.
type Fixture struct {
	Leases service.Leases
	// Elapse lets at least d pass on the leases' clock: a fake clock's
	// Advance, or a sleep where the store keeps time itself (Redis).
	Elapse func(d time.Duration)
}

// Short is the TTL of the leases the suite lets expire, and Long of those
// it must not; Elapse(Wait) outlasts Short by far and Long never.
const (
	Short = 50 * time.Millisecond
	Wait  = 150 * time.Millisecond
	Long  = time.Minute
)

// Run runs the contract tests; newLeases must return an empty fixture for
// each subtest.
func Run(t *testing.T, newLeases func(t *testing.T) Fixture) {
	tests := []struct {
		name string
		run  func(t *testing.T, f Fixture)
	}{
		{"ExclusiveUntilReleased", exclusiveUntilReleased},
		{"OnlyTheOwnerReleases", onlyTheOwnerReleases},
		{"ExpiredLeaseIsFree", expiredLeaseIsFree},
		{"RenewalExtends", renewalExtends},
		{"SessionsAreIndependent", sessionsAreIndependent},
		{"KnownIsSortedAndForgets", knownIsSortedAndForgets},
		{"RejectsInvalidArguments", rejectsInvalidArguments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newLeases(t)) })
	}
}

func acquire(t *testing.T, l service.Leases, id, owner string, ttl time.Duration, want bool) {
	t.Helper()
	got, err := l.Acquire(context.Background(), id, owner, ttl)
	if err != nil || got != want {
		t.Fatalf("Acquire(%s, %s, %v) = %v, %v; want %v", id, owner, ttl, got, err, want)
	}
}

func owner(t *testing.T, l service.Leases, id, want string) {
	t.Helper()
	if got, err := l.Owner(context.Background(), id); err != nil || got != want {
		t.Fatalf("Owner(%s) = %q, %v; want %q", id, got, err, want)
	}
}

func release(t *testing.T, l service.Leases, id, by string) {
	t.Helper()
	if err := l.Release(context.Background(), id, by); err != nil {
		t.Fatalf("Release(%s, %s): %v", id, by, err)
	}
}

func exclusiveUntilReleased(t *testing.T, f Fixture) {
	l := f.Leases
	owner(t, l, "s1", "")
	acquire(t, l, "s1", "gw1", Long, true)
	acquire(t, l, "s1", "gw2", Long, false)
	acquire(t, l, "s1", "gw1", Long, true) // renewal by the owner
	owner(t, l, "s1", "gw1")
	release(t, l, "s1", "gw1")
	owner(t, l, "s1", "")
	acquire(t, l, "s1", "gw2", Long, true)
	owner(t, l, "s1", "gw2")
}

func onlyTheOwnerReleases(t *testing.T, f Fixture) {
	l := f.Leases
	acquire(t, l, "s1", "gw1", Long, true)
	release(t, l, "s1", "gw2")
	owner(t, l, "s1", "gw1")
	release(t, l, "s2", "gw1") // nobody holds s2: harmless
	owner(t, l, "s1", "gw1")
}

// A dead instance's sessions are taken over once its leases expire.
func expiredLeaseIsFree(t *testing.T, f Fixture) {
	l := f.Leases
	acquire(t, l, "s1", "gw1", Short, true)
	f.Elapse(Wait)
	owner(t, l, "s1", "")
	acquire(t, l, "s1", "gw2", Long, true)
	owner(t, l, "s1", "gw2")
}

func renewalExtends(t *testing.T, f Fixture) {
	l := f.Leases
	acquire(t, l, "s1", "gw1", Short, true)
	acquire(t, l, "s1", "gw1", Long, true)
	f.Elapse(Wait)
	owner(t, l, "s1", "gw1")
	acquire(t, l, "s1", "gw2", Long, false)
}

func sessionsAreIndependent(t *testing.T, f Fixture) {
	l := f.Leases
	acquire(t, l, "s1", "gw1", Long, true)
	acquire(t, l, "s2", "gw2", Long, true)
	owner(t, l, "s1", "gw1")
	owner(t, l, "s2", "gw2")
	release(t, l, "s1", "gw1")
	owner(t, l, "s2", "gw2")
}

func knownIsSortedAndForgets(t *testing.T, f Fixture) {
	ctx := context.Background()
	l := f.Leases
	if got, err := l.Known(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Known of empty leases = %v, %v", got, err)
	}
	for _, id := range []string{"b", "a", "b", "c"} {
		if err := l.Register(ctx, id); err != nil {
			t.Fatalf("Register(%s): %v", id, err)
		}
	}
	if err := l.Forget(ctx, "c"); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	if err := l.Forget(ctx, "never-registered"); err != nil {
		t.Fatalf("Forget of an unknown id: %v", err)
	}
	if got, err := l.Known(ctx); err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Known = %v, %v; want [a b]", got, err)
	}
	// Known is about registration, not leases.
	acquire(t, l, "d", "gw1", Long, true)
	if got, _ := l.Known(ctx); slices.Contains(got, "d") {
		t.Fatalf("Known lists a leased but unregistered session: %v", got)
	}
}

func rejectsInvalidArguments(t *testing.T, f Fixture) {
	ctx := context.Background()
	l := f.Leases
	invalid := func(what string, err error) {
		t.Helper()
		if service.ErrorCode(err) != service.EINVALID {
			t.Errorf("%s: %v, want an EINVALID error", what, err)
		}
	}
	_, err := l.Acquire(ctx, "s1", "", Long)
	invalid("Acquire without owner", err)
	_, err = l.Acquire(ctx, "s1", "gw1", 0)
	invalid("Acquire without ttl", err)
	_, err = l.Acquire(ctx, "../x", "gw1", Long)
	invalid("Acquire of a bad id", err)
	invalid("Register of a bad id", l.Register(ctx, "a*"))
	_, err = l.Owner(ctx, "a b")
	invalid("Owner of a bad id", err)
	owner(t, l, "s1", "")
}
