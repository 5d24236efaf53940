// Command outage holds Laravel down while 1,000 simulated sessions keep
// pairing on one gateway (Redis outbox), time-scaled to stand for a long
// outage, and samples every second Redis used_memory, the memory of the
// outbox keys and the outbox depth. Then it gives every session one last
// pairing (its newest QR code, then closed: its newest status), brings
// Laravel back and checks that each session's account holds exactly that
// newest QR and status, and that Laravel got one QR and one status per
// session, nothing older. It exits 1 when the outbox grew after the first
// rotation (its depth or its keys' memory: the mean of the last fifth of
// the samples more than 10 % above the first fifth's) or a check failed.
// Redis used_memory is reported, not gated: it also holds each session's
// status history, which fills up to HISTORY_MAX entries a session. Not
// part of make test.
//
//	go run ./loadtest/cmd/outage                          # 10 min at time ×10: 100 min of outage
//	go run ./loadtest/cmd/outage -duration 2m -time-scale 20
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/loadtest"
)

func main() { os.Exit(run()) }

// result is what one run measured.
type result struct {
	Sessions        int                  `json:"sessions"`
	Duration        string               `json:"duration"`
	TimeScale       float64              `json:"time_scale"`
	OutageStandsFor string               `json:"outage_stands_for"`
	Accepted        int64                `json:"accepted"`
	Superseded      int64                `json:"superseded"`
	Samples         []point              `json:"samples"`
	Checks          []loadtest.SoakCheck `json:"checks"`
	QRItems         int64                `json:"qr_items_after_return"`
	StatusItems     int64                `json:"status_items_after_return"`
	NewestQR        int                  `json:"sessions_with_newest_qr"`
	NewestStatus    int                  `json:"sessions_with_newest_status"`
	DrainSeconds    float64              `json:"drain_s"`
	// After the drain: every accepted update counted once, sent or superseded.
	FinalAccepted   int64    `json:"final_accepted"`
	FinalSent       int64    `json:"final_sent"`
	FinalSuperseded int64    `json:"final_superseded"`
	Problems        []string `json:"problems,omitempty"`
}

func run() int {
	var (
		sessions = flag.Int("sessions", 1000, "sessions that keep pairing while Laravel is down")
		duration = flag.Duration("duration", 10*time.Minute, "real time Laravel stays down")
		scale    = flag.Float64("time-scale", 10, "compress every interval (gateway and sessions) by this factor")
		tol      = flag.Float64("tolerance", 0.10, "allowed growth of Redis memory and outbox depth after the first rotation")
		outDir   = flag.String("out", "", "write outage.json and outage.md here")
		redisBin = flag.String("redis-server", "redis-server", "redis-server binary")
		seed     = flag.Uint64("seed", 1, "random seed of the sessions' behaviour")
	)
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := outage(ctx, *sessions, *duration, *scale, *tol, *redisBin, *seed, log)
	if err != nil {
		log.Error("outage run failed", "err", err)
		return 1
	}
	md := markdown(res)
	fmt.Print(md)
	if *outDir != "" {
		b, _ := json.MarshalIndent(res, "", " ")
		for name, data := range map[string][]byte{"outage.json": b, "outage.md": []byte(md)} {
			if err := os.WriteFile(filepath.Join(*outDir, name), data, 0o644); err != nil {
				log.Error("write result", "err", err)
				return 1
			}
		}
	}
	for _, c := range res.Checks[1:] { // the outbox's; used_memory also holds each session's history, which fills up to HISTORY_MAX
		if !c.OK {
			res.Problems = append(res.Problems, fmt.Sprintf("%s grew %.0f → %.0f (%+.1f%%)", c.Metric, c.Start, c.End, c.Change))
		}
	}
	for _, p := range res.Problems {
		fmt.Fprintln(os.Stderr, "FAILED:", p)
	}
	if len(res.Problems) > 0 {
		return 1
	}
	return 0
}

