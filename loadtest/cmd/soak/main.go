// Command soak runs one gateway for a long, time-scaled stretch while 1,000
// simulated sessions pair, rotate codes, get scanned or expire, close and
// start again, and samples every second the gateway's RSS, goroutines and
// open fds, Redis used_memory and the outbox depth. After warm-up each must
// stay flat (the mean of the last fifth within 10 % of the first fifth's);
// it exits 1 naming what grew. Not part of make test.
//
//	go run ./loadtest/cmd/soak                                  # 5 min ×6: 30 min of pairing
//	go run ./loadtest/cmd/soak -duration 30m -time-scale 60     # a day and a half
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/loadtest"
)

func main() { os.Exit(run()) }

func run() int {
	var (
		sessions = flag.Int("sessions", 1000, "sessions that pair, close and start again")
		duration = flag.Duration("duration", 5*time.Minute, "real run time")
		scale    = flag.Float64("time-scale", 6, "compress every interval (gateway and sessions) by this factor")
		warmup   = flag.Duration("warmup", 0, "left out of the flatness checks (default a fifth of -duration)")
		tol      = flag.Float64("tolerance", 0.10, "allowed growth after warm-up, 0.10 = 10 %")
		outDir   = flag.String("out", "", "write soak.json, soak.md and soak.svg here")
		redisBin = flag.String("redis-server", "redis-server", "redis-server binary")
		seed     = flag.Uint64("seed", 1, "random seed of the sessions' behaviour")
		// The status history is capped per session (HISTORY_MAX, default
		// 50); a short soak would end before 1,000 sessions reach that
		// cap, and the history's way up to it would read as growth. A cap
		// reached within the warm-up leaves the checks to real leaks.
		historyMax = flag.Int("history-max", 4, "HISTORY_MAX of the gateway: status changes kept per session")
	)
	flag.Parse()
	if *warmup == 0 {
		*warmup = *duration / 5
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	samples, err := soak(ctx, log, *sessions, *duration, *scale, *redisBin, *seed, *historyMax)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("soak failed", "err", err)
		return 1
	}
	checks := loadtest.SoakChecks(samples, *warmup, *tol)
	md := markdown(*sessions, *duration, *scale, *warmup, samples, checks)
	fmt.Print(md)
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			log.Error("write result", "err", err)
			return 1
		}
		b, _ := json.MarshalIndent(map[string]any{"samples": samples, "checks": checks}, "", " ")
		title := fmt.Sprintf("Soak: %d sessions, %s at time ×%g", *sessions, *duration, *scale)
		for name, data := range map[string][]byte{
			"soak.json": b, "soak.md": []byte(md),
			"soak.svg": []byte(loadtest.SoakChart(title, samples, *warmup)),
		} {
			if err := os.WriteFile(filepath.Join(*outDir, name), data, 0o644); err != nil {
				log.Error("write result", "err", err)
				return 1
			}
		}
	}
	failed := false
	for _, c := range checks {
		if !c.OK {
			fmt.Fprintf(os.Stderr, "NOT FLAT: %s grew %.0f → %.0f (%+.1f%%)\n", c.Metric, c.Start, c.End, c.Change)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

// soak starts Redis, a mock Laravel and the gateway, drives the sessions
// and samples once a second until duration is over.
func soak(ctx context.Context, log *slog.Logger, sessions int, duration time.Duration, scale float64, redisBin string, seed uint64, historyMax int) ([]loadtest.SoakSample, error) {
	rig, err := loadtest.StartRig(ctx, "soak", redisBin, log)
	if err != nil {
		return nil, err
	}
	defer rig.Close()
	rs := rig.Redis
	gw, err := rig.StartGateway(ctx, scale, "HISTORY_MAX="+strconv.Itoa(historyMax))
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

	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() { drive(runCtx, api, fmt.Sprintf("soak_%d", i), scale, rand.New(rand.NewPCG(seed, uint64(i)))) })
	}
	var samples []loadtest.SoakSample
	origin := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for runCtx.Err() == nil {
		select {
		case <-runCtx.Done():
		case <-tick.C:
			samples = append(samples, sample(runCtx, gw.Pid, api, rc, time.Since(origin)))
			if n := len(samples); n%30 == 0 {
				s := samples[n-1]
				fmt.Fprintf(os.Stderr, "soak %4.0fs/%4.0fs  rss %6d KB  goroutines %5d  fds %4d  redis %8d B  outbox %5d\n",
					s.T, duration.Seconds(), s.RSSKB, s.Goroutines, s.FDs, s.RedisBytes, s.OutboxDepth)
			}
		}
	}
	wg.Wait()
	return samples, ctx.Err()
}

// drive is one session's life, over and over: start, show codes, be scanned
// (70 %) and stay connected a while, or expire; close; start again.
func drive(ctx context.Context, api *loadtest.GatewayClient, id string, scale float64, r *rand.Rand) {
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
		if r.Float64() < 0.7 {
			if !wait(5*time.Second, 90*time.Second) {
				return
			}
			_ = api.Scan(ctx, id)
			if !wait(10*time.Second, 120*time.Second) {
				return
			}
		} else if !wait(130*time.Second, 150*time.Second) { // past QR_EXPIRES (120 s)
			return
		}
		_ = api.CloseSession(ctx, id)
		if !wait(time.Second, 20*time.Second) {
			return
		}
	}
}

func sample(ctx context.Context, pid int, api *loadtest.GatewayClient, rc *goredis.Client, t time.Duration) loadtest.SoakSample {
	s := loadtest.SoakSample{T: t.Seconds()}
	if p, err := loadtest.ReadProc(pid); err == nil {
		s.RSSKB = p.RSSKB
	}
	if n, err := loadtest.CountFDs(pid); err == nil {
		s.FDs = int64(n)
	}
	s.Goroutines, _ = api.Goroutines(ctx)
	s.RedisBytes, _ = loadtest.RedisMemory(ctx, rc)
	if m, err := api.BatchMetrics(ctx); err == nil {
		for _, l := range m.Lanes {
			s.OutboxDepth += int64(l.Pending)
		}
	}
	return s
}

func markdown(sessions int, duration time.Duration, scale float64, warmup time.Duration, samples []loadtest.SoakSample, checks []loadtest.SoakCheck) string {
	out := fmt.Sprintf("**Soak**: %d sessions pairing, scanned (70 %%) or expiring, closing and starting again for %s at time ×%g (%s of gateway time), %d samples, warm-up %s left out.\n\n",
		sessions, duration, scale, time.Duration(float64(duration)*scale), len(samples), warmup)
	out += "| metric | mean, first fifth after warm-up | mean, last fifth | change | flat (≤ +10 %) |\n|---|---:|---:|---:|---|\n"
	for _, c := range checks {
		mark := "✅"
		if !c.OK {
			mark = "❌"
		}
		out += fmt.Sprintf("| %s | %.0f | %.0f | %+.1f%% | %s |\n", c.Metric, c.Start, c.End, c.Change, mark)
	}
	return out
}
