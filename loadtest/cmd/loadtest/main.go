// Command loadtest runs the same seeded pairing workload through the gateway
// twice (DELIVERY_MODE=direct, then batch) and reports, side by side, the
// requests Laravel received, delivery latency per lane, Laravel's handling
// time, gateway CPU and memory, Redis memory and GET /sessions/{id} latency.
// It exits 1 naming every threshold the batch run missed.
//
//	go run ./loadtest/cmd/loadtest                 # 1,000 sessions, real time
//	go run ./loadtest/cmd/loadtest -quick          # < 60 s, for make test
//	go run ./loadtest/cmd/loadtest -sessions 10000 -out report.json -chart requests.svg
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"wagateway/loadtest"
	"wagateway/service"
	"wagateway/service/config"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		sessions  = flag.Int("sessions", 1000, "sessions to pair")
		seed      = flag.Uint64("seed", 1, "workload seed: the same seed gives the same plan")
		ramp      = flag.Duration("ramp", 60*time.Second, "POST /start arrivals spread over this (real time)")
		scale     = flag.Float64("time-scale", 1, "compress every interval (gateway and workload) by this factor, ≥ 1")
		batchSize = flag.Int("batch-size", config.Default().BatchSize, "BATCH_SIZE of the gateway")
		modes     = flag.String("modes", "direct,batch", "delivery modes to run, in order")
		quick     = flag.Bool("quick", false, "short run for CI (< 60 s): the default workload at time scale 10, fewer reads, -relative")

		laravelURL = flag.String("laravel-url", "", "a running mocklaravel (loopback); empty: start one in-process, which also measures delivery latency")
		laravelApp = flag.Bool("laravel-app", false, "deliver to the real Laravel app (contracts/laravel under php -S, fresh per mode) and report its CPU seconds and handling")
		gatewayURL = flag.String("gateway-url", "", "a running gateway (loopback, WA_DRIVER=sim, its own DELIVERY_MODE and intervals); empty: start one per mode")
		gatewayPID = flag.Int("gateway-pid", 0, "with -gateway-url: its pid, to read CPU and RSS from /proc")
		gatewayBin = flag.String("gateway-bin", "", "a prebuilt gateway binary; empty: go build ./service/cmd/gateway")
		redisURL   = flag.String("redis-url", "", "a Redis (loopback) whose database is FLUSHED before each mode; empty: the gateway's embedded store (SQLite in a fresh DATA_DIR per mode), unless -start-redis")
		startRedis = flag.Bool("start-redis", false, "with -redis-url empty: start a redis-server per mode instead of the embedded store")
		outboxMem  = flag.Bool("outbox-memory", false, "run the gateways with OUTBOX=memory (not durable) instead of the embedded store, to measure what durability costs")
		redisBin   = flag.String("redis-server", "redis-server", "redis-server binary (-start-redis)")

		workers  = flag.Int("workers", 32, "concurrent plan requests (start, scan, close)")
		readers  = flag.Int("readers", 4, "goroutines reading GET /sessions/{id} during the run")
		readWait = flag.Duration("read-interval", 10*time.Millisecond, "pause between one reader's reads")
		drain    = flag.Duration("drain", 60*time.Second, "longest wait for the outbox to empty after the plan (real time)")

		minReduction = flag.Float64("min-reduction", 90, "threshold: request reduction of batch vs direct, %")
		maxVsBound   = flag.Float64("max-vs-bound", 1.05, "threshold: batch requests / the lower bound of an ideal batcher")
		relative     = flag.Bool("relative", false, "gate latency in flush intervals measured in the run, no absolute time (what -quick uses, for CI on a busy machine)")
		maxHighIv    = flag.Float64("max-high-intervals", 4, "threshold with -relative: HIGH-lane p99 / the HIGH flush interval measured")
		maxNormalIv  = flag.Float64("max-normal-intervals", 2, "threshold with -relative: NORMAL-lane p99 / the NORMAL flush interval measured")
		maxHandling  = flag.Duration("max-handling-p99", 200*time.Millisecond, "threshold: Laravel batch handling p99 (never scaled)")
		maxHigh      = flag.Duration("max-high-p99", 2*time.Second, "threshold: HIGH-lane delivery p99, real time (divided by -time-scale)")
		maxNormal    = flag.Duration("max-normal-p99", 7*time.Second, "threshold: NORMAL-lane delivery p99, real time (divided by -time-scale)")

		out       = flag.String("out", "", "write the JSON report here")
		chart     = flag.String("chart", "", "write an SVG chart of requests/s to Laravel here")
		md        = flag.String("md", "", "also write the Markdown report here")
		pprofAddr = flag.String("pprof-addr", "", "PPROF_ADDR of the gateway children (loopback, e.g. 127.0.0.1:6060), to profile a run with go tool pprof")
		keep      = flag.Bool("keep", false, "keep the work dir (gateway and redis logs, data directories)")
		logLevel  = flag.String("log-level", "warn", "log level of the load test's own JSON logs on stderr")
	)
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "-log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		// The quick run is the full run compressed ten times: the same
		// sessions, shares and delays, so it batches like the full run
		// (a smaller N would measure a quieter gateway, not a faster test).
		// Explicit flags win.
		if !set["time-scale"] {
			*scale = 10
		}
		if !set["drain"] {
			*drain = 20 * time.Second
		}
		if !set["read-interval"] {
			*readWait = 25 * time.Millisecond
		}
		if !set["relative"] {
			*relative = true
		}
	}

	wl := loadtest.DefaultWorkload(*sessions, *seed)
	wl.Ramp = *ramp
	dir, err := os.MkdirTemp("", "wagateway-loadtest-")
	if err != nil {
		logger.Error("work dir", "err", err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	opts := loadtest.Options{
		Workload: wl, TimeScale: *scale, BatchSize: *batchSize, Modes: splitModes(*modes),
		LaravelURL: *laravelURL, LaravelApp: *laravelApp, GatewayURL: *gatewayURL, GatewayPID: *gatewayPID, GatewayBin: *gatewayBin,
		RedisURL: *redisURL, StartRedis: *startRedis, RedisBin: *redisBin, OutboxMemory: *outboxMem,
		Workers: *workers, Readers: *readers, ReadInterval: *readWait, Drain: *drain, PprofAddr: *pprofAddr,
		Dir: dir, Logger: logger, Progress: os.Stderr,
	}
	if *gatewayURL != "" && len(opts.Modes) > 1 && !set["modes"] {
		// One external gateway has one DELIVERY_MODE: run that one.
		opts.Modes = nil
	}
	th := loadtest.DefaultThresholds()
	th.MinReduction, th.MaxHandlingP99, th.MaxHighP99, th.MaxNormalP99, th.TimeScale = *minReduction, *maxHandling, *maxHigh, *maxNormal, *scale
	th.RequireReduction = len(opts.Modes) > 1
	th.MaxVsBound, th.Relative, th.MaxHighIntervals, th.MaxNormalIntervals = *maxVsBound, *relative, *maxHighIv, *maxNormalIv

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := loadtest.Run(ctx, opts, th, strings.Join(os.Args, " "))
	if err != nil {
		logger.Error("load test failed", "err", err, "work_dir", dir)
		if errors.Is(err, context.Canceled) {
			return 130
		}
		return 1
	}

	text := report.Markdown()
	fmt.Print(text)
	if *md != "" {
		if err := os.WriteFile(*md, []byte(text), 0o644); err != nil {
			logger.Error("write markdown", "err", err)
			return 1
		}
	}
	if *out != "" {
		b, _ := json.MarshalIndent(report, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			logger.Error("write report", "err", err)
			return 1
		}
	}
	if *chart != "" {
		if err := os.WriteFile(*chart, []byte(loadtest.ReportChart(report)), 0o644); err != nil {
			logger.Error("write chart", "err", err)
			return 1
		}
	}
	if missed := loadtest.Missed(report.Checks); len(missed) > 0 {
		for _, m := range missed {
			fmt.Fprintln(os.Stderr, "THRESHOLD MISSED:", m)
		}
		return 1
	}
	return 0
}

func splitModes(s string) []service.DeliveryMode {
	var out []service.DeliveryMode
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, service.DeliveryMode(m))
		}
	}
	return out
}
