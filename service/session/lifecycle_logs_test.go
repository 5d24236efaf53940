package session_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
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

// lifecycle is a manager on the in-memory caches and leases, a driver mock
// with exact expectations and a publisher mock that hands each update to
// the test.
type lifecycle struct {
	m      *session.Manager
	drv    *mock.Driver
	l1, l2 *inmem.Cache
	clock  *clocktest.Clock
	events chan service.DriverEvent
	items  chan service.Update
	logs   *logtest.Buffer
	ttl    session.CacheTTL
}

const lifecycleQRExpires = 3 * time.Minute

func newLifecycle(t *testing.T, published int, laravel *mock.Laravel) *lifecycle {
	t.Helper()
	return newLifecycleLease(t, published, laravel, 48*time.Hour, lifecycleQRExpires)
}

// newLifecycleLease is newLifecycle with its own LEASE_TTL and QR_EXPIRES.
func newLifecycleLease(t *testing.T, published int, laravel *mock.Laravel, leaseTTL, qrExpires time.Duration) *lifecycle {
	t.Helper()
	lc := &lifecycle{
		drv:    mock.NewDriver(t),
		clock:  clocktest.New(mgrT0),
		events: make(chan service.DriverEvent),
		items:  make(chan service.Update, 100),
		logs:   &logtest.Buffer{},
		ttl:    session.CacheTTL{QR: 2 * time.Minute, Status: 5 * time.Minute, Connection: 30 * time.Second, Session: time.Hour},
	}
	lc.l1, lc.l2 = inmem.NewCache(lc.clock), inmem.NewCache(lc.clock)
	pub := mock.NewPublisher(t)
	pub.EXPECT().Publish(tmock.Anything, tmock.Anything).
		Run(func(_ context.Context, it service.Update) { lc.items <- it }).Return(nil).Times(published)
	lc.drv.EXPECT().Events().Return(lc.events).Once()
	m, err := session.New(session.Config{
		Instance: "gw-1", QRThrottle: 30 * time.Second, QRExpires: qrExpires,
		TTL: lc.ttl, LeaseTTL: leaseTTL, Clock: lc.clock,
	}, session.Deps{
		Driver: lc.drv, L1: lc.l1, L2: lc.l2, Publisher: pub, Laravel: laravel,
		Leases: inmem.NewLeases(lc.clock),
		Render: func(code string) (string, error) { return "data:image/png;base64," + code, nil },
		Logger: slog.New(slog.NewJSONHandler(lc.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	lc.m = m
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	lc.clock.WaitTimers(t, 3) // Run's tick, the lease renewal and the guard
	return lc
}

func (lc *lifecycle) start(t *testing.T, id string) {
	t.Helper()
	if _, err := lc.m.Start(context.Background(), id); err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
}

// next is the next published update, which must be kind (and status).
func (lc *lifecycle) next(t *testing.T, id string, kind service.Kind, status service.Status, reason string) service.Update {
	t.Helper()
	select {
	case it := <-lc.items:
		if it.SessionID != id || it.Kind != kind || it.Status != status || it.Reason != reason {
			t.Fatalf("published %s %s %q (reason %q), want %s %s %q (reason %q)", it.SessionID, it.Kind, it.Status, it.Reason, id, kind, status, reason)
		}
		return it
	case <-time.After(5 * time.Second): // guards a hang only
		t.Fatalf("nothing published; want %s %s %q", id, kind, status)
	}
	return service.Update{}
}

// qr sends a QR event for id and takes its two updates (the code, pending).
func (lc *lifecycle) qr(t *testing.T, id, code string) {
	t.Helper()
	now := lc.clock.Now()
	lc.events <- service.DriverEvent{SessionID: id, Type: service.EventQR, Code: code, At: now, ExpiresAt: now.Add(20 * time.Second)}
	lc.next(t, id, service.KindQR, "", "")
	lc.next(t, id, service.KindStatus, service.StatusPending, "")
}

// advance moves the clock and waits for Run's loops to arm their timers again.
func (lc *lifecycle) advance(t *testing.T, d time.Duration) {
	t.Helper()
	lc.clock.Advance(d)
	lc.clock.WaitTimers(t, 3)
}

// quiet fails the test on any warning or error in the manager's log.
func (lc *lifecycle) quiet(t *testing.T) {
	t.Helper()
	for _, ln := range strings.Split(lc.logs.String(), "\n") {
		if strings.Contains(ln, `"level":"WARN"`) || strings.Contains(ln, `"level":"ERROR"`) {
			t.Errorf("unexpected log line: %s", ln)
		}
	}
}

// Every path of a session's life where caches, outbox and driver answer:
// pairing, scan, close; a pairing timed out by the phone; one expired by
// QR_EXPIRES; lookups through L2 and Laravel; the list of sessions. None
// logs a warning or an error, and each status is cached as long as its
// kind of status should be.
func TestSessionLifecycleLogsNoWarning(t *testing.T) {
	ctx := context.Background()
	any := tmock.Anything
	laravel := mock.NewLaravel(t)
	lc := newLifecycle(t, 4+3+3, laravel)
	for _, id := range []string{"a", "b", "c"} {
		lc.drv.EXPECT().Start(any, id).Return(nil).Once()
	}
	lc.drv.EXPECT().Stop(any, "c").Return(nil).Once() // expired by QR_EXPIRES

	// a pairs, is scanned, stays active past the status TTL, then closes.
	lc.start(t, "a")
	lc.qr(t, "a", "code-a")
	lc.events <- service.DriverEvent{SessionID: "a", Type: service.EventConnected, JID: "1@s.whatsapp.net", At: lc.clock.Now()}
	lc.next(t, "a", service.KindStatus, service.StatusActive, "")
	lc.advance(t, 2*lc.ttl.Status)
	for name, c := range map[string]*inmem.Cache{"L1": lc.l1, "L2": lc.l2} {
		if rec, ok, err := c.GetStatus(ctx, "a"); !ok || err != nil || rec.Status != service.StatusActive {
			t.Fatalf("%s after twice CACHE_TTL_STATUS: %+v, %v, %v; an active status lives CACHE_TTL_SESSION", name, rec, ok, err)
		}
	}
	lc.events <- service.DriverEvent{SessionID: "a", Type: service.EventClosed, Reason: "closed", At: lc.clock.Now()}
	lc.next(t, "a", service.KindStatus, service.StatusInactive, "closed")

	// b: the phone's pairing times out without saying why.
	lc.start(t, "b")
	lc.qr(t, "b", "code-b")
	lc.events <- service.DriverEvent{SessionID: "b", Type: service.EventQRTimeout, At: lc.clock.Now()}
	lc.next(t, "b", service.KindStatus, service.StatusExpired, service.ReasonQRTimeout)

	// c: nobody scans within QR_EXPIRES.
	lc.start(t, "c")
	lc.qr(t, "c", "code-c")
	lc.advance(t, lifecycleQRExpires)
	lc.next(t, "c", service.KindStatus, service.StatusExpired, service.ReasonQRExpired)

	// Lookups: b from L1; x from Laravel, which fills both levels; a pending
	// status of L2 fills L1 with the status TTL.
	if s, src, err := lc.m.Session(ctx, "b"); err != nil || src != service.SourceL1 || s.Status != service.StatusExpired {
		t.Fatalf("Session(b) = %+v, %s, %v", s, src, err)
	}
	xRec := service.StatusRecord{SessionID: "x", Status: service.StatusActive, UpdatedAt: mgrT0}
	laravel.EXPECT().SessionStatus(any, "x").Return(xRec, nil).Once()
	if s, src, err := lc.m.Session(ctx, "x"); err != nil || src != service.SourceLaravel || s.Status != service.StatusActive {
		t.Fatalf("Session(x) = %+v, %s, %v", s, src, err)
	}
	if _, ok, _ := lc.l2.GetStatus(ctx, "x"); !ok {
		t.Fatal("Laravel's answer did not fill L2")
	}
	yRec := service.StatusRecord{SessionID: "y", Status: service.StatusInactive, UpdatedAt: mgrT0}
	if err := lc.l2.SetStatus(ctx, yRec, time.Hour); err != nil {
		t.Fatal(err)
	}
	if s, src, err := lc.m.Session(ctx, "y"); err != nil || src != service.SourceL2 || s.Status != service.StatusInactive {
		t.Fatalf("Session(y) = %+v, %s, %v", s, src, err)
	}
	if _, ok, _ := lc.l1.GetStatus(ctx, "y"); !ok {
		t.Fatal("L2's answer did not fill L1")
	}

	// The list: every registered session, none running any more.
	list, err := lc.m.Sessions(ctx)
	if err != nil || len(list) != 3 || list[0].ID != "a" || list[0].Status != service.StatusInactive ||
		list[1].Status != service.StatusExpired || list[2].Status != service.StatusExpired {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	lc.quiet(t)
}

// A repeated Start exactly QR_THROTTLE after the first, once its code
// expired, pairs again: the throttle covers less than its full length.
func TestStartPairsAgainAtTheThrottle(t *testing.T) {
	any := tmock.Anything
	lc := newLifecycle(t, 2, mock.NewLaravel(t))
	lc.drv.EXPECT().Start(any, "d").Return(nil).Times(2)
	lc.drv.EXPECT().Stop(any, "d").Return(nil).Once() // the stale pairing
	lc.start(t, "d")
	lc.qr(t, "d", "code-d") // valid 20 s
	lc.advance(t, 30*time.Second)
	lc.start(t, "d")
	if strings.Contains(lc.logs.String(), "duplicate start ignored") {
		t.Fatal("a Start QR_THROTTLE after the first, with no valid code, was taken as a duplicate")
	}
	lc.quiet(t)
}

// Logout and the last instance's Close, with caches and lease store
// answering, log no warning; a session Close cannot stop is reported in
// its error.
func TestLogoutAndCloseLogNoWarning(t *testing.T) {
	ctx := context.Background()
	any := tmock.Anything
	lc := newLifecycle(t, 2, mock.NewLaravel(t))
	lc.drv.EXPECT().Start(any, "e").Return(nil).Once()
	lc.drv.EXPECT().Start(any, "f").Return(nil).Once()
	lc.drv.EXPECT().Logout(any, "e").Return(nil).Once()
	lc.drv.EXPECT().Stop(any, "f").Return(errors.New("socket stuck")).Once()
	lc.start(t, "e")
	lc.start(t, "f")
	if err := lc.m.Logout(ctx, "e"); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	lc.next(t, "e", service.KindStatus, service.StatusInactive, service.ReasonLogout)
	err := lc.m.Close(ctx, false)
	if err == nil || !strings.Contains(err.Error(), "socket stuck") {
		t.Fatalf("Close with a session the driver cannot stop = %v, want its error", err)
	}
	lc.next(t, "f", service.KindStatus, service.StatusInactive, service.ReasonStopped)
	lc.quiet(t)
}

// With a LEASE_TTL under 3 s, QR expiry is checked every LEASE_TTL/3, not
// every second: a 1.5 s lease checks every 500 ms, so a QR_EXPIRES of
// 1.5 s expires the pairing at 1.5 s, not at the next whole second.
func TestShortLeaseChecksQRExpiryOftener(t *testing.T) {
	any := tmock.Anything
	lc := newLifecycleLease(t, 3, mock.NewLaravel(t), 1500*time.Millisecond, 1500*time.Millisecond)
	lc.drv.EXPECT().Start(any, "q").Return(nil).Once()
	lc.drv.EXPECT().Stop(any, "q").Return(nil).Once()
	lc.start(t, "q")
	lc.qr(t, "q", "code-q")
	for range 30 { // 1.5 s in 50 ms steps; the lease loops renew and guard meanwhile
		lc.advance(t, 50*time.Millisecond)
	}
	lc.next(t, "q", service.KindStatus, service.StatusExpired, service.ReasonQRExpired)
	lc.quiet(t)
}
