package session_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/internal/clocktest"
	"wagateway/internal/logtest"
	"wagateway/service"
	"wagateway/service/config"
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

type mgrHarness struct {
	m       *session.Manager
	drv     *mock.Driver
	l1, l2  *mock.Cache
	pub     *mock.Publisher
	laravel *mock.Laravel
	leases  *mock.Leases
	clock   *clocktest.Clock // After fires only when the test advances it
	events  chan service.DriverEvent
	items   chan service.Update
	logs    *logtest.Buffer
	renders int
	// warns: the test provokes warnings; otherwise any WARN or ERROR line
	// fails it, so an error branch taken on success does not go unseen.
	warns bool
}

var mgrT0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newMgrHarness builds a manager on mocks with no expectation at all: each
// test states every call it expects (the helpers below, with exact counts),
// and the mocks fail the test on any other call or on one that never came.
// setup registers expectations before the harness exists to the caller.
func newMgrHarness(t *testing.T, setup func(h *mgrHarness)) *mgrHarness {
	t.Helper()
	h := &mgrHarness{
		drv:     mock.NewDriver(t),
		l1:      mock.NewCache(t),
		l2:      mock.NewCache(t),
		pub:     mock.NewPublisher(t),
		laravel: mock.NewLaravel(t),
		leases:  mock.NewLeases(t),
		clock:   clocktest.New(mgrT0),
		events:  make(chan service.DriverEvent),
		items:   make(chan service.Update, 100),
		logs:    &logtest.Buffer{},
	}
	if setup != nil {
		setup(h)
	}
	t.Cleanup(func() { // runs after run's cleanup: Run has returned
		if h.warns {
			return
		}
		for _, line := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
				t.Errorf("unexpected log line: %s", line)
			}
		}
	})
	m, err := session.New(testConfig(session.Config{
		Instance:   "gw-1",
		Clock:      h.clock,
		LeaseTTL:   30 * time.Second,
		QRThrottle: 30 * time.Second,
	}), session.Deps{
		Driver:    h.drv,
		L1:        h.l1,
		L2:        h.l2,
		Publisher: h.pub,
		Laravel:   h.laravel,
		Leases:    h.leases,
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

// expectStart expects n successful starts of id: lease taken, session
// registered, driver started.
func (h *mgrHarness) expectStart(id string, n int) { h.expectStartAndRenew(id, n, 0) }

// expectStartAndRenew is expectStart plus renews lease renewals by Run's
// tick (one expectation: testify does not move on to a second one with the
// same arguments).
func (h *mgrHarness) expectStartAndRenew(id string, n, renews int) {
	any := tmock.Anything
	h.leases.EXPECT().Acquire(any, id, "gw-1", 30*time.Second).Return(true, nil).Times(n + renews)
	h.leases.EXPECT().Register(any, id).Return(nil).Times(n)
	h.drv.EXPECT().Start(any, id).Return(nil).Times(n)
}

// expectPublish expects n updates published (h.next reads them) and,
// qrs of them being QR codes, that many QR and n-qrs statuses cached in
// each level.
func (h *mgrHarness) expectPublish(n, qrs int) {
	any := tmock.Anything
	h.pub.EXPECT().Publish(any, any).Run(func(_ context.Context, it service.Update) { h.items <- it }).Return(nil).Times(n)
	for _, c := range []*mock.Cache{h.l1, h.l2} {
		if qrs > 0 {
			c.EXPECT().SetQR(any, any, any).Return(nil).Times(qrs)
		}
		if n > qrs {
			c.EXPECT().SetStatus(any, any, any).Return(nil).Times(n - qrs)
		}
	}
}

// expectStop expects the driver to stop id n times.
func (h *mgrHarness) expectStop(id string, n int) {
	h.drv.EXPECT().Stop(tmock.Anything, id).Return(nil).Times(n)
}

// expectRelease expects id's lease released by this instance n times.
func (h *mgrHarness) expectRelease(id string, n int) {
	h.leases.EXPECT().Release(tmock.Anything, id, "gw-1").Return(nil).Times(n)
}

// run starts Run and stops it when the test ends.
func (h *mgrHarness) run(t *testing.T) {
	h.drv.EXPECT().Events().Return(h.events).Once()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.m.Run(ctx) }() // a failed mock expectation ends the goroutine early
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

// advance moves the clock by d once Run waits on its tick, and returns once
// Run handled the tick (it arms the next one), so the lease renewals that
// tick makes are counted before the test goes on.
func (h *mgrHarness) advance(t *testing.T, d time.Duration) {
	t.Helper()
	h.clock.WaitTimers(t, 1)
	h.clock.Advance(d)
	h.clock.WaitTimers(t, 1)
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
	// Two starts (the first, the one after the code expired) and a renewal per
	// advance below: each is at least LeaseTTL/3.
	h.expectStartAndRenew("a", 2, 3)
	h.expectPublish(2, 1) // the QR code and pending
	h.expectStop("a", 1)  // the stale pairing, before pairing again
	h.run(t)

	if s := h.start(t, "a"); s.Status != service.StatusPending || s.QR != nil {
		t.Fatalf("first start: %+v", s)
	}
	h.send(qrEvent("a", "code1", h.clock.Now()))
	wantItem(t, h.next(t), service.KindQR, service.LaneHigh, "", "")
	wantItem(t, h.next(t), service.KindStatus, service.LaneNormal, service.StatusPending, "")

	h.advance(t, 10*time.Second)
	s := h.start(t, "a")
	if s.Status != service.StatusPending || s.QR == nil || s.QR.Image != "data:image/png;base64,code1" {
		t.Fatalf("duplicate start: %+v", s)
	}
	h.advance(t, 30*time.Second) // past the throttle, the code is still valid
	h.start(t, "a")
	h.drv.AssertNumberOfCalls(t, "Start", 1)
	if got := strings.Count(h.logs.String(), `"msg":"duplicate start ignored"`); got != 2 {
		t.Errorf("logged %d duplicate starts, want 2", got)
	}
	if strings.Contains(h.logs.String(), "code1") {
		t.Error("a QR code was logged")
	}

	h.advance(t, 30*time.Second) // past the throttle and the code's validity: pair again
	h.start(t, "a")
	h.drv.AssertNumberOfCalls(t, "Start", 2)
	h.drv.AssertCalled(t, "Stop", tmock.Anything, "a")
}

// The throttle is a strict bound: a start exactly QRThrottle after the first,
// with no code shown yet, pairs again.
func TestStartAtTheThrottlePairsAgain(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStart("a", 2)
	h.expectStop("a", 1)
	h.start(t, "a")
	h.clock.Advance(30 * time.Second) // no Run: nothing ticks
	h.start(t, "a")
}

func TestStartActiveSessionReturnsActive(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStartAndRenew("a", 1, 1)
	// active, cached for CACHE_TTL_SESSION (not CACHE_TTL_STATUS: an active session lasts)
	h.pub.EXPECT().Publish(tmock.Anything, tmock.Anything).Run(func(_ context.Context, it service.Update) { h.items <- it }).Return(nil).Once()
	for _, c := range []*mock.Cache{h.l1, h.l2} {
		c.EXPECT().SetStatus(tmock.Anything, tmock.Anything, config.Default().CacheTTLSession).Return(nil).Once()
	}
	h.run(t)
	h.start(t, "a")
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventConnected, JID: "1@s.whatsapp.net"})
	wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusActive, "")
	h.advance(t, time.Hour)
	if s := h.start(t, "a"); s.Status != service.StatusActive || s.JID != "1@s.whatsapp.net" {
		t.Fatalf("start of an active session: %+v", s)
	}
	h.drv.AssertNumberOfCalls(t, "Start", 1)
}

