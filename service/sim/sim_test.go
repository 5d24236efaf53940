package sim_test

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/sim"
)

// newDriver returns a sim driver on a fake clock: its After channels fire
// only when the test advances the clock.
func newDriver(t *testing.T, cfg sim.Config) (*sim.Driver, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	cfg.Clock = clock
	d := sim.New(cfg)
	t.Cleanup(func() { d.Close() })
	return d, clock
}

// next returns the next event; the deadline only guards against a hang.
func next(t *testing.T, d *sim.Driver) service.DriverEvent {
	t.Helper()
	select {
	case ev, ok := <-d.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return service.DriverEvent{}
}

var codePattern = regexp.MustCompile(`^2@[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+$`)

func TestPairingScheduleEndsInTimeout(t *testing.T) {
	ctx := context.Background()
	d, clock := newDriver(t, sim.Config{TimeScale: 10, Seed: 1})
	if err := d.Start(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{6 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}
	seen := map[string]bool{}
	for i, validity := range want {
		ev := next(t, d)
		if ev.Type != service.EventQR || ev.SessionID != "a" {
			t.Fatalf("code %d: got %+v", i, ev)
		}
		if got := ev.ExpiresAt.Sub(ev.At); got != validity {
			t.Errorf("code %d valid for %v, want %v", i, got, validity)
		}
		if !codePattern.MatchString(ev.Code) || seen[ev.Code] {
			t.Errorf("code %d: malformed or repeated %.20s…", i, ev.Code)
		}
		seen[ev.Code] = true
		clock.WaitTimers(t, 1)
		clock.Advance(validity)
	}
	if ev := next(t, d); ev.Type != service.EventQRTimeout || ev.Reason != service.ReasonQRTimeout {
		t.Fatalf("got %+v, want qr timeout", ev)
	}
	if paired, _ := d.Paired(ctx); len(paired) != 0 {
		t.Errorf("Paired = %v, want none", paired)
	}
}

func TestScanConnectsAndIsRemembered(t *testing.T) {
	ctx := context.Background()
	d, _ := newDriver(t, sim.Config{Seed: 2})
	if err := d.Start(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, "a"); err != nil { // idempotent
		t.Fatal(err)
	}
	if ev := next(t, d); ev.Type != service.EventQR {
		t.Fatalf("got %+v", ev)
	}
	if err := d.Scan(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	ev := next(t, d)
	if ev.Type != service.EventConnected || !strings.HasSuffix(ev.JID, "@s.whatsapp.net") {
		t.Fatalf("got %+v, want connected", ev)
	}
	if err := d.Scan(ctx, "a"); service.ErrorCode(err) != service.ECONFLICT {
		t.Errorf("second scan: %v, want conflict", err)
	}
	if paired, _ := d.Paired(ctx); len(paired) != 1 || paired[0] != "a" {
		t.Errorf("Paired = %v", paired)
	}
	if err := d.Stop(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if again := next(t, d); again.Type != service.EventConnected || again.JID != ev.JID {
		t.Fatalf("restart of a paired session: got %+v, want connected as %s", again, ev.JID)
	}
	if err := d.Logout(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if paired, _ := d.Paired(ctx); len(paired) != 0 {
		t.Errorf("after logout Paired = %v", paired)
	}
}

func TestScanByItself(t *testing.T) {
	d, clock := newDriver(t, sim.Config{Seed: 3, ScanProbability: 1, ScanDelay: 30 * time.Second})
	if err := d.Start(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, d); ev.Type != service.EventQR {
		t.Fatalf("got %+v", ev)
	}
	clock.WaitTimers(t, 2) // scan + code expiry
	clock.Advance(30 * time.Second)
	if ev := next(t, d); ev.Type != service.EventConnected {
		t.Fatalf("got %+v, want connected", ev)
	}
}

func TestCloseAndDisconnect(t *testing.T) {
	tests := []struct {
		reason     string
		keepDevice bool
	}{
		{service.ReasonLoggedOut, false},
		{service.ReasonBanned, false},
		{service.ReasonNetwork, true},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			ctx := context.Background()
			d, clock := newDriver(t, sim.Config{Seed: 4, TimeScale: 2})
			d.Start(ctx, "a")
			next(t, d)
			d.Scan(ctx, "a")
			next(t, d)

			if err := d.Disconnect(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if ev := next(t, d); ev.Type != service.EventReconnecting {
				t.Fatalf("got %+v, want reconnecting", ev)
			}
			clock.WaitTimers(t, 1)
			clock.Advance(time.Second) // 2 s scaled by 2
			if ev := next(t, d); ev.Type != service.EventConnected {
				t.Fatalf("got %+v, want connected again", ev)
			}

			if err := d.CloseSession(ctx, "a", tt.reason); err != nil {
				t.Fatal(err)
			}
			if ev := next(t, d); ev.Type != service.EventClosed || ev.Reason != tt.reason {
				t.Fatalf("got %+v, want closed %s", ev, tt.reason)
			}
			paired, _ := d.Paired(ctx)
			if (len(paired) == 1) != tt.keepDevice {
				t.Errorf("Paired = %v, keep device %v", paired, tt.keepDevice)
			}
		})
	}
}

func TestCommandsOnUnknownSession(t *testing.T) {
	ctx := context.Background()
	d, _ := newDriver(t, sim.Config{})
	for name, err := range map[string]error{
		"scan":       d.Scan(ctx, "nope"),
		"close":      d.CloseSession(ctx, "nope", service.ReasonLoggedOut),
		"disconnect": d.Disconnect(ctx, "nope"),
	} {
		if service.ErrorCode(err) != service.ENOTFOUND {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	if _, err := d.PairPhone(ctx, "nope", "5511999990000"); service.ErrorCode(err) != service.ENOTFOUND {
		t.Errorf("pair phone: %v", err)
	}
	if err := d.Start(ctx, "bad id!"); service.ErrorCode(err) != service.EINVALID {
		t.Errorf("start bad id: %v", err)
	}
}

func TestPairPhone(t *testing.T) {
	ctx := context.Background()
	d, _ := newDriver(t, sim.Config{Seed: 5})
	d.Start(ctx, "a")
	code, err := d.PairPhone(ctx, "a", "5511999990000")
	if err != nil || len(code) != 8 {
		t.Fatalf("PairPhone = %q, %v", code, err)
	}
}

func TestSeedMakesCodesRepeatable(t *testing.T) {
	first := func() string {
		d, _ := newDriver(t, sim.Config{Seed: 42})
		d.Start(context.Background(), "a")
		return next(t, d).Code
	}
	if a, b := first(), first(); a != b {
		t.Error("same seed gave different codes")
	}
}

// A full buffer blocks the producer, but never Stop or Close.
func TestFullBufferDoesNotBlockStopOrClose(t *testing.T) {
	ctx := context.Background()
	d, _ := newDriver(t, sim.Config{BufferSize: 1})
	for _, id := range []string{"a", "b", "c"} {
		d.Start(ctx, id)
	}
	if err := d.Stop(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range d.Events() {
		n++
	}
	if n != 1 {
		t.Errorf("drained %d events, want the 1 buffered", n)
	}
	if err := d.Start(ctx, "d"); service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Errorf("Start after Close: %v", err)
	}
}

// Simulated phones cost no goroutine each on the system clock (10,000 of
// them cost 40 MB of stacks when they did), and still follow the schedule.
func TestPhonesOnTheSystemClockNeedNoGoroutineEach(t *testing.T) {
	const phones = 500
	d := sim.New(sim.Config{TimeScale: 100, Seed: 9, BufferSize: 8 * phones}) // 600 ms, then 200 ms a code
	t.Cleanup(func() { d.Close() })
	before := runtime.NumGoroutine()
	ctx := context.Background()
	for i := range phones {
		if err := d.Start(ctx, fmt.Sprintf("p%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	codes, timeouts := map[string]int{}, 0
	fewest, sampled := 0, false
	deadline := time.After(30 * time.Second) // hang guard only
	for timeouts < phones {
		select {
		case ev := <-d.Events():
			switch ev.Type {
			case service.EventQR:
				codes[ev.SessionID]++
			case service.EventQRTimeout:
				timeouts++
			}
		case <-deadline:
			t.Fatalf("%d of %d phones timed out", timeouts, phones)
		}
		// After each event, once every phone shows a code: only
		// short-lived goroutines (a timer firing) may run besides the
		// phones, so the fewest seen is what the phones themselves cost.
		// Sampled per event, not in a pause between events: on a busy
		// machine 2,500 events a second leave no pause. The count may
		// drop below before (an earlier test's goroutine ending), so
		// sampled, not the sign, says whether a sample was taken.
		if len(codes) == phones {
			if n := runtime.NumGoroutine() - before; !sampled || n < fewest {
				fewest, sampled = n, true
			}
		}
	}
	for id, n := range codes {
		if n != 6 {
			t.Fatalf("%s showed %d codes, want 6", id, n)
		}
	}
	if !sampled {
		t.Fatal("never saw every phone show a code")
	}
	if fewest >= phones/5 {
		t.Errorf("at least %d more goroutines with %d phones pairing: one per phone is back", fewest, phones)
	}
}

// With MarkRuns, every Start sends EventStarted before anything else of
// the run, also a Start that finds the phone running (the manager had let
// it go and starts a run on it).
func TestMarkRunsOpensEveryRun(t *testing.T) {
	ctx := context.Background()
	d, _ := newDriver(t, sim.Config{TimeScale: 10, Seed: 1, MarkRuns: true})
	if !d.MarksRuns() {
		t.Fatal("MarksRuns() = false with MarkRuns set")
	}
	if err := d.Start(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, d); ev.Type != service.EventStarted || ev.SessionID != "a" {
		t.Fatalf("first event %+v, want started", ev)
	}
	if ev := next(t, d); ev.Type != service.EventQR {
		t.Fatalf("second event %+v, want the first code", ev)
	}
	if err := d.Start(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, d); ev.Type != service.EventStarted || ev.SessionID != "a" {
		t.Fatalf("after a second Start: %+v, want started", ev)
	}
}
