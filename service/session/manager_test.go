package session_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/internal/clocktest"
	"wagateway/internal/logtest"
	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/inmem"
	"wagateway/service/mock"
	"wagateway/service/session"
)

// testConfig fills the settings a test leaves zero from config.Default, as
// the gateway's wiring does.
func testConfig(c session.Config) session.Config {
	d := config.Default()
	if c.Instance == "" {
		c.Instance = d.InstanceID
	}
	if c.QRExpires == 0 {
		c.QRExpires = d.QRExpires
	}
	if c.TTL == (session.CacheTTL{}) {
		c.TTL = session.CacheTTL{QR: d.CacheTTLQR, Status: d.CacheTTLStatus, Connection: d.CacheTTLConnection, Session: d.CacheTTLSession}
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = d.LeaseTTL
	}
	return c
}

// mgrHarness is a Manager whose collaborators either are fakes (in-memory
// caches and leases) or check their calls (mockery Driver, Publisher and
// Laravel, and the caches when a test calls mockCaches): a test expects
// each call it causes, with its count, and mockery asserts them all.
type mgrHarness struct {
	t        *testing.T
	m        *session.Manager
	drv      *mock.Driver
	l1, l2   *mock.Cache   // nil unless the test's setup called mockCaches
	cache1   service.Cache // what the manager uses: l1, or an in-memory cache
	cache2   service.Cache
	pub      *mock.Publisher
	laravel  *mock.Laravel
	leases   *inmem.Leases    // the real in-memory store: tests check its state
	store    service.Leases   // what the manager uses: leases, or a test's wrapper
	ttl      time.Duration    // LeaseTTL; long by default so clock jumps keep leases
	running  bool             // Run started: its lease loops arm two timers
	clock    *clocktest.Clock // After fires only when the test advances it
	events   chan service.DriverEvent
	items    chan service.Update
	logs     *logtest.Buffer
	renders  int
	marking  bool // the driver is a service.RunMarker (set it in setup)
	sharedL2 bool // Config.SharedL2 (set it in setup)
}

// markingDriver is the mockery driver as a service.RunMarker.
type markingDriver struct{ *mock.Driver }

func (markingDriver) MarksRuns() bool { return true }

