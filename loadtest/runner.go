package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"wagateway/mocklaravel"
	"wagateway/service"
)

// Options configure a run.
type Options struct {
	Workload  WorkloadConfig
	TimeScale float64 // ≥ 1 compresses every interval and the workload alike
	BatchSize int
	Modes     []string // service.DeliveryModeDirect, service.DeliveryModeBatch

	LaravelURL string // a running mocklaravel; "" starts one in-process (and measures delivery delays)
	GatewayURL string // a running gateway (its own DELIVERY_MODE); "" starts children
	GatewayPID int    // with GatewayURL: read its CPU and RSS from /proc
	GatewayBin string // a prebuilt gateway; "" builds ./service/cmd/gateway
	RedisURL   string // a Redis whose database is flushed before each mode; "" starts redis-server
	RedisBin   string

	Workers      int           // concurrent plan requests
	Readers      int           // goroutines reading GET /sessions/{id}
	ReadInterval time.Duration // pause between one reader's reads
	Drain        time.Duration // longest wait for the outbox to empty after the plan ends (real time)

	Dir      string // work dir for binaries and logs
	Logger   *slog.Logger
	Progress io.Writer // progress bar; nil for none
}

// managerTick is the gateway manager's QR-expiry tick; it is not scaled,
// so an expiry may come up to this late (in real time).
const managerTick = time.Second

// Runner runs the same plan once per mode.
type Runner struct {
	opts     Options
	plan     Plan
	settings Settings
	log      *slog.Logger

	mock      *mocklaravel.Server // nil with an external mock
	recorder  *Recorder
	mockURL   string
	mockAdmin *mocklaravel.Client
	gwBin     string
}

// NewRunner checks opts and prepares the plan.
func NewRunner(opts Options) (*Runner, error) {
	if err := opts.Workload.Validate(); err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	if opts.TimeScale < 1 {
		return nil, fmt.Errorf("time scale must be ≥ 1, got %v", opts.TimeScale)
	}
	for _, m := range opts.Modes {
		if m != service.DeliveryModeDirect && m != service.DeliveryModeBatch {
			return nil, fmt.Errorf("unknown mode %q", m)
		}
	}
	for _, u := range []string{opts.LaravelURL, opts.GatewayURL, opts.RedisURL} {
		if err := requireLoopback(u); err != nil {
			return nil, err
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Workers = max(opts.Workers, 1)
	return &Runner{
		opts:     opts,
		plan:     NewPlan(opts.Workload),
		settings: NewSettings(opts.TimeScale, opts.BatchSize),
		log:      opts.Logger,
	}, nil
}

// Plan is the seeded workload of the run.
func (r *Runner) Plan() Plan { return r.plan }

// Settings are the gateway settings of the run.
func (r *Runner) Settings() Settings { return r.settings }

// Setup starts the in-process mock (unless external) and builds the gateway.
func (r *Runner) Setup(ctx context.Context) (cleanup func(), err error) {
	var closers []func()
	cleanup = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	if r.opts.LaravelURL == "" {
		mock, err := mocklaravel.New(mocklaravel.Config{Logger: r.log.With("component", "mocklaravel")})
		if err != nil {
			return nil, fmt.Errorf("mock laravel: %w", err)
		}
		closers = append(closers, func() { _ = mock.Close() })
		r.mock = mock
		r.recorder = NewRecorder(mock, nil)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("mock laravel listen: %w", err)
		}
		srv := &http.Server{Handler: r.recorder, ReadHeaderTimeout: 10 * time.Second}
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = srv.Serve(ln)
		}()
		closers = append(closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			<-served
		})
		r.mockURL = "http://" + ln.Addr().String()
	} else {
		r.mockURL = r.opts.LaravelURL
	}
	r.mockAdmin = mocklaravel.NewClient(r.mockURL)
	if err := r.mockAdmin.Health(ctx); err != nil {
		return nil, fmt.Errorf("mock laravel at %s: %w", r.mockURL, err)
	}
	if r.opts.GatewayURL == "" {
		r.gwBin = r.opts.GatewayBin
		if r.gwBin == "" {
			root, err := ModuleRoot()
			if err != nil {
				return nil, err
			}
			r.log.InfoContext(ctx, "building the gateway", "dir", r.opts.Dir)
			if r.gwBin, err = BuildGateway(ctx, root, r.opts.Dir); err != nil {
				return nil, err
			}
		}
	}
	return cleanup, nil
}