func outage(ctx context.Context, sessions int, duration time.Duration, scale, tol float64, redisBin string, seed uint64, log *slog.Logger) (*result, error) {
	res := &result{Sessions: sessions, Duration: duration.String(), TimeScale: scale,
		OutageStandsFor: time.Duration(float64(duration) * scale).String()}
	rig, err := loadtest.StartRig(ctx, "outage", redisBin, log)
	if err != nil {
		return nil, err
	}
	defer rig.Close()
	rs, laravel := rig.Redis, rig.LaravelURL
	if err := mockCall(ctx, http.MethodPost, laravel+"/__mock/faults", `{"down":true}`, nil); err != nil {
		return nil, fmt.Errorf("take Laravel down: %w", err)
	}

	// The check reads each session's last QR and status back from the
	// gateway's cache after the outage: keep them that long.
	gw, err := rig.StartGateway(ctx, scale, "CACHE_TTL_QR=24h", "CACHE_TTL_STATUS=24h", "CACHE_TTL_SESSION=24h")
	if err != nil {
		return nil, err
	}
	api := loadtest.NewGatewayClient(gw.URL, 64)
	defer api.Close()
	opts, err := goredis.ParseURL(rs.URL)
	if err != nil {
		return nil, err
	}
	rc := goredis.NewClient(opts)
	defer rc.Close()

	// The outage: every session pairs, shows codes for a while (up to the
	// fourth, 100 s in), is closed and pairs again.
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() { cycle(runCtx, api, sessionID(i), scale, rand.New(rand.NewPCG(seed, uint64(i)))) })
	}
	origin := time.Now()
	tick := time.NewTicker(time.Second)
	for runCtx.Err() == nil {
		select {
		case <-runCtx.Done():
		case <-tick.C:
			s, ok := sample(runCtx, api, rc, time.Since(origin))
			if !ok {
				continue
			}
			res.Samples = append(res.Samples, s)
			if n := len(res.Samples); n%30 == 0 {
				fmt.Fprintf(os.Stderr, "outage %4.0fs/%4.0fs  redis %9d B  outbox keys %9d B  depth %5d\n", s.T, duration.Seconds(), s.RedisBytes, s.OutboxBytes, s.OutboxDepth)
			}
		}
	}
	tick.Stop()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The first rotation: every session started (within 60 s) and showed
	// its second code (60 s later), scaled.
	warmup := time.Duration(float64(130*time.Second) / scale)
	res.Checks = flat(res.Samples, warmup, tol)

	// The newest state of every session: one last pairing, closed as soon
	// as its first code shows.
	want, err := lastPairing(ctx, api, sessions)
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Duration(float64(5*time.Second)/scale) + time.Second) // the close events reach the outbox
	m, err := api.BatchMetrics(ctx)
	if err != nil {
		return nil, err
	}
	res.Accepted, res.Superseded = m.Accepted, m.Superseded
	before, err := mockItems(ctx, laravel)
	if err != nil {
		return nil, err
	}

	// Laravel returns.
	if err := mockCall(ctx, http.MethodDelete, laravel+"/__mock/faults", "", nil); err != nil {
		return nil, fmt.Errorf("bring Laravel back: %w", err)
	}
	back := time.Now()
	for {
		m, err := api.BatchMetrics(ctx)
		if err == nil && m.Lanes["high"].Pending == 0 && m.Lanes["normal"].Pending == 0 {
			break
		}
		if time.Since(back) > 3*time.Minute {
			res.Problems = append(res.Problems, "the outbox did not drain within 3 minutes of Laravel's return")
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.DrainSeconds = time.Since(back).Seconds()
	// Every accepted update ends up sent or superseded, counted once. One
	// superseded while a failed request held it counts when its lane is
	// claimed again, which a lane whose backoff reached BACKOFF_MAX (30 s,
	// not scaled) may not do before then.
	for settle := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		m, err := api.BatchMetrics(ctx)
		if err != nil {
			return nil, err
		}
		res.FinalAccepted, res.FinalSent, res.FinalSuperseded = m.Accepted, m.Sent, m.Superseded
		if m.Sent+m.Superseded == m.Accepted {
			break
		}
		if time.Since(settle) > 45*time.Second {
			res.Problems = append(res.Problems, fmt.Sprintf("sent %d + superseded %d != accepted %d", m.Sent, m.Superseded, m.Accepted))
			break
		}
	}
	after, err := mockItems(ctx, laravel)
	if err != nil {
		return nil, err
	}
	res.QRItems = after.qr - before.qr
	res.StatusItems = after.status - before.status
	if res.QRItems != int64(sessions) || res.StatusItems != int64(sessions) {
		res.Problems = append(res.Problems, fmt.Sprintf("Laravel got %d QR and %d status items after its return, want %d of each (one per session: nothing older)",
			res.QRItems, res.StatusItems, sessions))
	}
	for i := range sessions {
		id := sessionID(i)
		var acc struct {
			Status string  `json:"estado_qr"`
			QR     *string `json:"qr_code"`
			At     *string `json:"last_status_update"`
		}
		if err := mockCall(ctx, http.MethodGet, laravel+"/__mock/accounts/"+id, "", &acc); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: no account: %v", id, err))
			continue
		}
		w := want[id]
		if acc.QR != nil && *acc.QR == w.qr {
			res.NewestQR++
		}
		if acc.Status == w.status && acc.At != nil && sameMilli(*acc.At, w.at) {
			res.NewestStatus++
		}
	}
	if res.NewestQR != sessions || res.NewestStatus != sessions {
		res.Problems = append(res.Problems, fmt.Sprintf("%d of %d sessions hold their newest QR and %d their newest status", res.NewestQR, sessions, res.NewestStatus))
	}
	return res, nil
}

