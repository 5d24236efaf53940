package gomaxprocs

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"wagateway/internal/gatewaytest"
)

// fake is a Governor whose process is a script of CPU readings.
type fake struct {
	*Governor
	procs atomic.Int64 // GOMAXPROCS as the fake runtime has it
}

func newFake(cfg Config) *fake {
	f := &fake{}
	f.procs.Store(2)
	f.Governor = &Governor{
		cfg:     cfg,
		log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		lower:   func() { f.procs.Store(1) },
		restore: func() { f.procs.Store(2) },
	}
	return f
}

// feed observes each load in turn and returns GOMAXPROCS after each.
func (f *fake) feed(loads ...float64) []int {
	var out []int
	for _, l := range loads {
		f.observe(context.Background(), l)
		out = append(out, int(f.procs.Load()))
	}
	return out
}

func TestGovernorDecisions(t *testing.T) {
	cfg := Config{Interval: time.Second, Up: 0.5, Down: 0.25, Quiet: 3}
	for _, tc := range []struct {
		name  string
		loads []float64
		want  []int
	}{
		{"a quiet spell lowers", []float64{0.1, 0.1, 0.1, 0.1}, []int{2, 2, 1, 1}},
		{"one busy interval restores", []float64{0.1, 0.1, 0.1, 0.6, 0.1}, []int{2, 2, 1, 2, 2}},
		{"the quiet spell must be unbroken", []float64{0.1, 0.1, 0.3, 0.1, 0.1, 0.1}, []int{2, 2, 2, 2, 2, 1}},
		{"between the thresholds a lowered process stays lowered", []float64{0.1, 0.1, 0.1, 0.4, 0.45, 0.3}, []int{2, 2, 1, 1, 1, 1}},
		{"between the thresholds a restored process stays restored", []float64{0.3, 0.4, 0.3, 0.3}, []int{2, 2, 2, 2}},
		{"after a restore, a whole quiet spell again", []float64{0.1, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1}, []int{2, 2, 1, 2, 2, 2, 1}},
		{"Up itself is not busy", []float64{0.1, 0.1, 0.1, 0.5}, []int{2, 2, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newFake(cfg).feed(tc.loads...)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("GOMAXPROCS after %v: %v, want %v", tc.loads, got, tc.want)
			}
		})
	}
}

// Run leaves the default in place when it ends, for the shutdown's flush.
func TestGovernorRestoresOnExit(t *testing.T) {
	f := newFake(Config{Interval: time.Millisecond, Up: 0.5, Down: 0.25, Quiet: 1})
	f.cpu = func() (time.Duration, bool) { return 0, true } // idle
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	gatewaytest.WaitFor(t, 20*time.Second, "GOMAXPROCS 1 while idle", func() bool { return f.procs.Load() == 1 })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if n := f.procs.Load(); n != 2 {
		t.Fatalf("GOMAXPROCS after Run: %d, want the default", n)
	}
}

// The real runtime: an idle process goes to one P, and busy goroutines
// bring the default back.
func TestGovernorFollowsTheProcessLoad(t *testing.T) {
	def := runtime.GOMAXPROCS(0)
	if def < 2 {
		t.Skipf("GOMAXPROCS is %d here: nothing to lower", def)
	}
	defer runtime.GOMAXPROCS(def)
	g := New(Config{Interval: 20 * time.Millisecond, Up: 0.5, Down: 0.25, Quiet: 5},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	defer func() { cancel(); <-done }()

	gatewaytest.WaitFor(t, 20*time.Second, "GOMAXPROCS 1 while idle", func() bool { return runtime.GOMAXPROCS(0) == 1 })

	var stop atomic.Bool
	defer stop.Store(true)
	for range 2 {
		go func() {
			for !stop.Load() {
			}
		}()
	}
	gatewaytest.WaitFor(t, 20*time.Second, "the default back under load", func() bool { return runtime.GOMAXPROCS(0) == def })
}

// An operator's GOMAXPROCS is kept as given; an empty one is no setting.
func TestGovernorKeepsAnOperatorsSetting(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2")
	if Enabled() {
		t.Fatal("Enabled with GOMAXPROCS set")
	}
	t.Setenv("GOMAXPROCS", "")
	if want := runtime.GOMAXPROCS(0) > 1; Enabled() != want {
		t.Fatalf("Enabled with GOMAXPROCS empty: %v, want %v", !want, want)
	}
}