var mgrT0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newMgrHarness builds a manager. setup, called before the manager is
// built, can swap its lease store or call mockCaches, and registers the
// test's expectations (more can follow before the calls they expect).
func newMgrHarness(t *testing.T, setup func(h *mgrHarness)) *mgrHarness {
	t.Helper()
	h := &mgrHarness{
		t:       t,
		drv:     mock.NewDriver(t),
		pub:     mock.NewPublisher(t),
		laravel: mock.NewLaravel(t),
		clock:   clocktest.New(mgrT0),
		ttl:     48 * time.Hour,
		events:  make(chan service.DriverEvent),
		items:   make(chan service.Update, 100),
		logs:    &logtest.Buffer{},
	}
	h.leases = inmem.NewLeases(h.clock)
	h.store = h.leases
	h.cache1, h.cache2 = inmem.NewCache(h.clock), inmem.NewCache(h.clock)
	if setup != nil {
		setup(h)
	}

	m, err := session.New(testConfig(session.Config{
		Instance:   "gw-1",
		Clock:      h.clock,
		LeaseTTL:   h.ttl,
		QRThrottle: 30 * time.Second,
		SharedL2:   h.sharedL2,
	}), session.Deps{
		Driver:    h.driver(),
		L1:        h.cache1,
		L2:        h.cache2,
		Publisher: h.pub,
		Laravel:   h.laravel,
		Leases:    h.store,
		Render: func(code string) (string, error) {
			h.renders++ // only Run's goroutine renders
			return "data:image/png;base64," + code, nil
		},
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	return h
}

// driver is the mockery driver, as a RunMarker when the test asked.
func (h *mgrHarness) driver() service.Driver {
	if h.marking {
		return markingDriver{h.drv}
	}
	return h.drv
}

// mockCaches gives the manager mockery caches, for a test that checks its
// cache calls; without it the manager gets in-memory ones.
func (h *mgrHarness) mockCaches() {
	h.l1, h.l2 = mock.NewCache(h.t), mock.NewCache(h.t)
	h.cache1, h.cache2 = h.l1, h.l2
}

// expectStarts makes the driver take one Start per id given, no more.
func (h *mgrHarness) expectStarts(ids ...string) {
	for _, id := range ids {
		h.drv.EXPECT().Start(tmock.Anything, id).Return(nil).Once()
	}
}

// expectStops makes the driver take one Stop per id given, no more.
func (h *mgrHarness) expectStops(ids ...string) {
	for _, id := range ids {
		h.drv.EXPECT().Stop(tmock.Anything, id).Return(nil).Once()
	}
}

// expectPublishes makes the publisher take exactly n updates, which next
// then returns in order.
func (h *mgrHarness) expectPublishes(n int) {
	h.pub.EXPECT().Publish(tmock.Anything, tmock.Anything).Run(func(_ context.Context, it service.Update) { h.items <- it }).Return(nil).Times(n)
}

// run starts Run (which asks the driver for its events once) and stops it
// when the test ends.
func (h *mgrHarness) run(t *testing.T) {
	h.drv.EXPECT().Events().Return(h.events).Once()
	h.running = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitTimers waits for n timers of the test plus the two of Run's lease
// loops (renewal, guard).
func (h *mgrHarness) waitTimers(t *testing.T, n int) {
	t.Helper()
	if h.running {
		n += 2
	}
	h.clock.WaitTimers(t, n)
}

// ended checks that id's lease was given up for good: nobody holds it and
// no survivor would resume it.
func (h *mgrHarness) ended(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	// The lease ends just after the last update is published: wait for it
	// (the deadline only guards a hang).
	for i := 0; ; i++ {
		owner, _ := h.leases.Owner(ctx, id)
		if owner == "" {
			break
		}
		if i == 500 {
			t.Fatalf("%s still leased by %s", id, owner)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if orphans, _ := h.leases.Orphans(ctx); hasKey(orphans, id) {
		t.Fatalf("%s is an orphan: a survivor would resume it", id)
	}
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// forgotten checks that id left the Known set.
func (h *mgrHarness) forgotten(t *testing.T, id string) {
	t.Helper()
	if known, _ := h.leases.Known(context.Background()); slices.Contains(known, id) {
		t.Fatalf("%s is still known", id)
	}
}

func (h *mgrHarness) send(ev service.DriverEvent) {
	if ev.At.IsZero() {
		ev.At = h.clock.Now()
	}
	h.events <- ev
}

// next returns the next published item; the deadline only guards a hang.
func (h *mgrHarness) next(t *testing.T) service.Update {
	t.Helper()
	select {
	case it := <-h.items:
		return it
	case <-time.After(5 * time.Second):
		t.Fatal("nothing published")
	}
	return service.Update{}
}

func (h *mgrHarness) start(t *testing.T, id string) service.Session {
	t.Helper()
	s, err := h.m.Start(context.Background(), id)
	if err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
	return s
}

func qrEvent(id, code string, at time.Time) service.DriverEvent {
	return service.DriverEvent{SessionID: id, Type: service.EventQR, Code: code, At: at, ExpiresAt: at.Add(60 * time.Second)}
}

func wantItem(t *testing.T, got service.Update, kind service.Kind, lane service.Lane, status service.Status, reason string) {
	t.Helper()
	if got.Kind != kind || got.Lane != lane || got.Status != status || got.Reason != reason {
		t.Fatalf("published %s (reason %q), want %s %s %s (reason %q)", got, got.Reason, lane, kind, status, reason)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("invalid item: %v", err)
	}
}

func TestStartThrottlesDuplicates(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a", "a") // the second after the code expired
	h.expectStops("a")
	h.expectPublishes(2)
	h.run(t)

	if s := h.start(t, "a"); s.Status != service.StatusPending || s.QR != nil {
		t.Fatalf("first start: %+v", s)
	}
	h.send(qrEvent("a", "code1", h.clock.Now()))
	wantItem(t, h.next(t), service.KindQR, service.LaneHigh, "", "")
	wantItem(t, h.next(t), service.KindStatus, service.LaneNormal, service.StatusPending, "")

	h.clock.Advance(10 * time.Second)
	s := h.start(t, "a")
	if s.Status != service.StatusPending || s.QR == nil || s.QR.Image != "data:image/png;base64,code1" {
		t.Fatalf("duplicate start: %+v", s)
	}
	h.clock.Advance(30 * time.Second) // past the throttle, the code is still valid
	h.start(t, "a")
	h.drv.AssertNumberOfCalls(t, "Start", 1)
	if got := strings.Count(h.logs.String(), `"msg":"duplicate start ignored"`); got != 2 {
		t.Errorf("logged %d duplicate starts, want 2", got)
	}
	if strings.Contains(h.logs.String(), "code1") {
		t.Error("a QR code was logged")
	}

	h.clock.Advance(30 * time.Second) // past the throttle and the code's validity: pair again
	h.start(t, "a")
	h.drv.AssertNumberOfCalls(t, "Start", 2)
	h.drv.AssertCalled(t, "Stop", tmock.Anything, "a")
}

func TestStartActiveSessionReturnsActive(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a")
	h.expectPublishes(1)
	h.run(t)
	h.start(t, "a")
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventConnected, JID: "1@s.whatsapp.net"})
	wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusActive, "")
	h.clock.Advance(time.Hour)
	if s := h.start(t, "a"); s.Status != service.StatusActive || s.JID != "1@s.whatsapp.net" {
		t.Fatalf("start of an active session: %+v", s)
	}
	h.drv.AssertNumberOfCalls(t, "Start", 1)
}

func TestIdenticalQRIsNotResent(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a")
	h.expectPublishes(3) // two codes and pending
	h.run(t)
	h.start(t, "a")
	at := h.clock.Now()
	h.send(qrEvent("a", "same", at))
	h.send(qrEvent("a", "same", at.Add(time.Second)))
	h.send(qrEvent("a", "other", at.Add(2*time.Second)))

	first := h.next(t)
	wantItem(t, first, service.KindQR, service.LaneHigh, "", "")
	wantItem(t, h.next(t), service.KindStatus, service.LaneNormal, service.StatusPending, "")
	second := h.next(t)
	wantItem(t, second, service.KindQR, service.LaneHigh, "", "")
	if first.QR != "data:image/png;base64,same" || second.QR != "data:image/png;base64,other" || !second.At.Equal(at.Add(2*time.Second)) {
		t.Fatalf("published %q then %q", first.QR, second.QR)
	}
	if h.renders != 2 {
		t.Errorf("rendered %d codes, want 2", h.renders)
	}
}

func TestEventsMapToStatuses(t *testing.T) {
	tests := []struct {
		name   string
		ev     service.DriverEvent
		status service.Status
		lane   service.Lane
		reason string
		ends   bool
	}{
		{"connected", service.DriverEvent{Type: service.EventConnected, JID: "1@s.whatsapp.net"}, service.StatusActive, service.LaneHigh, "", false},
		{"closed", service.DriverEvent{Type: service.EventClosed, Reason: service.ReasonLoggedOut}, service.StatusInactive, service.LaneHigh, service.ReasonLoggedOut, true},
		{"banned", service.DriverEvent{Type: service.EventClosed, Reason: service.ReasonBanned}, service.StatusInactive, service.LaneHigh, service.ReasonBanned, true},
		{"qr timeout", service.DriverEvent{Type: service.EventQRTimeout, Reason: service.ReasonQRTimeout}, service.StatusExpired, service.LaneNormal, service.ReasonQRTimeout, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMgrHarness(t, nil)
			h.expectStarts("a") // a closed session is over: the driver ended it
			h.expectPublishes(1)
			h.run(t)
			h.start(t, "a")
			h.clock.Advance(time.Second)
			ev := tt.ev
			ev.SessionID, ev.At = "a", h.clock.Now()
			h.send(ev)
			got := h.next(t)
			wantItem(t, got, service.KindStatus, tt.lane, tt.status, tt.reason)
			if !got.At.Equal(ev.At) {
				t.Errorf("item time %v, want the event's %v", got.At, ev.At)
			}
			if tt.ends {
				h.ended(t, "a")
				return
			}
			s, src, err := h.m.Session(context.Background(), "a")
			if err != nil || src != service.SourceLive || s.Status != tt.status {
				t.Errorf("Session = %+v, %s, %v", s, src, err)
			}
		})
	}
}

func TestReconnectingDoesNotFlap(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a")
	h.expectPublishes(2)
	h.run(t)
	h.start(t, "a")
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventConnected})
	wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusActive, "")
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventReconnecting})
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventConnected})
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventClosed, Reason: service.ReasonNetwork})
	// The next item is the close: reconnecting and the second connect published nothing.
	wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusInactive, service.ReasonNetwork)
}