// RunMode drives the plan through a gateway in mode and measures it.
func (r *Runner) RunMode(ctx context.Context, mode string) (ModeResult, error) {
	res := ModeResult{Mode: mode, Actions: map[ActionKind]int{}, ActionErrors: map[string]int{}}
	if err := r.mockAdmin.Reset(ctx); err != nil {
		return res, fmt.Errorf("reset mock laravel: %w", err)
	}

	// A fresh Redis per mode: nothing of the other mode's outbox or cache.
	redisURL := r.opts.RedisURL
	if redisURL == "" {
		rs, err := StartRedis(ctx, r.opts.RedisBin, r.opts.Dir)
		if err != nil {
			return res, fmt.Errorf("redis for %s: %w", mode, err)
		}
		defer func() { _ = rs.Stop() }()
		redisURL = rs.URL
	} else if err := FlushRedis(ctx, redisURL); err != nil {
		return res, fmt.Errorf("fresh redis db for %s: %w", mode, err)
	}
	rc, err := newRedisClient(redisURL)
	if err != nil {
		return res, err
	}
	defer rc.Close()

	gwURL, pid := r.opts.GatewayURL, r.opts.GatewayPID
	if gwURL == "" {
		port, err := freePort()
		if err != nil {
			return res, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		store := "file:" + filepath.Join(r.opts.Dir, "wa-"+mode+".db")
		gw, err := StartGateway(ctx, r.gwBin, r.opts.Dir, "gateway-"+mode, addr,
			r.settings.Env(mode, addr, r.mockURL, redisURL, store))
		if err != nil {
			return res, err
		}
		defer func() {
			if err := gw.Stop(20 * time.Second); err != nil {
				r.log.Warn("stop gateway", "mode", mode, "err", err)
			}
		}()
		gwURL, pid = gw.URL, gw.Pid
		r.log.InfoContext(ctx, "gateway started", "mode", mode, "pid", pid, "log", gw.LogPath)
	}
	api := NewGatewayClient(gwURL, r.opts.Workers+r.opts.Readers+2)
	defer api.Close()
	if r.opts.GatewayURL != "" {
		m, err := api.BatchMetrics(ctx)
		if err != nil {
			return res, fmt.Errorf("gateway metrics: %w", err)
		}
		if m.Mode != mode {
			return res, fmt.Errorf("the gateway at %s runs DELIVERY_MODE=%s, not %s", gwURL, m.Mode, mode)
		}
	}

	origin := time.Now()
	res.Origin = origin
	if r.recorder != nil {
		r.recorder.Reset(origin)
	}
	// Every helper below (sampler, readers, progress) runs in wg until
	// stopHelpers, which every return path reaches.
	modeCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stopped := false
	stopHelpers := func() {
		if !stopped {
			stopped = true
			cancel()
			wg.Wait()
		}
	}
	defer stopHelpers()

	// Sampler: CPU and memory of the gateway, Redis memory, gateway counters.
	live := &liveState{}
	var p0 ProcSample
	if pid > 0 {
		if p0, err = ReadProc(pid); err != nil {
			r.log.Warn("no /proc for the gateway: CPU and RSS not measured", "err", err)
			pid = 0
		}
	}
	samples := make(chan ProcSample, 1)
	wg.Go(func() { samples <- r.sample(modeCtx, pid, p0, rc, api, live) })

	// Readers: GET /sessions/{id} of started sessions, during the whole run.
	started := &startedSessions{}
	var readMu sync.Mutex
	var reads []float64
	var readErrors atomic.Int64
	for i := range r.opts.Readers {
		wg.Go(func() {
			mine, errs := r.read(modeCtx, api, started, uint64(i))
			readMu.Lock()
			reads = append(reads, mine...)
			readMu.Unlock()
			readErrors.Add(errs)
		})
	}

	// Progress: one line, rewritten in place.
	planEnd := Scale(r.plan.End(qrExpires), r.opts.TimeScale) + managerTick
	expected := planEnd + Scale(service.DefaultBatchInterval, r.opts.TimeScale)
	wg.Go(func() { r.progress(modeCtx, mode, origin, expected, live) })

	// The plan itself.
	lags, counts, errs := r.drive(modeCtx, api, origin, started)
	res.Actions, res.ActionErrors, res.ActionLag = counts, errs, Summarize(lags)

	// Wait for the plan's last event, then for the outbox to empty.
	if !sleepCtx(modeCtx, time.Until(origin.Add(planEnd))) {
		return res, ctx.Err()
	}
	res.Drained = r.drain(modeCtx, api)
	end := time.Now()
	res.Duration = round3(end.Sub(origin).Seconds())

	stopHelpers()
	final := <-samples
	if r.opts.Progress != nil {
		fmt.Fprintln(r.opts.Progress)
	}
	if pid > 0 {
		res.GatewayCPUPercent = CPUPercent(p0, final)
		res.GatewayCPUPeakPercent = live.peakCPU()
		res.GatewayPeakRSSMB = round3(float64(final.PeakRSSK) / 1024)
	}
	res.RedisUsedMemoryMB = round3(float64(live.redisPeak.Load()) / (1 << 20))
	res.GatewayGoroutinesPeak, res.GatewayFDsPeak = live.goroutinesPeak.Load(), live.fdsPeak.Load()
	res.Reads = Summarize(reads)
	res.ReadErrors = readErrors.Load()

	// Counters: a fresh context, the mode's was cancelled to stop the helpers.
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	defer ccancel()
	m, err := api.BatchMetrics(cctx)
	if err != nil {
		return res, fmt.Errorf("gateway metrics: %w", err)
	}
	res.Events, res.Sent, res.Superseded = m.Accepted, m.Sent, m.Superseded
	res.DeadLettered, res.Retries, res.Failed = m.DeadLettered, m.Retries, m.Failed
	st, err := r.mockAdmin.Stats(cctx)
	if err != nil {
		return res, fmt.Errorf("mock laravel stats: %w", err)
	}
	res.LaravelRequestsAll = st.Requests
	res.Handling = map[string]Summary{}
	for _, key := range []string{mocklaravel.KeyQRBatch, mocklaravel.KeyStatusBatch, mocklaravel.KeyQR, mocklaravel.KeyStatus} {
		e, ok := st.Endpoints[key]
		if !ok || e.Requests == 0 {
			continue
		}
		res.LaravelRequests += e.Requests
		res.LaravelItems += e.Items
		l := e.LatencyMS
		res.Handling[key] = Summary{Count: int(e.Requests), P50: l.P50, P95: l.P95, P99: l.P99, Max: l.Max, Mean: l.Mean}
	}
	if r.recorder != nil {
		rec := r.recorder.Snapshot()
		res.PerSecond = rec.PerSecond
		res.ItemsStored = len(rec.Events)
		res.Slowest = rec.Slowest
		res.Delivery = map[service.Lane]Summary{}
		for _, l := range service.Lanes {
			res.Delivery[l] = Summarize(rec.Delays[l])
		}
		res.LowerBound = LowerBound(rec.Events, origin, r.settings.LaneIntervals(), r.settings.BatchSize)
	} else {
		res.PerSecond = perSecondFromStats(st.PerSecond, origin)
	}
	return res, nil
}

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
		if !sleepCtx(ctx, max(Scale(service.DefaultBatchInterval, r.opts.TimeScale)/2, 100*time.Millisecond)) {
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

// liveState is what the sampler saw last, for the progress bar and the peaks.
type liveState struct {
	events, requests atomic.Int64
	redisPeak        atomic.Int64
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

// perSecondFromStats turns the mock's per-second window into counts since origin.
func perSecondFromStats(secs []mocklaravel.SecondStats, origin time.Time) []int {
	var out []int
	for _, s := range secs {
		i := int(s.T - origin.Unix())
		if i < 0 {
			continue
		}
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i] += int(s.Requests)
	}
	return out
}

// requireLoopback refuses a URL whose host is not a loopback address: load
// only ever goes to this machine.
func requireLoopback(raw string) error {
	if raw == "" {
		return nil
	}
	host, err := urlHost(raw)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: the load test only sends load to this machine", raw)
}
