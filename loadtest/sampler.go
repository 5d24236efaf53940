package loadtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// liveState is what the sampler saw last, for the progress bar and the peaks.
type liveState struct {
	events, requests atomic.Int64
	redisPeak        atomic.Int64
	storeFilePeak    atomic.Int64 // bytes in DATA_DIR (embedded store)
	goroutinesPeak   atomic.Int64
	fdsPeak          atomic.Int64
	mu               sync.Mutex
	cpuPeak          float64
}

func (l *liveState) peakCPU() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cpuPeak
}

// sample reads the gateway's /proc, its counters and Redis memory every
// second until ctx ends, and returns the last /proc sample (taken after ctx
// ended, so the average CPU covers the whole mode).
// With rc nil (the embedded store) it measures the files in dataDir instead.
func (r *Runner) sample(ctx context.Context, pid int, prev ProcSample, rc *redis.Client, dataDir string, api *GatewayClient, live *liveState) ProcSample {
	last := prev
	poll := func(pctx context.Context) {
		if pid > 0 {
			if s, err := ReadProc(pid); err == nil {
				if pct := CPUPercent(last, s); s.At.Sub(last.At) >= 500*time.Millisecond {
					live.mu.Lock()
					live.cpuPeak = max(live.cpuPeak, pct)
					live.mu.Unlock()
				}
				last = s
			}
			if n, err := CountFDs(pid); err == nil {
				storeMax(&live.fdsPeak, int64(n))
			}
		}
		if n, err := api.Goroutines(pctx); err == nil {
			storeMax(&live.goroutinesPeak, n)
		}
		if rc != nil {
			if mem, err := RedisMemory(pctx, rc); err == nil {
				storeMax(&live.redisPeak, mem)
			}
		} else if n, err := DirSize(dataDir); err == nil {
			storeMax(&live.storeFilePeak, n)
		}
		if m, err := api.BatchMetrics(pctx); err == nil {
			live.events.Store(m.Accepted)
			live.requests.Store(m.Requests)
		}
	}
	for sleepCtx(ctx, time.Second) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		poll(pctx)
		cancel()
	}
	pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	poll(pctx)
	return last
}

// storeMax raises v to n; only the sampler writes, so load-then-store is enough.
func storeMax(v *atomic.Int64, n int64) {
	if n > v.Load() {
		v.Store(n)
	}
}

// progress draws a bar on Progress until ctx ends: elapsed of expected, the
// gateway's accepted events and requests sent.
func (r *Runner) progress(ctx context.Context, mode string, origin time.Time, expected time.Duration, live *liveState) {
	if r.opts.Progress == nil {
		return
	}
	every := 500 * time.Millisecond
	if !isTerminal(r.opts.Progress) {
		every = 10 * time.Second // a log file gets a line now and then, not a redraw
	}
	for sleepCtx(ctx, every) {
		fmt.Fprint(r.opts.Progress, ProgressLine(mode, time.Since(origin), expected, live.events.Load(), live.requests.Load(), 30)+lineEnd(r.opts.Progress))
	}
}

// ProgressLine renders one progress bar of width cells.
func ProgressLine(mode string, elapsed, expected time.Duration, events, requests int64, width int) string {
	frac := 1.0
	if expected > 0 {
		frac = min(float64(elapsed)/float64(expected), 1)
	}
	full := int(frac * float64(width))
	bar := strings.Repeat("█", full) + strings.Repeat("░", width-full)
	return fmt.Sprintf("%-6s %s %3.0f%% %5.0fs/%.0fs  events %6d  requests %6d",
		mode, bar, 100*frac, elapsed.Seconds(), expected.Seconds(), events, requests)
}