func TestUnscannedQRExpires(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a")
	h.expectStops("a")
	h.expectPublishes(4) // two codes, pending, expired
	h.run(t)
	h.start(t, "a")
	h.send(qrEvent("a", "c1", h.clock.Now()))
	h.next(t)
	h.next(t)

	h.waitTimers(t, 1)
	h.clock.Advance(119 * time.Second)
	h.send(qrEvent("a", "c2", h.clock.Now())) // a new code does not restart the clock
	wantItem(t, h.next(t), service.KindQR, service.LaneHigh, "", "")

	h.waitTimers(t, 1)
	h.clock.Advance(time.Second)
	got := h.next(t)
	wantItem(t, got, service.KindStatus, service.LaneNormal, service.StatusExpired, service.ReasonQRExpired)
	if want := mgrT0.Add(120 * time.Second); !got.At.Equal(want) {
		t.Errorf("expired at %v, want %v", got.At, want)
	}
	h.ended(t, "a")
}

// A pairing that connected and paired again gets a new QR_EXPIRES from its
// new first code: the expiry of the first pairing does not stop it.
func TestRepairedSessionExpiresFromItsNewCode(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a")
	h.expectStops("a")
	h.expectPublishes(6) // code, pending, active, code, pending, expired
	h.run(t)
	h.start(t, "a")
	h.send(qrEvent("a", "c1", h.clock.Now()))
	h.next(t)
	h.next(t)

	h.waitTimers(t, 1)
	h.clock.Advance(60 * time.Second)
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventConnected})
	wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusActive, "")
	h.send(qrEvent("a", "c2", h.clock.Now())) // paired again at 60 s
	h.next(t)
	wantItem(t, h.next(t), service.KindStatus, service.LaneNormal, service.StatusPending, "")

	h.waitTimers(t, 1)
	h.clock.Advance(61 * time.Second) // 121 s: the first pairing's expiry is due
	h.waitTimers(t, 1)                // that tick ran
	if !h.m.IsRunning("a") {
		t.Fatal("the new pairing expired 61 s after its first code")
	}

	h.clock.Advance(59 * time.Second) // 180 s: 120 s after the new code
	got := h.next(t)
	wantItem(t, got, service.KindStatus, service.LaneNormal, service.StatusExpired, service.ReasonQRExpired)
	if want := mgrT0.Add(180 * time.Second); !got.At.Equal(want) {
		t.Errorf("expired at %v, want %v", got.At, want)
	}
	h.ended(t, "a")
}

