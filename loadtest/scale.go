package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/localserver"
	"wagateway/mocklaravel"
)

// ScaleOptions configure one scale-out run (make loadtest-scale): Instances
// gateway processes on one local redis-server, Sessions started through
// random instances, most of them scanned.
type ScaleOptions struct {
	Instances int
	Workload  WorkloadConfig // only Start and Scan are used: no closes, no reloads
	TimeScale float64        // compresses the gateway's intervals and the plan
	LeaseTTL  time.Duration  // LEASE_TTL, never scaled
	Steady    time.Duration  // after every session settled: the window CPU is measured over
	Settle    time.Duration  // longest wait for every session to settle (real time)
	Kill      bool           // kill -9 the busiest instance after the steady window and time the takeover
	Term      bool           // then SIGTERM the busiest live instance and time the handover
	Workers   int            // concurrent plan requests
	AOF       bool           // appendonly yes (appendfsync everysec) on the redis-server

	GatewayBin, RedisBin, Dir string
	Source                    string // SourceVersion of the gateway built
	Logger                    *slog.Logger
	Progress                  io.Writer
}

// InstanceUsage is one gateway process's share and cost.
type InstanceUsage struct {
	ID         string  `json:"id"`
	Sessions   int     `json:"sessions"`       // active sessions it runs when settled
	RampCPU    float64 `json:"ramp_cpu_pct"`   // % of one core, from start until every session settled
	RampCPUSec float64 `json:"ramp_cpu_s"`     // CPU seconds from start until every session settled
	SteadyCPU  float64 `json:"steady_cpu_pct"` // % of one core over the steady window
	PeakRSSMB  float64 `json:"peak_rss_mb"`    // VmHWM
	RSSMB      float64 `json:"rss_mb"`         // VmRSS at the end of the steady window
	Goroutines int64   `json:"goroutines"`     // at the end of the steady window
}

// ScaleReport is what one run measured.
type ScaleReport struct {
	Command   string          `json:"command"`
	Source    string          `json:"source"`
	Instances int             `json:"instances"`
	Counts    PlanCounts      `json:"plan"`
	Settings  Settings        `json:"settings"`
	LeaseTTL  string          `json:"lease_ttl"`
	Usage     []InstanceUsage `json:"usage"`

	RampSeconds   float64        `json:"ramp_s"`   // plan start → last action sent
	SettleSeconds float64        `json:"settle_s"` // plan start → every session settled
	ActionErrors  map[string]int `json:"action_errors"`
	LagP99MS      float64        `json:"lag_p99_ms"` // load generator lag behind the plan

	RedisPeakMB    float64 `json:"redis_used_memory_peak_mb"`
	RedisEndMB     float64 `json:"redis_used_memory_end_mb"`
	RedisSteadyCPU float64 `json:"redis_steady_cpu_pct"`
	RedisRampCPU   float64 `json:"redis_ramp_cpu_pct"`
	RedisKeys      int64   `json:"redis_keys"`

	OwnershipRounds int      `json:"ownership_rounds"`
	Doubles         []string `json:"doubles"`
	LaravelDiff     int      `json:"laravel_diff"`
	LaravelExamples []string `json:"laravel_examples,omitempty"`
	GatewayDiff     int      `json:"gateway_diff"` // cluster-wide GET /sessions vs the plan's end states
	GatewayExamples []string `json:"gateway_examples,omitempty"`
	ListSeconds     float64  `json:"cluster_list_s"` // one GET /sessions (whole cluster)
	ListCount       int      `json:"cluster_list_count"`
	ListUnknown     int      `json:"cluster_list_unknown"` // listed with no state: ended elsewhere, cache expired

	Killed          string  `json:"killed,omitempty"`
	KilledActive    int     `json:"killed_active,omitempty"`
	TakeoverSeconds float64 `json:"takeover_s,omitempty"`

	Termed               string   `json:"termed,omitempty"`
	TermedActive         int      `json:"termed_active,omitempty"`
	TermExitSeconds      float64  `json:"term_exit_s,omitempty"` // SIGTERM → process exit
	HandoverSeconds      float64  `json:"handover_s,omitempty"`  // SIGTERM → every session on another instance
	HandoverFlaps        int      `json:"handover_flaps"`        // of them, Laravel showed not active meanwhile
	HandoverFlapExamples []string `json:"handover_flap_examples,omitempty"`

	LoadAvgMax  float64  `json:"loadavg1_max"`
	LoadAvgMean float64  `json:"loadavg1_mean"`
	Uptime      string   `json:"uptime_at_end"`
	Passed      bool     `json:"passed"`
	Failures    []string `json:"failures,omitempty"`
}

