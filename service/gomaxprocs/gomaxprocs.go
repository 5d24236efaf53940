// Package gomaxprocs runs the process on one P while it needs little CPU,
// and gives the runtime's default back as soon as it needs more.
//
// Why: each burst of work that readies a goroutine while a second P is
// idle wakes a thread for that P, which looks for work, mostly finds none
// and sleeps again: two context switches or more per burst. A gateway
// under a steady trickle of events and reads makes hundreds of bursts a
// second, and on a virtual machine those switches cost more CPU than the
// work itself (docs/performance.md, wave 10). One P caps the process at
// one core, so the Governor lowers GOMAXPROCS only after a quiet spell and
// restores the default after the first busy interval.
package gomaxprocs

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime"
	"time"
)

// Config tunes the Governor. Thresholds are in cores: CPU seconds the
// whole process used per second of an interval, kernel time included.
type Config struct {
	Interval time.Duration // between two samples of the process's CPU time
	Up       float64       // one interval above this restores the default
	Down     float64       // Quiet intervals in a row below this lower GOMAXPROCS to 1
	Quiet    int
}

// DefaultConfig: a second's sampling. Down is half of Up, so a load
// between them keeps whatever GOMAXPROCS it has and nothing flaps.
func DefaultConfig() Config {
	return Config{Interval: time.Second, Up: 0.5, Down: 0.25, Quiet: 10}
}

// Enabled reports whether a Governor may act in this process: not when
// the operator set GOMAXPROCS, whose value is then kept as given, and not
// when the default is one P already or the CPU time cannot be read. An
// empty GOMAXPROCS counts as unset, as the runtime reads it.
func Enabled() bool {
	if os.Getenv("GOMAXPROCS") != "" {
		return false
	}
	_, ok := processCPU()
	return ok && runtime.GOMAXPROCS(0) > 1
}

// Governor sets GOMAXPROCS from the process's CPU use.
type Governor struct {
	cfg Config
	log *slog.Logger

	// The process and the runtime, replaced in tests.
	cpu     func() (time.Duration, bool) // CPU time the process used so far
	lower   func()                       // GOMAXPROCS to 1
	restore func()                       // GOMAXPROCS to the runtime's default

	quiet   int  // intervals in a row below Down
	lowered bool // GOMAXPROCS is 1 by our doing
}

// New returns a Governor of this process.
func New(cfg Config, log *slog.Logger) *Governor {
	return &Governor{
		cfg:     cfg,
		log:     log,
		cpu:     processCPU,
		lower:   func() { runtime.GOMAXPROCS(1) },
		restore: runtime.SetDefaultGOMAXPROCS, // which also resumes the runtime's own updates
	}
}

// Run samples the CPU time every Interval until ctx ends, then leaves the
// default in place, so that the shutdown's flush has every core.
func (g *Governor) Run(ctx context.Context) {
	last, ok := g.cpu()
	if !ok {
		return
	}
	lastAt := time.Now()
	tick := time.NewTicker(g.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if g.lowered {
				g.restore()
				g.lowered = false
			}
			return
		case <-tick.C:
			used, ok := g.cpu()
			if !ok {
				continue
			}
			now := time.Now() // monotonic, and a tick later than lastAt
			g.observe(ctx, (used-last).Seconds()/now.Sub(lastAt).Seconds())
			last, lastAt = used, now
		}
	}
}

// observe takes one interval's CPU use, in cores.
func (g *Governor) observe(ctx context.Context, cores float64) {
	if g.lowered {
		if cores > g.cfg.Up {
			g.restore()
			g.lowered, g.quiet = false, 0
			g.log.InfoContext(ctx, "GOMAXPROCS back to the runtime's default: the process got busy",
				"gomaxprocs", runtime.GOMAXPROCS(0), "cpu_cores", round(cores))
		}
		return
	}
	if cores >= g.cfg.Down {
		g.quiet = 0
		return
	}
	if g.quiet++; g.quiet < g.cfg.Quiet {
		return
	}
	g.lower()
	g.lowered = true
	g.log.InfoContext(ctx, "GOMAXPROCS lowered to 1 while the process needs little CPU",
		"gomaxprocs", 1, "cpu_cores", round(cores))
}

// round keeps a log line's cores to the thousandth.
func round(cores float64) float64 { return math.Round(cores*1000) / 1000 }