func TestStartLeaseConflict(t *testing.T) {
	h := newMgrHarness(t, nil)
	if _, ok, _ := h.leases.Take(context.Background(), "b", "gw-2", time.Hour); !ok {
		t.Fatal("gw-2 could not take b")
	}
	_, err := h.m.Start(context.Background(), "b")
	if service.ErrorCode(err) != service.ECONFLICT || !strings.Contains(service.ErrorMessage(err), "gw-2") {
		t.Fatalf("Start = %v, want conflict naming gw-2", err)
	}
	h.drv.AssertNotCalled(t, "Start", tmock.Anything, "b")
	if h.m.ActiveSessions() != 0 {
		t.Error("a refused session is running")
	}
}

func TestStartInvalidID(t *testing.T) {
	h := newMgrHarness(t, nil)
	if _, err := h.m.Start(context.Background(), "no spaces"); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Start = %v, want invalid", err)
	}
}

// renewRefused is a lease store whose renewals find the leases taken by
// another instance (held false) or Redis away (an error).
type renewRefused struct {
	*inmem.Leases
	err error
}

func (r renewRefused) Renew(ctx context.Context, ttl time.Duration, leases ...service.Lease) ([]bool, error) {
	return make([]bool, len(leases)), r.err
}

// A session whose lease another instance took, or whose renewal Redis never
// confirmed for nearly LeaseTTL, stops here without a status: its new owner
// reports, and two instances never run it at once.
func TestLostLeaseStopsSessionWithoutStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		// the session must run until before and be stopped by after
		before, after time.Duration
	}{
		{"taken by another instance", nil, 0, 10 * time.Second},
		{"renewal never confirmed", errors.New("redis: i/o timeout"), 27 * time.Second, 29 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stopped := make(chan struct{})
			h := newMgrHarness(t, func(h *mgrHarness) {
				h.ttl = 30 * time.Second
				h.store = renewRefused{h.leases, tt.err}
				h.drv.EXPECT().Stop(tmock.Anything, "a").Run(func(context.Context, string) { close(stopped) }).Return(nil).Once()
				h.expectStarts("a") // and no Publish: the new owner reports
			})
			h.run(t)
			h.start(t, "a")
			for elapsed := time.Duration(0); ; elapsed += time.Second {
				select {
				case <-stopped:
					if elapsed < tt.before {
						t.Fatalf("stopped after %s, want it running until %s", elapsed, tt.before)
					}
					if err := h.m.Stop(context.Background(), "a"); service.ErrorCode(err) != service.ENOTFOUND {
						t.Errorf("Stop after losing the lease = %v, want not found (no longer running here)", err)
					}
					select {
					case it := <-h.items:
						t.Errorf("published %s: the new owner reports, not us", it)
					default:
					}
					return
				case <-time.After(20 * time.Millisecond):
				}
				if elapsed > tt.after {
					t.Fatalf("still running %s after the lease was lost", elapsed)
				}
				h.waitTimers(t, 1)
				h.clock.Advance(time.Second)
			}
		})
	}
}

