package cluster_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/cluster"
	"wagateway/service/inmem"
)

const ttl = 3 * time.Second

// fakeSessions runs sessions by holding their leases, as the manager does.
type fakeSessions struct {
	owner  string
	leases *inmem.Leases
	max    int

	mu      sync.Mutex
	running map[string]service.Lease
}

func (f *fakeSessions) Start(ctx context.Context, id string) (service.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.max > 0 && len(f.running) >= f.max {
		return service.Session{}, service.Errorf(service.EUNAVAILABLE, "full")
	}
	l, ok, err := f.leases.Take(ctx, id, f.owner, ttl)
	if err != nil {
		return service.Session{}, err
	}
	if !ok {
		return service.Session{}, service.Errorf(service.ECONFLICT, "held by %s", l.Owner)
	}
	f.running[id] = l
	return service.Session{ID: id}, nil
}

func (f *fakeSessions) Running() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.running)
}

func (f *fakeSessions) IsRunning(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.running[id]
	return ok
}

// renew keeps every lease alive, as the manager's renewal loop does.
func (f *fakeSessions) renew(t *testing.T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, l := range f.running {
		if held, err := f.leases.Renew(context.Background(), ttl, l); err != nil || !held[0] {
			t.Fatalf("%s lost %s: %v %v", f.owner, id, held, err)
		}
	}
}

type world struct {
	clock     *clocktest.Clock
	leases    *inmem.Leases
	instances *inmem.Instances
}

func newWorld() *world {
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return &world{clock: clock, leases: inmem.NewLeases(clock), instances: inmem.NewInstances(clock)}
}

func (w *world) node(name string, max int) (*cluster.Node, *fakeSessions) {
	s := &fakeSessions{owner: name, leases: w.leases, max: max, running: map[string]service.Lease{}}
	n := cluster.New(cluster.Config{Instance: name, AdvertiseURL: "http://" + name, MaxSessions: max,
		LeaseTTL: ttl, Clock: w.clock, Rand: rand.New(rand.NewPCG(1, uint64(len(name))))}, w.leases, w.instances, s)
	n.Heartbeat(context.Background())
	return n, s
}

