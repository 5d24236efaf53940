// Package leasetest is the behaviour every session lease store must show,
// as a test suite each implementation runs against itself (inmem in memory,
// redis on one Redis, a Cluster and behind Sentinel). It holds only tests of
// the contract: exclusive ownership, growing fencing tokens, refused stale
// renewals, and orphans for the survivors to take over.
package leasetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"wagateway/service"
)

// Store is one lease store under test and how to let time pass on it.
type Store struct {
	Leases service.Leases
	// Pass lets at least d pass for the store's expiry (a sleep on Redis, a
	// fake clock's Advance in memory).
	Pass func(d time.Duration)
}

// Short is the TTL the suite lets lapse; Long one that never lapses in a test.
const (
	Short = 50 * time.Millisecond
	Long  = time.Minute
)

// Run runs the contract tests; newStore must return an empty store for each
// subtest.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"TakeIsExclusive", takeIsExclusive},
		{"TokensGrowWithEveryHolder", tokensGrowWithEveryHolder},
		{"RenewExtends", renewExtends},
		{"RenewRefusesAStaleLease", renewRefusesAStaleLease},
		{"RenewDoesNotBringBackAGivenUpLease", renewDoesNotBringBackAGivenUpLease},
		{"EndAndHandoverNeedTheCurrentLease", endAndHandoverNeedTheCurrentLease},
		{"OrphansAreRunningSessionsWithoutLease", orphansAreRunningSessionsWithoutLease},
		{"KnownRegisterForget", knownRegisterForget},
		{"RejectsBadArguments", rejectsBadArguments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

var bg = context.Background()

func take(t *testing.T, l service.Leases, id, owner string, ttl time.Duration, want bool) service.Lease {
	t.Helper()
	got, ok, err := l.Take(bg, id, owner, ttl)
	if err != nil || ok != want {
		t.Fatalf("Take(%s, %s) = %+v, %v, %v; want ok %v", id, owner, got, ok, err, want)
	}
	return got
}

func owner(t *testing.T, l service.Leases, id, want string) {
	t.Helper()
	if got, err := l.Owner(bg, id); err != nil || got != want {
		t.Fatalf("Owner(%s) = %q, %v; want %q", id, got, err, want)
	}
}

func takeIsExclusive(t *testing.T, s Store) {
	l := s.Leases
	owner(t, l, "s1", "")
	a := take(t, l, "s1", "gw-a", Long, true)
	if !a.Valid() || a.Owner != "gw-a" || a.SessionID != "s1" {
		t.Fatalf("lease %+v", a)
	}
	other := take(t, l, "s1", "gw-b", Long, false)
	if other.Owner != "gw-a" {
		t.Fatalf("refused Take names holder %q, want gw-a", other.Owner)
	}
	again := take(t, l, "s1", "gw-a", Long, true)
	if again.Token != a.Token {
		t.Fatalf("the holder's second Take changed the token: %d → %d", a.Token, again.Token)
	}
	owner(t, l, "s1", "gw-a")
	take(t, l, "s2", "gw-b", Long, true) // leases are per session
	owners, err := l.Owners(bg, []string{"s1", "s2", "s3"})
	if err != nil || len(owners) != 2 || owners["s1"] != "gw-a" || owners["s2"] != "gw-b" {
		t.Fatalf("Owners = %v, %v", owners, err)
	}
}

func tokensGrowWithEveryHolder(t *testing.T, s Store) {
	l := s.Leases
	a := take(t, l, "s1", "gw-a", Long, true)
	if err := l.End(bg, a); err != nil {
		t.Fatal(err)
	}
	b := take(t, l, "s1", "gw-b", Short, true)
	if b.Token <= a.Token {
		t.Fatalf("token after End: %d, want > %d", b.Token, a.Token)
	}
	s.Pass(3 * Short)
	c := take(t, l, "s1", "gw-a", Long, true)
	if c.Token <= b.Token {
		t.Fatalf("token after expiry: %d, want > %d", c.Token, b.Token)
	}
}

func renewExtends(t *testing.T, s Store) {
	l := s.Leases
	a := take(t, l, "s1", "gw-a", Short, true)
	for range 4 {
		s.Pass(Short / 2)
		if held, err := l.Renew(bg, Short, a); err != nil || !held[0] {
			t.Fatalf("Renew = %v, %v", held, err)
		}
	}
	owner(t, l, "s1", "gw-a") // 2×Short after Take: alive only through renewals
	take(t, l, "s1", "gw-b", Long, false)
}

func renewRefusesAStaleLease(t *testing.T, s Store) {
	l := s.Leases
	stale := take(t, l, "s1", "gw-a", Short, true)
	s.Pass(3 * Short)
	// Lapsed, but nobody took it since: the holder gets it back, same token.
	if held, err := l.Renew(bg, Short, stale); err != nil || !held[0] {
		t.Fatalf("Renew of a lapsed lease nobody took = %v, %v; want true", held, err)
	}
	owner(t, l, "s1", "gw-a")
	s.Pass(3 * Short)
	b := take(t, l, "s1", "gw-b", Long, true)
	other := take(t, l, "s2", "gw-a", Long, true)
	// One call renews many; each answer is its own.
	held, err := l.Renew(bg, Long, stale, other)
	if err != nil || held[0] || !held[1] {
		t.Fatalf("Renew(stale, current) = %v, %v; want [false true]", held, err)
	}
	// Same owner name, older token (a paused process of a restarted instance).
	if held, _ := l.Renew(bg, Long, service.Lease{SessionID: "s1", Owner: "gw-b", Token: b.Token - 1}); held[0] {
		t.Fatal("Renew with an older token of the holder succeeded")
	}
	owner(t, l, "s1", "gw-b")
	if held, err := l.Renew(bg, Long); err != nil || len(held) != 0 {
		t.Fatalf("Renew of nothing = %v, %v", held, err)
	}
}

func endAndHandoverNeedTheCurrentLease(t *testing.T, s Store) {
	l := s.Leases
	stale := take(t, l, "s1", "gw-a", Short, true)
	s.Pass(3 * Short)
	b := take(t, l, "s1", "gw-b", Long, true)
	if err := l.End(bg, stale); err != nil {
		t.Fatal(err)
	}
	if err := l.Handover(bg, stale); err != nil {
		t.Fatal(err)
	}
	owner(t, l, "s1", "gw-b")
	// Once gw-b held it, the old lease cannot come back even when free.
	if err := l.End(bg, b); err != nil {
		t.Fatal(err)
	}
	if held, _ := l.Renew(bg, Long, stale); held[0] {
		t.Fatal("Renew brought back a lease older than one another instance held")
	}
	if err := l.Handover(bg, b); err != nil {
		t.Fatal(err)
	}
	owner(t, l, "s1", "")
}

// A renewal in flight while the session ends (or is handed over) on the
// same instance must not take the lease back: the ended session would run
// nowhere while its lease said otherwise, lapse, and be started again as a
// fresh pairing (seen at 100,000 sessions, where a renewal round takes long
// enough to overlap many expiries). A lease that lapsed, the session still
// running, is still taken back.
func renewDoesNotBringBackAGivenUpLease(t *testing.T, s Store) {
	l := s.Leases
	ended := take(t, l, "ended", "gw-a", Long, true)
	handed := take(t, l, "handed", "gw-a", Long, true)
	lapsed := take(t, l, "lapsed", "gw-a", Short, true)
	if err := l.End(bg, ended); err != nil {
		t.Fatal(err)
	}
	if err := l.Handover(bg, handed); err != nil {
		t.Fatal(err)
	}
	s.Pass(3 * Short)
	held, err := l.Renew(bg, Long, ended, handed, lapsed)
	if err != nil || held[0] || held[1] || !held[2] {
		t.Fatalf("Renew(ended, handed over, lapsed) = %v, %v; want false, false, true", held, err)
	}
	owner(t, l, "ended", "")
	owner(t, l, "handed", "")
	owner(t, l, "lapsed", "gw-a")
	got, err := l.Orphans(bg)
	if err != nil || len(got) != 1 || got["handed"] != "" {
		t.Fatalf("Orphans = %v, %v; want only the handed-over session", got, err)
	}
}

func orphansAreRunningSessionsWithoutLease(t *testing.T, s Store) {
	l := s.Leases
	ended := take(t, l, "ended", "gw-a", Long, true)
	handed := take(t, l, "handed", "gw-a", Long, true)
	take(t, l, "lapsed", "gw-a", Short, true)
	take(t, l, "held", "gw-b", Long, true)
	if err := l.End(bg, ended); err != nil {
		t.Fatal(err)
	}
	if err := l.Handover(bg, handed); err != nil {
		t.Fatal(err)
	}
	s.Pass(3 * Short)
	// Each with its last owner: none after a handover (take it at once),
	// gw-a for the lapsed one (wait while gw-a is alive: it renews).
	got, err := l.Orphans(bg)
	if err != nil || len(got) != 2 || got["handed"] != "" || got["lapsed"] != "gw-a" {
		t.Fatalf("Orphans = %v, %v; want handed (no owner) and lapsed (gw-a)", got, err)
	}
	if _, ok := got["handed"]; !ok {
		t.Fatalf("Orphans = %v: the handed-over session is missing", got)
	}
	take(t, l, "lapsed", "gw-b", Long, true) // a survivor takes it over
	if err := l.Forget(bg, "handed"); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Orphans(bg); err != nil || len(got) != 0 {
		t.Fatalf("Orphans after takeover and Forget = %v, %v", got, err)
	}
}

func knownRegisterForget(t *testing.T, s Store) {
	l := s.Leases
	if got, err := l.Known(bg); err != nil || len(got) != 0 {
		t.Fatalf("Known of an empty store = %v, %v", got, err)
	}
	for _, id := range []string{"b", "a", "b", "c"} {
		if err := l.Register(bg, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Forget(bg, "c"); err != nil {
		t.Fatal(err)
	}
	if err := l.Forget(bg, "never-registered"); err != nil {
		t.Fatalf("Forget of an unknown id: %v", err)
	}
	got, err := l.Known(bg)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Known = %v, %v", got, err)
	}
	// Known is about registration, not leases.
	take(t, l, "d", "gw-a", Long, true)
	if got, _ := l.Known(bg); slices.Contains(got, "d") {
		t.Fatalf("Known lists a leased but unregistered session: %v", got)
	}
}

func rejectsBadArguments(t *testing.T, s Store) {
	l := s.Leases
	for name, err := range map[string]error{
		"Register(a*)":  l.Register(bg, "a*"),
		"Take no ttl":   second(l.Take(bg, "a", "gw", 0)),
		"Take no owner": second(l.Take(bg, "a", "", Long)),
		"Take bad id":   second(l.Take(bg, "a b", "gw", Long)),
		"Take ../x":     second(l.Take(bg, "../x", "gw", Long)),
		"Owner bad id":  ownerErr(l.Owner(bg, "a b")),
	} {
		if service.ErrorCode(err) != service.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
}

func second(_ service.Lease, _ bool, err error) error { return err }

func ownerErr(_ string, err error) error { return err }
