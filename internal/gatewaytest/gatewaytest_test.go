package gatewaytest_test

import (
	"testing"
	"time"

	"wagateway/internal/gatewaytest"
)

// failRecorder records a Fatalf instead of ending the test.
type failRecorder struct {
	testing.TB
	msg string
}

func (f *failRecorder) Helper() {}
func (f *failRecorder) Fatalf(format string, args ...any) {
	f.msg = format
}

func TestWaitForReturnsOnceCondHolds(t *testing.T) {
	n := 0
	gatewaytest.WaitFor(t, 10*time.Second, "three polls", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("polled %d times, want 3", n)
	}
}

func TestWaitForFailsAfterLimit(t *testing.T) {
	f := &failRecorder{TB: t}
	calls := 0
	gatewaytest.WaitFor(f, 50*time.Millisecond, "never", func() bool { calls++; return calls > 100 || f.msg != "" })
	if f.msg == "" {
		t.Fatal("WaitFor did not fail after its limit")
	}
}

// Build runs in every e2e and browser run (their TestMain); compiling the
// gateway here too would only slow the unit tests.