func TestIdenticalQRIsNotResent(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStart("a", 1)
	h.expectPublish(3, 2) // two distinct codes and pending
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
		{"qr timeout without a reason", service.DriverEvent{Type: service.EventQRTimeout}, service.StatusExpired, service.LaneNormal, service.ReasonQRTimeout, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMgrHarness(t, nil)
			h.expectStart("a", 1)
			h.expectPublish(1, 0)
			if tt.ends {
				h.expectRelease("a", 1)
			}
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
				return // the lease release is an expectation above
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
	h.expectStart("a", 1)
	h.expectPublish(2, 0) // active once, then the close
	h.expectRelease("a", 1)
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
	// Advancing 119 s runs one tick, past LeaseTTL/3: the lease is renewed once.
	h.expectStartAndRenew("a", 1, 1)
	h.expectPublish(4, 2) // c1, pending, c2, expired
	h.expectStop("a", 1)
	h.expectRelease("a", 1)
	h.run(t)
	h.start(t, "a")
	h.send(qrEvent("a", "c1", h.clock.Now()))
	h.next(t)
	h.next(t)

	h.clock.WaitTimers(t, 1)
	h.clock.Advance(119 * time.Second)
	h.send(qrEvent("a", "c2", h.clock.Now())) // a new code does not restart the clock
	wantItem(t, h.next(t), service.KindQR, service.LaneHigh, "", "")

	h.clock.WaitTimers(t, 1)
	h.clock.Advance(time.Second)
	got := h.next(t)
	wantItem(t, got, service.KindStatus, service.LaneNormal, service.StatusExpired, service.ReasonQRExpired)
	if want := mgrT0.Add(120 * time.Second); !got.At.Equal(want) {
		t.Errorf("expired at %v, want %v", got.At, want)
	}
}

func TestStartLeaseConflict(t *testing.T) {
	h := newMgrHarness(t, func(h *mgrHarness) {
		h.leases.EXPECT().Acquire(tmock.Anything, "b", "gw-1", tmock.Anything).Return(false, nil)
		h.leases.EXPECT().Owner(tmock.Anything, "b").Return("gw-2", nil)
	})
	_, err := h.m.Start(context.Background(), "b")
	if service.ErrorCode(err) != service.ECONFLICT || !strings.Contains(service.ErrorMessage(err), "gw-2") {
		t.Fatalf("Start = %v, want conflict naming gw-2", err)
	}
	h.drv.AssertNotCalled(t, "Start", tmock.Anything, "b")
	if h.m.ActiveSessions() != 0 {
		t.Error("a refused session is running")
	}
	// The refused start left no reservation behind: a second start asks for the lease again.
	if _, err := h.m.Start(context.Background(), "b"); service.ErrorCode(err) != service.ECONFLICT {
		t.Fatalf("second Start = %v, want conflict again", err)
	}
	h.leases.AssertNumberOfCalls(t, "Acquire", 2)
}

func TestStartInvalidID(t *testing.T) {
	h := newMgrHarness(t, nil)
	if _, err := h.m.Start(context.Background(), "no spaces"); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Start = %v, want invalid", err)
	}
}

