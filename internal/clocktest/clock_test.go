package clocktest_test

import (
	"slices"
	"testing"
	"time"

	"wagateway/internal/clocktest"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is what service.Clock asks for; the package cannot import the
// service, so the check is here.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

var _ clock = (*clocktest.Clock)(nil)

func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case at := <-ch:
		return at, true
	default:
		return time.Time{}, false
	}
}

func TestAdvanceFiresDueTimers(t *testing.T) {
	c := clocktest.New(t0)
	short, long := c.After(time.Second), c.After(3*time.Second)
	if got := c.Timers(); got != 2 {
		t.Fatalf("Timers() = %d, want 2", got)
	}
	c.Advance(999 * time.Millisecond)
	if _, ok := fired(short); ok {
		t.Fatal("a 1s timer fired after 999ms")
	}
	c.Advance(time.Millisecond)
	if at, ok := fired(short); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("1s timer: fired=%v at %v, want at %v", ok, at, t0.Add(time.Second))
	}
	if _, ok := fired(long); ok {
		t.Fatal("a 3s timer fired after 1s")
	}
	if got := c.Timers(); got != 1 {
		t.Fatalf("Timers() = %d after one fired, want 1", got)
	}
	c.Advance(5 * time.Second)
	if at, ok := fired(long); !ok || !at.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("3s timer: fired=%v at %v, want at %v", ok, at, t0.Add(6*time.Second))
	}
	if got := c.Now(); !got.Equal(t0.Add(6 * time.Second)) {
		t.Fatalf("Now() = %v, want %v", got, t0.Add(6*time.Second))
	}
}

func TestNonPositiveWaitFiresAtOnce(t *testing.T) {
	c := clocktest.New(t0)
	for _, d := range []time.Duration{0, -time.Second} {
		if at, ok := fired(c.After(d)); !ok || !at.Equal(t0) {
			t.Fatalf("After(%v): fired=%v at %v, want at %v", d, ok, at, t0)
		}
	}
	if got := c.Timers(); got != 0 {
		t.Fatalf("Timers() = %d, want 0", got)
	}
}

func TestAutoFiresAtOnceMovingNow(t *testing.T) {
	c := clocktest.NewAuto(t0)
	if at, ok := fired(c.After(2 * time.Second)); !ok || !at.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("auto After(2s): fired=%v at %v", ok, at)
	}
	if at, ok := fired(c.After(time.Second)); !ok || !at.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("auto After(1s): fired=%v at %v", ok, at)
	}
	if got := c.Now(); !got.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("Now() = %v, want %v", got, t0.Add(3*time.Second))
	}
	c.SetAuto(false)
	if _, ok := fired(c.After(time.Second)); ok {
		t.Fatal("After fired at once with auto mode off")
	}
	if want := []time.Duration{2 * time.Second, time.Second, time.Second}; !slices.Equal(c.Waits(), want) {
		t.Fatalf("Waits() = %v, want %v", c.Waits(), want)
	}
}

func TestWaitTimersBlocksUntilArmed(t *testing.T) {
	c := clocktest.New(t0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.After(time.Second)
		c.After(time.Second)
	}()
	c.WaitTimers(t, 2)
	if got := c.Timers(); got < 2 {
		t.Fatalf("WaitTimers returned with %d timers armed", got)
	}
	<-done
}