type scaleFleet struct {
	opts    ScaleOptions
	log     *slog.Logger
	redis   *RedisServer
	rc      *goredis.Client
	mock    *mocklaravel.Server
	mockURL string
	gws     []*GatewayProcess
	ids     []string
	apis    []*GatewayClient
	alive   []bool
	mu      sync.Mutex
}

// RunScale runs one scale-out measurement. An error means the run could
// not be made; a run that lost or double-ran a session returns a report
// with Passed false.
func RunScale(ctx context.Context, opts ScaleOptions, command string) (ScaleReport, error) {
	rep := ScaleReport{Command: command, Source: opts.Source, Instances: opts.Instances, LeaseTTL: opts.LeaseTTL.String()}
	wl := opts.Workload
	wl.CloseShare, wl.RestartShare = 0, 0
	if err := wl.Validate(); err != nil {
		return rep, err
	}
	if opts.Instances < 1 {
		return rep, errors.New("instances must be ≥ 1")
	}
	plan := NewPlan(wl)
	rep.Counts = plan.Counts()
	settings := NewSettings(opts.TimeScale, defaults.BatchSize)
	rep.Settings = settings
	want := ExpectedStates(plan)
	f := &scaleFleet{opts: opts, log: opts.Logger}
	defer f.close()
	if err := f.start(ctx, settings); err != nil {
		return rep, err
	}
	samp := newFleetSampler(f)
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() { defer close(sampled); samp.run(sctx) }()
	defer func() { stopSampling(); <-sampled }()

	// The plan: every request to a random instance, as a load balancer would.
	origin := time.Now()
	f.progress("plan: %d sessions over %s through %d instances", len(plan.Sessions), Scale(wl.Ramp, opts.TimeScale), opts.Instances)
	lags, errs := f.drive(ctx, plan.Actions(opts.TimeScale), origin)
	rep.RampSeconds = round3(time.Since(origin).Seconds())
	rep.ActionErrors = errs
	slices.Sort(lags)
	rep.LagP99MS = round3(Percentile(lags, 99))

	// Settled: every scanned session active on exactly one instance, the
	// others expired and running nowhere.
	f.progress("plan sent in %.0fs; waiting for every session to settle", rep.RampSeconds)
	rounds, doubles, settleErr := f.waitSettled(ctx, want, opts.Settle)
	rep.OwnershipRounds, rep.Doubles = rounds, doubles
	rep.SettleSeconds = round3(time.Since(origin).Seconds())
	if settleErr != nil {
		rep.Failures = append(rep.Failures, settleErr.Error())
	}
	rampEnd := samp.mark()

	// Laravel must hold the end state of every session.
	n, ex := f.waitLaravel(ctx, want, opts.Settle)
	rep.LaravelDiff, rep.LaravelExamples = n, ex
	if n > 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("Laravel differs for %d sessions, e.g. %v", n, ex))
	}
	// The gateway's own cluster-wide view, through one instance.
	t0 := time.Now()
	list, err := f.clusterList(ctx)
	rep.ListSeconds = round3(time.Since(t0).Seconds())
	if err != nil {
		rep.Failures = append(rep.Failures, "GET /sessions (cluster): "+err.Error())
	} else {
		rep.ListCount = len(list)
		got, known := map[string]string{}, map[string]string{}
		for _, s := range list {
			got[s.SessionID] = s.Status
			if s.Status != "" {
				known[s.SessionID] = want[s.SessionID]
			} else {
				rep.ListUnknown++
			}
		}
		// A session that ended elsewhere shows only what the cache still
		// holds (CACHE_TTL_STATUS); an empty state is "unknown", not wrong.
		rep.GatewayDiff, rep.GatewayExamples = StateDiff(known, got, 5)
		if missing := len(want) - len(list); missing > 0 {
			rep.Failures = append(rep.Failures, fmt.Sprintf("GET /sessions lists %d sessions, want %d", len(list), len(want)))
		}
		if rep.GatewayDiff > 0 {
			rep.Failures = append(rep.Failures, fmt.Sprintf("GET /sessions differs from the plan's end state for %d sessions, e.g. %v", rep.GatewayDiff, rep.GatewayExamples))
		}
	}

	// Steady: every session settled, nothing but renewals, heartbeats,
	// orphan scans and the phones idling.
	if settleErr != nil {
		f.progress("NOT settled after %.0fs; steady window %s", rep.SettleSeconds, opts.Steady)
	} else {
		f.progress("settled after %.0fs; steady window %s", rep.SettleSeconds, opts.Steady)
	}
	steadyStart := samp.mark()
	sleepCtx(ctx, opts.Steady)
	steadyEnd := samp.mark()
	own, _ := f.round(ctx)
	rep.Usage = f.usage(ctx, samp, steadyStart, rampEnd, steadyEnd, own)
	rep.RedisRampCPU = samp.redisCPU(samp.first(), rampEnd)
	rep.RedisSteadyCPU = samp.redisCPU(steadyStart, steadyEnd)

	if opts.Kill && opts.Instances > 1 {
		if err := f.killAndMeasure(ctx, &rep, want); err != nil {
			rep.Failures = append(rep.Failures, err.Error())
		}
	}
	if opts.Term && len(f.live()) > 1 {
		if err := f.termAndMeasure(ctx, &rep, want); err != nil {
			rep.Failures = append(rep.Failures, err.Error())
		}
	}
	if info, err := f.rc.Info(ctx, "memory").Result(); err == nil {
		if v, err := ParseInfoInt(info, "used_memory"); err == nil {
			rep.RedisEndMB = mb(v)
		}
	}
	rep.RedisKeys, _ = f.rc.DBSize(ctx).Result()
	rep.RedisPeakMB = mb(samp.redisPeak.Load())
	rep.LoadAvgMax, rep.LoadAvgMean = samp.loadAvg()
	rep.Uptime = uptime()
	if len(rep.Doubles) > 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d double ownerships, e.g. %v", len(rep.Doubles), rep.Doubles[:min(5, len(rep.Doubles))]))
	}
	rep.Passed = len(rep.Failures) == 0
	return rep, nil
}