// point is one second of the outage.
type point struct {
	T           float64 `json:"t_s"`
	RedisBytes  int64   `json:"redis_used_memory"`
	OutboxBytes int64   `json:"outbox_bytes"` // MEMORY USAGE of the outbox streams and their newest-per-key hash
	OutboxDepth int64   `json:"outbox_depth"`
}

// outboxKeys are the keys of the gateway's Redis outbox (service/redis,
// default prefix).
var outboxKeys = []string{"wagateway:{core}:outbox:high", "wagateway:{core}:outbox:normal", "wagateway:{core}:outbox:newest"}

// flat compares the mean of the last fifth of the points after warmup with
// the first fifth's, as make soak does.
func flat(points []point, warmup time.Duration, tol float64) []loadtest.SoakCheck {
	var after []point
	for _, p := range points {
		if p.T >= warmup.Seconds() {
			after = append(after, p)
		}
	}
	metrics := []struct {
		name  string
		slack float64
		get   func(point) int64
	}{
		{"Redis used_memory (B)", 0, func(p point) int64 { return p.RedisBytes }},
		{"outbox keys, MEMORY USAGE (B)", 0, func(p point) int64 { return p.OutboxBytes }},
		{"outbox depth", 0, func(p point) int64 { return p.OutboxDepth }},
	}
	var out []loadtest.SoakCheck
	w := len(after) / 5
	for _, m := range metrics {
		c := loadtest.SoakCheck{Metric: m.name}
		if w > 0 {
			mean := func(ps []point) float64 {
				sum := 0.0
				for _, p := range ps {
					sum += float64(m.get(p))
				}
				return sum / float64(len(ps))
			}
			c.Start, c.End = mean(after[:w]), mean(after[len(after)-w:])
			if c.Start > 0 {
				c.Change = math.Round((c.End/c.Start-1)*1000) / 10
			}
			c.OK = c.End <= c.Start*(1+tol)+m.slack
		}
		out = append(out, c)
	}
	return out
}

func sessionID(i int) string { return fmt.Sprintf("outage_%d", i) }

// cycle pairs a session over and over until ctx ends: start, show codes
// for 20–100 s (the manager expires a pairing at 120 s), close, start again.
func cycle(ctx context.Context, api *loadtest.GatewayClient, id string, scale float64, r *rand.Rand) {
	wait := func(lo, hi time.Duration) bool {
		d := lo + time.Duration(r.Int64N(int64(hi-lo)+1))
		t := time.NewTimer(time.Duration(float64(d) / scale))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	if !wait(0, 60*time.Second) { // spread the first starts over a minute
		return
	}
	for ctx.Err() == nil {
		_ = api.Start(ctx, id)
		if !wait(20*time.Second, 110*time.Second) {
			break
		}
		_ = api.CloseSession(ctx, id)
		if !wait(time.Second, 5*time.Second) {
			return
		}
	}
	// Leave it closed, whatever the outage ended in.
	_ = api.CloseSession(context.WithoutCancel(ctx), id)
}

type newest struct {
	qr     string
	status string
	at     time.Time
}

// lastPairing starts every session once more, reads its first code as soon
// as it shows, closes it and reads its status: what Laravel must end with.
func lastPairing(ctx context.Context, api *loadtest.GatewayClient, sessions int) (map[string]newest, error) {
	out := make(map[string]newest, sessions)
	var mu sync.Mutex
	var firstErr error
	ids := make(chan string)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for id := range ids {
				n, err := pairOnce(ctx, api, id)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", id, err)
				}
				out[id] = n
				mu.Unlock()
			}
		})
	}
	for i := range sessions {
		ids <- sessionID(i)
	}
	close(ids)
	wg.Wait()
	return out, firstErr
}