// An update the outbox refuses because another instance holds the lease
// now (a fenced write) stops the session here at once.
func TestFencedPublishRefusalStopsSession(t *testing.T) {
	any := tmock.Anything
	stopped := make(chan struct{})
	h := newMgrHarness(t, func(h *mgrHarness) {
		h.pub.EXPECT().Publish(any, tmock.MatchedBy(func(u service.Update) bool { return u.Lease != nil && u.Lease.Owner == "gw-1" })).
			Return(service.Errorf(service.ECONFLICT, "lease lost")).Once()
		h.drv.EXPECT().Stop(any, "a").Run(func(context.Context, string) { close(stopped) }).Return(nil).Once()
		h.expectStarts("a")
		h.expectPublishes(1) // the pending status after the refused QR
	})
	h.run(t)
	h.start(t, "a")
	h.send(qrEvent("a", "c1", h.clock.Now()))
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("session still running after the outbox refused its update")
	}
	if h.m.IsRunning("a") {
		t.Fatal("a still runs here")
	}
}

func TestMaxSessions(t *testing.T) {
	h := newMgrHarness(t, func(h *mgrHarness) {
		// Without a QR throttle the repeated Start of a pending a pairs it anew.
		h.expectStarts("a", "a")
		h.expectStops("a")
	})
	m, err := session.New(testConfig(session.Config{Instance: "gw-1", MaxSessions: 1, Clock: h.clock}), session.Deps{
		Driver: h.drv, L1: h.cache1, Publisher: h.pub, Laravel: h.laravel, Leases: h.leases,
		Render: func(code string) (string, error) { return code, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(context.Background(), "b"); service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("Start beyond MAX_SESSIONS = %v, want EUNAVAILABLE", err)
	}
	if _, err := m.Start(context.Background(), "a"); err != nil { // a running session is not one more
		t.Fatalf("repeated Start of a running session: %v", err)
	}
	if m.Running() != 1 {
		t.Fatalf("Running = %d", m.Running())
	}
}

// A driver's Stop that hangs (the simulator waits on the Redis outage that
// lapsed the lease) does not hold up the guard: the next session whose
// lease lapses still leaves on time, while the first Stop is still waiting.
func TestGuardIsNotHeldUpByAHangingStop(t *testing.T) {
	release, stoppedB := make(chan struct{}), make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	h := newMgrHarness(t, func(h *mgrHarness) {
		h.ttl = 30 * time.Second
		h.store = renewRefused{h.leases, errors.New("redis: i/o timeout")}
		h.drv.EXPECT().Stop(tmock.Anything, "a").Run(func(context.Context, string) { <-release }).Return(nil).Once()
		h.drv.EXPECT().Stop(tmock.Anything, "b").Run(func(context.Context, string) { close(stoppedB) }).Return(nil).Once()
		h.expectStarts("a", "b")
	})
	h.run(t)
	h.start(t, "a")
	h.waitTimers(t, 0)
	h.clock.Advance(3 * time.Second) // b's lease lapses three guard ticks after a's
	h.start(t, "b")
	for elapsed := 3 * time.Second; ; elapsed += time.Second {
		select {
		case <-stoppedB:
			if !h.m.IsRunning("a") && !h.m.IsRunning("b") {
				close(release)
				return
			}
			t.Fatalf("a running %v, b running %v after b stopped", h.m.IsRunning("a"), h.m.IsRunning("b"))
		case <-time.After(20 * time.Millisecond):
		}
		if elapsed > 33*time.Second {
			t.Fatalf("b still running %s after its start: the guard waits for a's Stop", elapsed-3*time.Second)
		}
		h.waitTimers(t, 0)
		h.clock.Advance(time.Second)
	}
}

// With a driver that marks runs, a restarted session ignores the events
// queued before its run's EventStarted: the close of the run before, which
// raced the restart, does not end the new run (at time ×72 the outage run
// saw a fresh pairing end at once with the previous pairing's logged_out,
// then show codes nobody took).
func TestEventsOfAnEarlierRunDoNotEndTheNewRun(t *testing.T) {
	h := newMgrHarness(t, func(h *mgrHarness) { h.marking = true })
	h.expectStarts("a")
	h.expectPublishes(2) // the new run's code and pending; no inactive
	h.run(t)
	h.start(t, "a")
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventClosed, Reason: service.ReasonLoggedOut}) // the run before
	h.send(qrEvent("a", "old", h.clock.Now()))                                                              // the run before
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventStarted})
	h.send(qrEvent("a", "new", h.clock.Now()))
	wantItem(t, h.next(t), service.KindQR, service.LaneHigh, "", "")
	wantItem(t, h.next(t), service.KindStatus, service.LaneNormal, service.StatusPending, "")
	if got, src, err := h.m.Session(context.Background(), "a"); err != nil || src != service.SourceLive || got.Status != service.StatusPending || got.QR == nil || got.QR.Code != "new" {
		t.Fatalf("session = %+v from %v, %v; want live, pending with the new run's code", got, src, err)
	}
	if h.renders != 1 {
		t.Fatalf("rendered %d codes, want only the new run's", h.renders)
	}
}