func (f *scaleFleet) progress(format string, args ...any) {
	if f.opts.Progress != nil {
		fmt.Fprintf(f.opts.Progress, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

// start runs Redis, the mock Laravel and the gateways.
func (f *scaleFleet) start(ctx context.Context, settings Settings) error {
	rs, err := startScaleRedis(ctx, f.opts.RedisBin, f.opts.Dir, f.opts.AOF)
	if err != nil {
		return err
	}
	f.redis = rs
	if f.rc, err = newRedisClient(rs.URL); err != nil {
		return err
	}
	if f.mock, err = mocklaravel.New(mocklaravel.Config{Logger: f.log}); err != nil {
		return fmt.Errorf("mock laravel: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: f.mock, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	f.mockURL = "http://" + ln.Addr().String()

	for i := 1; i <= f.opts.Instances; i++ {
		port, err := localserver.FreePort()
		if err != nil {
			return err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		id := fmt.Sprintf("gw-%d", i)
		env := settings.Env("batch", addr, f.mockURL, rs.URL, "file:"+filepath.Join(f.opts.Dir, id+"-wa.db"), filepath.Join(f.opts.Dir, id+"-data"))
		env = append(env, "INSTANCE_ID="+id, "ADVERTISE_URL=http://"+addr, "LEASE_TTL="+f.opts.LeaseTTL.String())
		g, err := StartGateway(ctx, f.opts.GatewayBin, f.opts.Dir, id, addr, env)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		f.gws = append(f.gws, g)
		f.ids = append(f.ids, id)
		f.apis = append(f.apis, NewGatewayClient(g.URL, max(f.opts.Workers, 8)))
		f.alive = append(f.alive, true)
	}
	return nil
}

func (f *scaleFleet) close() {
	for i, g := range f.gws {
		if f.alive[i] {
			_ = g.Stop(30 * time.Second)
		}
	}
	if f.mock != nil {
		_ = f.mock.Close()
	}
	if f.rc != nil {
		_ = f.rc.Close()
	}
	_ = f.redis.Stop()
}

// live returns the indexes of the instances still running.
func (f *scaleFleet) live() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for i, ok := range f.alive {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// drive sends every action to a random live instance on time.
func (f *scaleFleet) drive(ctx context.Context, actions []Action, origin time.Time) ([]float64, map[string]int) {
	var (
		mu   sync.Mutex
		lags = make([]float64, 0, len(actions))
		errs = map[string]int{}
		wg   sync.WaitGroup
	)
	jobs := make(chan Action)
	for w := range max(f.opts.Workers, 1) {
		rng := rand.New(rand.NewPCG(f.opts.Workload.Seed, uint64(w)))
		wg.Go(func() {
			for a := range jobs {
				lag := float64(time.Since(origin.Add(a.At))) / float64(time.Millisecond)
				live := f.live()
				api := f.apis[live[rng.IntN(len(live))]]
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := api.Do(actx, a)
				cancel()
				mu.Lock()
				lags = append(lags, lag)
				if err != nil && ctx.Err() == nil {
					errs[actionErrorKey(a.Kind, err)]++
					if errs[actionErrorKey(a.Kind, err)] <= 3 {
						f.log.Warn("plan request failed", "kind", a.Kind, "session_id", a.SessionID, "err", err)
					}
				}
				mu.Unlock()
			}
		})
	}
	for i, a := range actions {
		if !sleepCtx(ctx, time.Until(origin.Add(a.At))) {
			break
		}
		select {
		case jobs <- a:
		case <-ctx.Done():
		}
		if i > 0 && i%(max(len(actions)/10, 1)) == 0 {
			f.progress("plan %d%% (%d of %d requests)", 100*i/len(actions), i, len(actions))
		}
	}
	close(jobs)
	wg.Wait()
	return lags, errs
}

// round asks every live instance for its local sessions at once.
func (f *scaleFleet) round(ctx context.Context) (Ownership, error) {
	lists := map[string][]ListedSession{}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
	)
	for _, i := range f.live() {
		wg.Go(func() {
			var res struct {
				Sessions []ListedSession `json:"sessions"`
			}
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			err := getList(rctx, f.apis[i], "/sessions?scope=local", &res)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("%s: %w", f.ids[i], err)
				}
				return
			}
			lists[f.ids[i]] = res.Sessions
		})
	}
	wg.Wait()
	return CheckOwnership(lists), first
}

// waitSettled polls the instances until every session ends as want says,
// at most limit; it also collects every double ownership seen.
func (f *scaleFleet) waitSettled(ctx context.Context, want map[string]string, limit time.Duration) (rounds int, doubles []string, err error) {
	deadline := time.Now().Add(limit)
	last := ""
	for {
		o, rerr := f.round(ctx)
		if rerr == nil {
			rounds++
			doubles = append(doubles, o.Doubles...)
			n, ex := o.Unsettled(want, 3)
			if n == 0 {
				return rounds, doubles, nil
			}
			last = fmt.Sprintf("%d sessions not settled, e.g. %v", n, ex)
		} else {
			last = rerr.Error()
		}
		if rounds%6 == 0 || rerr != nil {
			f.progress("%s", last)
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, 5*time.Second) {
			return rounds, doubles, fmt.Errorf("not settled within %s: %s", limit, last)
		}
	}
}

// waitLaravel waits until the mock holds want for every session, at most limit.
func (f *scaleFleet) waitLaravel(ctx context.Context, want map[string]string, limit time.Duration) (int, []string) {
	deadline := time.Now().Add(limit)
	for {
		got := map[string]string{}
		accounts, err := f.mock.Accounts(ctx)
		if err == nil {
			for _, a := range accounts {
				got[a.SessionID] = a.EstadoQR
			}
		}
		n, ex := StateDiff(want, got, 5)
		if n == 0 || time.Now().After(deadline) || !sleepCtx(ctx, 2*time.Second) {
			return n, ex
		}
		f.progress("Laravel differs for %d sessions, e.g. %v", n, ex)
	}
}

// clusterList is GET /sessions through the first live instance.
func (f *scaleFleet) clusterList(ctx context.Context) ([]ListedSession, error) {
	var res struct {
		Sessions []ListedSession `json:"sessions"`
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	err := getList(lctx, f.apis[f.live()[0]], "/sessions", &res)
	return res.Sessions, err
}

// getList is a GET of a session list, which at 100,000 sessions is far
// larger than GatewayClient.do reads.
func getList(ctx context.Context, api *GatewayClient, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.base+path, nil)
	if err != nil {
		return err
	}
	client := *api.http
	client.Timeout = 0 // ctx bounds it
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return &APIError{Status: resp.StatusCode, Body: string(b)}
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// usage is each live instance's share and cost.
func (f *scaleFleet) usage(ctx context.Context, samp *fleetSampler, steadyStart, rampEnd, steadyEnd int, own Ownership) []InstanceUsage {
	var out []InstanceUsage
	for _, i := range f.live() {
		u := InstanceUsage{ID: f.ids[i], Sessions: own.PerInst[f.ids[i]]}
		u.RampCPU = samp.cpu(i, samp.first(), rampEnd)
		u.RampCPUSec = samp.cpuSeconds(i, samp.first(), rampEnd)
		u.SteadyCPU = samp.cpu(i, steadyStart, steadyEnd)
		if s, err := ReadProc(f.gws[i].Pid); err == nil {
			u.PeakRSSMB, u.RSSMB = round3(float64(s.PeakRSSK)/1024), round3(float64(s.RSSKB)/1024)
		}
		u.Goroutines, _ = f.apis[i].Goroutines(ctx)
		out = append(out, u)
	}
	return out
}

// killAndMeasure kill -9s the instance with the most sessions and times
// until each of its sessions runs on exactly one survivor.
func (f *scaleFleet) killAndMeasure(ctx context.Context, rep *ScaleReport, want map[string]string) error {
	m, err := f.moveAndMeasure(ctx, want, false)
	rep.Killed, rep.KilledActive, rep.TakeoverSeconds = m.victim, m.sessions, m.moved
	rep.OwnershipRounds += m.rounds
	rep.Doubles = append(rep.Doubles, m.doubles...)
	return err
}

// termAndMeasure sends SIGTERM to the instance with the most sessions while
// others live: it hands them over (graceful handover) and exits. It times
// its exit and until each of its sessions runs on exactly one other
// instance, and counts those Laravel showed as anything but active while
// they moved.
func (f *scaleFleet) termAndMeasure(ctx context.Context, rep *ScaleReport, want map[string]string) error {
	m, err := f.moveAndMeasure(ctx, want, true)
	rep.Termed, rep.TermedActive, rep.HandoverSeconds, rep.TermExitSeconds = m.victim, m.sessions, m.moved, m.exited
	rep.HandoverFlaps, rep.HandoverFlapExamples = len(m.flaps), m.flaps[:min(5, len(m.flaps))]
	rep.OwnershipRounds += m.rounds
	rep.Doubles = append(rep.Doubles, m.doubles...)
	if err == nil && len(m.flaps) > 0 {
		err = fmt.Errorf("%d handed-over sessions shown as not active by Laravel while they moved, e.g. %v", len(m.flaps), rep.HandoverFlapExamples)
	}
	return err
}

// move is what moveAndMeasure saw.
type move struct {
	victim        string
	sessions      int
	moved, exited float64 // seconds from the signal
	rounds        int
	doubles       []string
	flaps         []string // moved sessions Laravel showed as not active meanwhile
}

// moveAndMeasure stops the instance with the most sessions (SIGTERM when
// graceful, else kill -9) and polls until each of its active sessions runs
// on exactly one other instance; meanwhile it reads Laravel's accounts
// every half second for those sessions.
func (f *scaleFleet) moveAndMeasure(ctx context.Context, want map[string]string, graceful bool) (move, error) {
	var m move
	own, err := f.round(ctx)
	if err != nil {
		return m, fmt.Errorf("before stopping an instance: %w", err)
	}
	victim := -1
	for _, i := range f.live() {
		if victim < 0 || own.PerInst[f.ids[i]] > own.PerInst[f.ids[victim]] {
			victim = i
		}
	}
	var mine []string
	for id, on := range own.Where {
		if slices.Contains(on, f.ids[victim]) {
			mine = append(mine, id)
		}
	}
	m.victim, m.sessions = f.ids[victim], len(mine)
	how := "kill -9"
	if graceful {
		how = "SIGTERM"
	}
	f.progress("%s %s (%d sessions)", how, m.victim, len(mine))
	f.mu.Lock()
	f.alive[victim] = false
	f.mu.Unlock()

	watch, stopWatch := context.WithCancel(ctx)
	flapped := map[string]bool{}
	var watched sync.WaitGroup
	stopWatching := func() { stopWatch(); watched.Wait() }
	defer stopWatching()
	if graceful {
		watched.Go(func() {
			for sleepCtx(watch, 500*time.Millisecond) {
				accounts, err := f.mock.Accounts(watch)
				if err != nil {
					continue
				}
				state := make(map[string]string, len(accounts))
				for _, a := range accounts {
					state[a.SessionID] = a.EstadoQR
				}
				for _, id := range mine {
					if state[id] != "active" {
						flapped[id] = true
					}
				}
			}
		})
	}
	signalled := time.Now()
	exited := make(chan float64, 1) // seconds from SIGTERM to exit
	if graceful {
		_ = f.gws[victim].cmd.Process.Signal(syscall.SIGTERM)
		go func() {
			<-f.gws[victim].done
			exited <- round3(time.Since(signalled).Seconds())
		}()
	} else {
		_ = f.gws[victim].cmd.Process.Kill()
		<-f.gws[victim].done
	}
	limit := f.opts.LeaseTTL + 2*time.Minute
	for {
		o, err := f.round(ctx)
		if err == nil {
			m.rounds++
			m.doubles = append(m.doubles, o.Doubles...)
			missing := 0
			for _, id := range mine {
				if on := o.Where[id]; len(on) != 1 || on[0] == m.victim {
					missing++
				}
			}
			if missing == 0 {
				m.moved = round3(time.Since(signalled).Seconds())
				break
			}
		}
		if time.Since(signalled) > limit {
			return m, fmt.Errorf("%s's %d sessions not all on another instance %s after %s", m.victim, len(mine), limit, how)
		}
		if !sleepCtx(ctx, 500*time.Millisecond) {
			return m, ctx.Err()
		}
	}
	f.progress("all %d on another instance after %.1fs", len(mine), m.moved)
	if graceful {
		select {
		case m.exited = <-exited:
		case <-time.After(time.Minute):
		}
		sleepCtx(ctx, 2*time.Second) // the batches of the last second land
	}
	stopWatching()
	for id := range flapped {
		m.flaps = append(m.flaps, id)
	}
	slices.Sort(m.flaps)
	// Laravel must still be right for every session: nothing flapped to
	// inactive and stayed there.
	n, ex := f.waitLaravel(ctx, want, time.Minute)
	if n > 0 {
		return m, fmt.Errorf("after %s of %s Laravel differs for %d sessions, e.g. %v", how, m.victim, n, ex)
	}
	return m, nil
}

// startScaleRedis is StartRedis, with AOF when asked (production runs it).
func startScaleRedis(ctx context.Context, bin, dir string, aof bool) (*RedisServer, error) {
	if !aof {
		return StartRedis(ctx, bin, dir)
	}
	wrapper := filepath.Join(dir, "redis-aof.sh")
	script := "#!/bin/sh\nexec " + bin + ` "$@" --appendonly yes --appendfsync everysec` + "\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return nil, err
	}
	return StartRedis(ctx, wrapper, dir)
}

func mb(b int64) float64 { return round3(float64(b) / (1 << 20)) }

// uptime is the load line of `uptime`, read from /proc/loadavg.
func uptime() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return "load average: " + strings.Join(f[:3], ", ")
}