func pairOnce(ctx context.Context, api *loadtest.GatewayClient, id string) (newest, error) {
	deadline := time.Now().Add(30 * time.Second)
	// The close that ended the outage's cycle must have reached the
	// session manager first, or Start would answer with the old pairing.
	for {
		s, err := api.State(ctx, id)
		if err != nil {
			return newest{}, err
		}
		if s.Source != "live" {
			break
		}
		if time.Now().After(deadline) {
			return newest{}, fmt.Errorf("still running 30 s after its close (estado_qr %q)", s.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := api.Start(ctx, id); err != nil {
		return newest{}, err
	}
	var qr string
	for qr == "" {
		s, err := api.State(ctx, id)
		if err != nil {
			return newest{}, err
		}
		if s.Status == "pending" && s.QR != nil && s.Source == "live" {
			qr = *s.QR
			break
		}
		if time.Now().After(deadline) {
			return newest{}, fmt.Errorf("no QR code within 30 s (estado_qr %q)", s.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := api.CloseSession(ctx, id); err != nil {
		return newest{}, err
	}
	for {
		s, err := api.State(ctx, id)
		if err != nil {
			return newest{}, err
		}
		if s.Status == "inactive" && s.UpdatedAt != nil {
			return newest{qr: qr, status: s.Status, at: *s.UpdatedAt}, nil
		}
		if time.Now().After(deadline) {
			return newest{}, fmt.Errorf("not inactive within 30 s (estado_qr %q)", s.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sameMilli(s string, at time.Time) bool {
	t, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && t.UnixMilli() == at.UnixMilli()
}

// sample reads Redis used_memory, the outbox keys' memory and the outbox
// depth; false when one could not be read.
func sample(ctx context.Context, api *loadtest.GatewayClient, rc *goredis.Client, t time.Duration) (point, bool) {
	p := point{T: t.Seconds()}
	var err error
	if p.RedisBytes, err = loadtest.RedisMemory(ctx, rc); err != nil {
		return p, false
	}
	for _, k := range outboxKeys {
		n, err := rc.MemoryUsage(ctx, k, 0).Result() // SAMPLES 0: every entry
		if err != nil && !errors.Is(err, goredis.Nil) {
			return p, false
		}
		p.OutboxBytes += n
	}
	m, err := api.BatchMetrics(ctx)
	if err != nil {
		return p, false
	}
	for _, l := range m.Lanes {
		p.OutboxDepth += int64(l.Pending)
	}
	return p, true
}

type itemCounts struct{ qr, status int64 }

// mockItems counts the QR and status items Laravel's batch endpoints got.
func mockItems(ctx context.Context, laravel string) (itemCounts, error) {
	var st struct {
		Endpoints map[string]struct {
			Items int64 `json:"items"`
		} `json:"endpoints"`
	}
	if err := mockCall(ctx, http.MethodGet, laravel+"/__mock/stats", "", &st); err != nil {
		return itemCounts{}, err
	}
	q, s := st.Endpoints["POST /api/qr/batch"], st.Endpoints["POST /api/whatsapp/status/batch"]
	return itemCounts{qr: q.Items, status: s.Items}, nil
}

func mockCall(ctx context.Context, method, url, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return errors.Join(fmt.Errorf("%s %s: decode", method, url), err)
	}
	return nil
}

func markdown(r *result) string {
	first, last := r.Samples[0], r.Samples[len(r.Samples)-1]
	var most point
	for _, p := range r.Samples {
		most.RedisBytes, most.OutboxBytes, most.OutboxDepth = max(most.RedisBytes, p.RedisBytes), max(most.OutboxBytes, p.OutboxBytes), max(most.OutboxDepth, p.OutboxDepth)
	}
	out := fmt.Sprintf("**Outage**: Laravel down for %s at time ×%g (%s of outage), %d sessions pairing, closed and pairing again; %d samples. "+
		"The gateway accepted %d updates, %.0f per session (%d superseded in the outbox by then).\n\n",
		r.Duration, r.TimeScale, r.OutageStandsFor, r.Sessions, len(r.Samples), r.Accepted, float64(r.Accepted)/float64(r.Sessions), r.Superseded)
	out += "| sampled each second | first sample | last sample | highest |\n|---|---:|---:|---:|\n"
	out += fmt.Sprintf("| Redis used_memory (B) | %d | %d | %d |\n", first.RedisBytes, last.RedisBytes, most.RedisBytes)
	out += fmt.Sprintf("| outbox keys, MEMORY USAGE (B) | %d | %d | %d |\n", first.OutboxBytes, last.OutboxBytes, most.OutboxBytes)
	out += fmt.Sprintf("| outbox depth | %d | %d | %d |\n\n", first.OutboxDepth, last.OutboxDepth, most.OutboxDepth)
	out += "| after the first rotation | mean, first fifth | mean, last fifth | change | flat (≤ +10 %) |\n|---|---:|---:|---:|---|\n"
	for _, c := range r.Checks {
		mark := "✅"
		if !c.OK {
			mark = "❌"
		}
		out += fmt.Sprintf("| %s | %.0f | %.0f | %+.1f%% | %s |\n", c.Metric, c.Start, c.End, c.Change, mark)
	}
	eq := "="
	if r.FinalSent+r.FinalSuperseded != r.FinalAccepted {
		eq = "≠"
	}
	out += fmt.Sprintf("\nLaravel back: the outbox drained in %.1f s; Laravel got %d QR and %d status items (want %d each, one per session), "+
		"%d of %d sessions hold their newest QR code and %d their newest status. In all, %d accepted %s %d sent + %d superseded.\n", r.DrainSeconds, r.QRItems, r.StatusItems, r.Sessions,
		r.NewestQR, r.Sessions, r.NewestStatus, r.FinalAccepted, eq, r.FinalSent, r.FinalSuperseded)
	return out
}