// SessionsByStatus keeps its counts with every change (start, QR,
// connect, close, stop, Close) instead of walking the sessions: after each
// step they match a recount and what the step did.
func TestSessionsByStatusFollowsEveryChange(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a", "b", "c", "d")
	h.expectStops("b", "a", "d")
	h.expectPublishes(7) // a: QR, pending; b: active, inactive; c: inactive; a, d: inactive
	h.run(t)
	check := func(step string, want map[service.Status]int) {
		t.Helper()
		got := h.m.SessionsByStatus()
		if !maps.Equal(got, want) || !maps.Equal(got, session.RecountByStatus(h.m)) {
			t.Fatalf("after %s: SessionsByStatus = %v, want %v (recount %v)", step, got, want, session.RecountByStatus(h.m))
		}
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		h.start(t, id)
	}
	check("four starts", map[service.Status]int{service.StatusPending: 4})
	h.send(qrEvent("a", "c1", h.clock.Now()))
	h.next(t)
	h.next(t)
	check("a QR", map[service.Status]int{service.StatusPending: 4})
	h.send(service.DriverEvent{SessionID: "b", Type: service.EventConnected})
	h.next(t)
	check("b connected", map[service.Status]int{service.StatusPending: 3, service.StatusActive: 1})
	h.send(service.DriverEvent{SessionID: "c", Type: service.EventClosed, Reason: service.ReasonLoggedOut})
	h.next(t)
	check("c closed", map[service.Status]int{service.StatusPending: 2, service.StatusActive: 1})
	if err := h.m.Stop(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	h.next(t)
	check("b stopped", map[service.Status]int{service.StatusPending: 2})
	if err := h.m.Close(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	check("Close", map[service.Status]int{})
}