func TestLostLeaseStopsSessionWithoutStatus(t *testing.T) {
	stopped := make(chan struct{})
	h := newMgrHarness(t, func(h *mgrHarness) {
		h.leases.EXPECT().Acquire(tmock.Anything, "a", "gw-1", tmock.Anything).Return(true, nil).Once()
		h.leases.EXPECT().Acquire(tmock.Anything, "a", "gw-1", tmock.Anything).Return(false, nil)
		h.leases.EXPECT().Register(tmock.Anything, "a").Return(nil).Once()
		h.drv.EXPECT().Start(tmock.Anything, "a").Return(nil).Once()
		h.drv.EXPECT().Stop(tmock.Anything, "a").Run(func(context.Context, string) { close(stopped) }).Return(nil).Once()
	})
	h.warns = true // checked below
	h.run(t)
	h.start(t, "a")
	h.clock.WaitTimers(t, 1)
	h.clock.Advance(10 * time.Second) // LeaseTTL/3: time to renew
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("session not stopped after losing its lease")
	}
	if err := h.m.Stop(context.Background(), "a"); service.ErrorCode(err) != service.ENOTFOUND {
		t.Errorf("Stop after losing the lease = %v, want not found (no longer running here)", err)
	}
	select {
	case it := <-h.items:
		t.Errorf("published %s: the new owner reports, not us", it)
	default:
	}
	if !strings.Contains(h.logs.String(), `"msg":"lease lost, session stopped here"`) {
		t.Error("losing the lease was not logged")
	}
	if strings.Contains(h.logs.String(), `"msg":"stop session"`) {
		t.Error("a successful stop was logged as failed")
	}
}