// The survivors of a dead instance share its sessions: each scan takes at
// most a fair share, and after a few scans every session runs on exactly
// one survivor.
func TestSurvivorsShareADeadInstancesSessions(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	_, a := w.node("gw-a", 0)
	nb, b := w.node("gw-b", 0)
	nc, c := w.node("gw-c", 0)
	for i := range 60 {
		if _, err := a.Start(ctx, fmt.Sprintf("s%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := nb.TakeOver(ctx); n != 0 {
		t.Fatalf("took %d sessions of a live instance", n)
	}
	// gw-a dies: no renewal, no heartbeat. The others keep beating.
	w.clock.Advance(ttl)
	nb.Heartbeat(ctx)
	nc.Heartbeat(ctx)
	firstB := nb.TakeOver(ctx)
	if firstB == 0 || firstB > 30 {
		t.Fatalf("first scan of gw-b took %d of 60 orphans, want a fair share (1..30)", firstB)
	}
	for round := 0; b.Running()+c.Running() < 60; round++ {
		if round == 10 {
			t.Fatalf("after 10 rounds only %d+%d of 60 taken over", b.Running(), c.Running())
		}
		nc.TakeOver(ctx)
		nb.TakeOver(ctx)
	}
	if b.Running() < 20 || c.Running() < 20 {
		t.Fatalf("load not spread: gw-b %d, gw-c %d", b.Running(), c.Running())
	}
	for i := range 60 {
		id := fmt.Sprintf("s%02d", i)
		if b.IsRunning(id) == c.IsRunning(id) {
			t.Fatalf("%s runs on gw-b %v and gw-c %v: want exactly one", id, b.IsRunning(id), c.IsRunning(id))
		}
	}
	b.renew(t)
	c.renew(t)
	if orphans, _ := w.leases.Orphans(ctx); len(orphans) != 0 {
		t.Fatalf("orphans left: %v", orphans)
	}
}

func TestTakeOverKeepsWithinMaxSessions(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	_, a := w.node("gw-a", 0)
	nb, b := w.node("gw-b", 4)
	for i := range 10 {
		if _, err := a.Start(ctx, fmt.Sprintf("s%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.Advance(ttl)
	nb.Heartbeat(ctx)
	nb.TakeOver(ctx)
	nb.TakeOver(ctx)
	if b.Running() != 4 {
		t.Fatalf("gw-b runs %d sessions, want MAX_SESSIONS 4", b.Running())
	}
}

func TestRoute(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	na, a := w.node("gw-a", 1)
	_, b := w.node("gw-b", 2)
	route := func(id string, starting bool, want string, wantCode string) {
		t.Helper()
		got, err := na.Route(ctx, id, starting)
		if got != want || service.ErrorCode(err) != wantCode && !(wantCode == "" && err == nil) {
			t.Fatalf("Route(%s, %v) = %q, %v; want %q, code %q", id, starting, got, err, want, wantCode)
		}
	}
	route("new", true, "", "") // room here
	if _, err := a.Start(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	route("mine", false, "", "")
	if _, err := b.Start(ctx, "theirs"); err != nil {
		t.Fatal(err)
	}
	route("theirs", false, "http://gw-b", "")
	route("unknown", false, "", "")            // a lookup: this instance answers from the caches
	w.clock.Advance(1500 * time.Millisecond)   // past the registry cache
	w.instances.Heartbeat(ctx, na.Self(), ttl) // gw-a full now
	route("new", true, "http://gw-b", "")      // placed where there is room
	if _, err := b.Start(ctx, "theirs2"); err != nil {
		t.Fatal(err)
	}
	_ = w.instances.Heartbeat(ctx, service.Instance{ID: "gw-b", URL: "http://gw-b", Sessions: 2, MaxSessions: 2}, ttl)
	b.renew(t)
	w.clock.Advance(1500 * time.Millisecond)
	route("new", true, "", service.EUNAVAILABLE) // every instance full
	_ = w.instances.Leave(ctx, "gw-b")
	b.renew(t) // the lease outlives the heartbeat for a moment
	w.clock.Advance(1500 * time.Millisecond)
	route("theirs", false, "", service.EUNAVAILABLE) // its owner is gone; not yet taken over
	if others, err := na.Others(ctx); others != 0 || err != nil {
		t.Fatalf("Others = %d, %v", others, err)
	}
}

// countingLeases counts the owner lookups.
type countingLeases struct {
	*inmem.Leases
	owners int
}

func (c *countingLeases) Owner(ctx context.Context, id string) (string, error) {
	c.owners++
	return c.Leases.Owner(ctx, id)
}

// A read goes to the session's owner like any request while other
// instances live; alone, an instance answers reads itself without asking
// who holds the session.
func TestRouteRead(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	leases := &countingLeases{Leases: w.leases}
	newNode := func(name string) (*cluster.Node, *fakeSessions) {
		s := &fakeSessions{owner: name, leases: w.leases, running: map[string]service.Lease{}}
		n := cluster.New(cluster.Config{Instance: name, AdvertiseURL: "http://" + name,
			LeaseTTL: ttl, Clock: w.clock}, leases, w.instances, s)
		n.Heartbeat(ctx)
		return n, s
	}
	na, _ := newNode("gw-a")
	_, b := newNode("gw-b")
	if _, err := b.Start(ctx, "theirs"); err != nil {
		t.Fatal(err)
	}
	if got, err := na.RouteRead(ctx, "theirs"); got != "http://gw-b" || err != nil {
		t.Fatalf("RouteRead(theirs) with gw-b live = %q, %v; want http://gw-b", got, err)
	}
	if leases.owners != 1 {
		t.Fatalf("%d owner lookups with two live instances, want 1", leases.owners)
	}

	_ = w.instances.Leave(ctx, "gw-b") // gw-b is gone; its lease outlives it a moment
	b.renew(t)
	w.clock.Advance(1500 * time.Millisecond) // past the registry cache
	if _, err := na.Route(ctx, "theirs", false); service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("Route(theirs) with its owner gone = %v, want EUNAVAILABLE", err)
	}
	lookups := leases.owners
	for _, id := range []string{"theirs", "unknown"} {
		if got, err := na.RouteRead(ctx, id); got != "" || err != nil {
			t.Fatalf("RouteRead(%s) alone = %q, %v; want served here", id, got, err)
		}
	}
	if leases.owners != lookups {
		t.Fatalf("%d owner lookups for reads on the only live instance, want 0", leases.owners-lookups)
	}
}
