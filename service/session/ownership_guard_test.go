package session_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/internal/clocktest"
	"wagateway/internal/logtest"
	"wagateway/service"
	"wagateway/service/inmem"
	"wagateway/service/mock"
	"wagateway/service/session"
)

// renewals is the in-memory lease store whose Renew can be made to fail
// (Redis unreachable); it records each renewal's deadline.
type renewals struct {
	*inmem.Leases
	mu        sync.Mutex
	fail      bool
	deadlines []time.Duration // time left on each Renew's context
	renewed   [][]string      // the sessions of each Renew
}

func (r *renewals) Renew(ctx context.Context, ttl time.Duration, leases ...service.Lease) ([]bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		r.deadlines = append(r.deadlines, time.Until(d))
	}
	ids := make([]string, len(leases))
	for i, l := range leases {
		ids[i] = l.SessionID
	}
	r.renewed = append(r.renewed, ids)
	if r.fail {
		return nil, errors.New("redis unreachable")
	}
	return r.Leases.Renew(ctx, ttl, leases...)
}

// guardTTL is a LEASE_TTL as short as the scale tests': the guard looks
// every 300 ms and stops a session whose last confirmed renewal is
// 3 s - 2 × 300 ms = 2.4 s old.
const guardTTL = 3 * time.Second

func newGuarded(t *testing.T, store *renewals) (*session.Manager, *mock.Driver, *clocktest.Clock, *logtest.Buffer) {
	t.Helper()
	clock := clocktest.New(mgrT0)
	store.Leases = inmem.NewLeases(clock)
	drv := mock.NewDriver(t)
	drv.EXPECT().Events().Return(make(chan service.DriverEvent)).Once()
	drv.EXPECT().Start(tmock.Anything, "g").Return(nil).Once()
	logs := &logtest.Buffer{}
	m, err := session.New(session.Config{
		Instance: "gw-1", QRExpires: time.Hour, LeaseTTL: guardTTL, Clock: clock,
		TTL: session.CacheTTL{QR: time.Minute, Status: time.Minute, Connection: time.Minute, Session: time.Minute},
	}, session.Deps{
		Driver: drv, L1: inmem.NewCache(clock), Publisher: mock.NewPublisher(t), Laravel: mock.NewLaravel(t),
		Leases: store, Render: func(code string) (string, error) { return code, nil },
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	clock.WaitTimers(t, 3)
	if _, err := m.Start(context.Background(), "g"); err != nil {
		t.Fatal(err)
	}
	return m, drv, clock, logs
}

// step advances the clock by one guard tick (300 ms) and waits for the
// loops to be armed again, so whatever the tick triggered is done.
func step(t *testing.T, clock *clocktest.Clock, n int) {
	t.Helper()
	for range n {
		clock.Advance(guardTTL / 10)
		clock.WaitTimers(t, 3)
	}
}

// Confirmed renewals keep a session running for as long as they come,
// far past the guard's limit.
func TestConfirmedRenewalsKeepTheSession(t *testing.T) {
	store := &renewals{}
	m, _, clock, _ := newGuarded(t, store)
	step(t, clock, 20) // 6 s: twice LEASE_TTL
	if !m.IsRunning("g") {
		t.Fatal("a session whose renewals Redis confirms was stopped")
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.deadlines) < 5 {
		t.Fatalf("%d renewals in 6 s, want one every LEASE_TTL/3", len(store.deadlines))
	}
	for _, d := range store.deadlines {
		if d > guardTTL/3 {
			t.Fatalf("a renewal may take %s, more than LEASE_TTL/3", d)
		}
	}
}

// Renewals Redis does not confirm stop the session here exactly when its
// last confirmed renewal is LEASE_TTL - 2 guard ticks old (2.4 s): never
// earlier, and before the lease can lapse for another instance to take it.
func TestUnconfirmedRenewalsStopTheSessionBeforeItsLeaseLapses(t *testing.T) {
	store := &renewals{fail: true}
	m, drv, clock, logs := newGuarded(t, store)
	stopsOnTheNextTick(t, m, drv, clock, 7) // 2.1 s, then 2.4 s
	if !strings.Contains(logs.String(), "lease lost, session stopped here") || strings.Contains(logs.String(), `"msg":"stop session"`) {
		t.Fatalf("log: want the lost lease and no failed stop:\n%s", logs.String())
	}
}

// The guard counts from the last confirmed renewal, not the Take: renewals
// confirmed at 0.9, 1.8 and 2.7 s, then Redis goes away at 3 s; the session
// stops at 5.1 s (2.7 + 2.4), not before, and not never.
func TestGuardCountsFromTheLastConfirmedRenewal(t *testing.T) {
	store := &renewals{}
	m, drv, clock, _ := newGuarded(t, store)
	step(t, clock, 10) // 3 s
	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	stopsOnTheNextTick(t, m, drv, clock, 6) // 4.8 s, then 5.1 s
}

// stopsOnTheNextTick advances the clock by ticks guard ticks, when the last
// confirmed renewal is 2.1 s old and "g" must still run, then by one more
// (2.4 s), when it must be stopped.
func stopsOnTheNextTick(t *testing.T, m *session.Manager, drv *mock.Driver, clock *clocktest.Clock, ticks int) {
	t.Helper()
	step(t, clock, ticks)
	if !m.IsRunning("g") {
		t.Fatal("stopped 2.1 s after the last confirmed renewal; the guard waits LEASE_TTL - 2 ticks (2.4 s)")
	}
	drv.EXPECT().Stop(tmock.Anything, "g").Return(nil).Once()
	step(t, clock, 1)
	if m.IsRunning("g") {
		t.Fatal("still running 2.4 s after the last confirmed renewal")
	}
}

// Each lease is renewed in the phase of its Take, not all together: when
// an instance dies its leases then lapse spread over LEASE_TTL/3, and the
// survivors restart its sessions as they lapse rather than all at once.
// "g" is taken at 0 s and "h" at 0.6 s; each is renewed alone, every
// 0.9 s from its own Take (LEASE_TTL/3 = 1 s, checked every 0.3 s).
func TestLeasesAreRenewedInThePhaseOfTheirTake(t *testing.T) {
	store := &renewals{}
	m, drv, clock, _ := newGuarded(t, store)
	step(t, clock, 2) // 0.6 s
	drv.EXPECT().Start(tmock.Anything, "h").Return(nil).Once()
	if _, err := m.Start(context.Background(), "h"); err != nil {
		t.Fatal(err)
	}
	step(t, clock, 6) // 2.4 s
	store.mu.Lock()
	defer store.mu.Unlock()
	want := [][]string{{"g"}, {"h"}, {"g"}, {"h"}} // at 0.9, 1.5, 1.8 and 2.4 s
	if len(store.renewed) != len(want) {
		t.Fatalf("renewals %v, want %v", store.renewed, want)
	}
	for i := range want {
		if len(store.renewed[i]) != 1 || store.renewed[i][0] != want[i][0] {
			t.Fatalf("renewals %v, want %v: each lease alone, in the phase of its Take", store.renewed, want)
		}
	}
}
