package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"wagateway/service"
)

// drive sends the plan's actions on time through Workers goroutines.
func (r *Runner) drive(ctx context.Context, api *GatewayClient, origin time.Time, started *startedSessions) (lags []float64, counts map[ActionKind]int, errs map[string]int) {
	actions := r.plan.Actions(r.opts.TimeScale)
	counts, errs = map[ActionKind]int{}, map[string]int{}
	var mu sync.Mutex
	jobs := make(chan Action)
	var wg sync.WaitGroup
	for range r.opts.Workers {
		wg.Go(func() {
			for a := range jobs {
				lag := float64(time.Since(origin.Add(a.At))) / float64(time.Millisecond)
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := api.Do(actx, a)
				cancel()
				if err == nil && a.Kind == ActionStart {
					started.add(a.SessionID)
				}
				mu.Lock()
				counts[a.Kind]++
				lags = append(lags, lag)
				if err != nil && ctx.Err() == nil {
					errs[actionErrorKey(a.Kind, err)]++
				}
				mu.Unlock()
			}
		})
	}
	for _, a := range actions {
		if !sleepCtx(ctx, time.Until(origin.Add(a.At))) {
			break
		}
		select {
		case jobs <- a:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return lags, counts, errs
}

func actionErrorKey(k ActionKind, err error) string {
	var api *APIError
	if errors.As(err, &api) {
		return fmt.Sprintf("%s: %d", k, api.Status)
	}
	return fmt.Sprintf("%s: transport", k)
}

// drain waits until the gateway's outbox is empty and its counters stop
// moving, at most Drain.
func (r *Runner) drain(ctx context.Context, api *GatewayClient) bool {
	deadline := time.Now().Add(r.opts.Drain)
	var last service.BatchMetrics
	stable := 0
	for time.Now().Before(deadline) {
		m, err := api.BatchMetrics(ctx)
		if err == nil {
			// The outbox depth and the delivered counts, not qrBatchSize and
			// statusBatchSize: those are per-instance estimates.
			empty := m.Sent+m.Superseded+m.DeadLettered >= m.Accepted
			for _, l := range m.Lanes {
				empty = empty && l.Pending == 0
			}
			if empty && m.Accepted == last.Accepted && m.Sent == last.Sent {
				stable++
			} else {
				stable = 0
			}
			last = m
			// Two quiet polls a NORMAL interval apart: nothing is on its way.
			if stable >= 2 {
				return true
			}
		}
		if !sleepCtx(ctx, max(Scale(defaults.BatchInterval, r.opts.TimeScale)/2, 100*time.Millisecond)) {
			return false
		}
	}
	r.log.WarnContext(ctx, "outbox not drained in time", "drain", r.opts.Drain.String(), "last_metrics", last)
	return false
}

// read runs one reader until ctx ends.
func (r *Runner) read(ctx context.Context, api *GatewayClient, started *startedSessions, seed uint64) (ms []float64, errs int64) {
	rng := rand.New(rand.NewPCG(r.opts.Workload.Seed, seed))
	for ctx.Err() == nil {
		if id, ok := started.random(rng); ok {
			t0 := time.Now()
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := api.Session(rctx, id)
			cancel()
			switch {
			case ctx.Err() != nil:
				return ms, errs
			case err != nil:
				errs++
			default:
				ms = append(ms, float64(time.Since(t0))/float64(time.Millisecond))
			}
		}
		if !sleepCtx(ctx, r.opts.ReadInterval) {
			break
		}
	}
	return ms, errs
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// startedSessions are the sessions the readers may ask about.
type startedSessions struct {
	mu  sync.Mutex
	ids []string
}

func (s *startedSessions) add(id string) {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.mu.Unlock()
}

func (s *startedSessions) random(rng *rand.Rand) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) == 0 {
		return "", false
	}
	return s.ids[rng.IntN(len(s.ids))], true
}
