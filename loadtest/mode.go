package loadtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"wagateway/internal/localserver"
	"wagateway/mocklaravel"
	"wagateway/service"
)

// RunMode drives the plan through a gateway in mode and measures it.
func (r *Runner) RunMode(ctx context.Context, mode service.DeliveryMode) (ModeResult, error) {
	res := ModeResult{Mode: mode, Actions: map[ActionKind]int{}, ActionErrors: map[string]int{}}
	if err := r.mockAdmin.Reset(ctx); err != nil {
		return res, fmt.Errorf("reset mock laravel: %w", err)
	}

	// The real Laravel app, fresh per mode: its own database and CPU counters.
	var appP0 ProcSample
	var appPID int
	if r.app != nil {
		dir := filepath.Join(r.opts.Dir, "laravel-"+string(mode))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return res, err
		}
		app, p0, err := startApp(dir)
		if err != nil {
			return res, err
		}
		defer func() { _ = app.Stop() }()
		r.app.use(app.URL)
		defer r.app.use("")
		appP0, appPID = p0, app.PID()
		r.log.InfoContext(ctx, "laravel app started", "mode", mode, "pid", appPID, "url", app.URL)
	}

	// A fresh store per mode: nothing of the other mode's outbox or cache.
	redisURL := r.opts.RedisURL
	dataDir := filepath.Join(r.opts.Dir, "data-"+string(mode))
	switch {
	case redisURL != "":
		if err := FlushRedis(ctx, redisURL); err != nil {
			return res, fmt.Errorf("fresh redis db for %s: %w", mode, err)
		}
	case r.opts.StartRedis:
		rs, err := StartRedis(ctx, r.opts.RedisBin, r.opts.Dir)
		if err != nil {
			return res, fmt.Errorf("redis for %s: %w", mode, err)
		}
		defer func() { _ = rs.Stop() }()
		redisURL = rs.URL
	}
	res.Store = StoreEmbedded
	if r.opts.OutboxMemory {
		res.Store = StoreMemory
	}
	var rc *redis.Client
	if redisURL != "" {
		res.Store = StoreRedis
		var err error
		if rc, err = newRedisClient(redisURL); err != nil {
			return res, err
		}
		defer rc.Close()
	}
	var err error

	gwURL, pid := r.opts.GatewayURL, r.opts.GatewayPID
	if gwURL == "" {
		port, err := localserver.FreePort()
		if err != nil {
			return res, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		store := "file:" + filepath.Join(r.opts.Dir, "wa-"+string(mode)+".db")
		env := r.settings.Env(mode, addr, r.mockURL, redisURL, store, dataDir)
		if r.opts.PprofAddr != "" {
			env = append(env, "PPROF_ADDR="+r.opts.PprofAddr)
		}
		if r.opts.OutboxMemory {
			env = append(env, "OUTBOX=memory")
		}
		gw, err := StartGateway(ctx, r.gwBin, r.opts.Dir, "gateway-"+string(mode), addr, env)
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
	wg.Go(func() { samples <- r.sample(modeCtx, pid, p0, rc, dataDir, api, live) })

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
	planEnd := Scale(r.plan.End(defaults.QRExpires), r.opts.TimeScale) + managerTick
	expected := planEnd + Scale(defaults.BatchInterval, r.opts.TimeScale)
	wg.Go(func() { r.progress(modeCtx, string(mode), origin, expected, live) })

	// The plan itself.
	lags, counts, errs := r.drive(modeCtx, api, origin, started)
	res.Actions, res.ActionErrors, res.ActionLag = counts, errs, Summarize(lags)

	// Wait for the plan's last event, then for the outbox to empty.
	if !sleepCtx(modeCtx, time.Until(origin.Add(planEnd))) {
		return res, ctx.Err()
	}
	res.Drained = r.drain(modeCtx, api)
	if appPID > 0 {
		p1, err := ReadProc(appPID)
		if err != nil {
			return res, fmt.Errorf("laravel app /proc: %w", err)
		}
		res.LaravelCPUSeconds = round3((p1.CPU - appP0.CPU).Seconds())
		res.LaravelPeakRSSMB = round3(float64(p1.PeakRSSK) / 1024)
	}
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
	res.StoreFileMB = round3(float64(live.storeFilePeak.Load()) / (1 << 20))
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
	if r.app != nil {
		// PHP's own time per request replaces the mock's.
		res.Handling, res.LaravelRoundTrip = r.app.summaries()
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
		res.FlushIntervalMS = map[service.Lane]float64{}
		for l, nominal := range r.settings.LaneIntervals() {
			res.FlushIntervalMS[l] = msOf(MeasuredInterval(rec.Flushes[l], nominal))
		}
	} else {
		res.PerSecond = perSecondFromStats(st.PerSecond, origin)
	}
	return res, nil
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
