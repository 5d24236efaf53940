// Command scale measures how capacity grows with gateway instances: for
// each count of -instances it starts that many gateways (WA_DRIVER=sim,
// their simulated devices in Redis) on one local redis-server, with an
// in-process mock Laravel, starts -sessions sessions through random
// instances, scans most of them, waits until every scanned session runs on
// exactly one instance and every other one expired, and reports each
// instance's CPU and RSS, Redis memory and CPU, and whether Laravel and
// GET /sessions hold every session's end state. -kill adds a kill -9 of the
// busiest instance, timed until its sessions run on the survivors.
// Every request stays on loopback. Not part of make test.
//
//	go run ./loadtest/cmd/scale -instances 1,2,4 -sessions 10000
//	go run ./loadtest/cmd/scale -instances 4 -sessions 100000 -ramp 10m -kill
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
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wagateway/loadtest"
)

func main() { os.Exit(run()) }

func run() int {
	var (
		instances = flag.String("instances", "1,2,4", "gateway instances per run, comma-separated: one run each")
		sessions  = flag.Int("sessions", 10000, "sessions per run (at most 100000)")
		seed      = flag.Uint64("seed", 1, "workload seed")
		ramp      = flag.Duration("ramp", 2*time.Minute, "POST /start arrivals spread over this (before -time-scale)")
		scanShare = flag.Float64("scan", 0.7, "share of the sessions that scan their QR (the rest expire)")
		scale     = flag.Float64("time-scale", 1, "compress the gateway's intervals, the phones' QR schedule and the plan by this factor (LEASE_TTL is not scaled)")
		leaseTTL  = flag.Duration("lease-ttl", 30*time.Second, "LEASE_TTL of every instance")
		steady    = flag.Duration("steady", time.Minute, "window after every session settled over which the steady CPU is measured")
		settle    = flag.Duration("settle", 10*time.Minute, "longest wait for every session to settle after the plan")
		kill      = flag.Bool("kill", false, "after the steady window, kill -9 the busiest instance and time the takeover (runs with ≥ 2 instances)")
		term      = flag.Bool("term", false, "after the steady window (and -kill), SIGTERM the busiest live instance and time the handover (runs with ≥ 2 live instances)")
		workers   = flag.Int("workers", 32, "concurrent plan requests")
		aof       = flag.Bool("aof", true, "run the redis-server with appendonly yes (appendfsync everysec), as production must")
		redisBin  = flag.String("redis-server", "redis-server", "redis-server binary")
		gwBin     = flag.String("gateway-bin", "", "a prebuilt gateway binary; empty: go build ./service/cmd/gateway")
		out       = flag.String("out", "", "write scale.json and scale.md into this directory")
		keep      = flag.Bool("keep", false, "keep the work dir (gateway and redis logs)")
	)
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var counts []int
	for _, f := range strings.Split(*instances, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "-instances: %q is not a positive count\n", f)
			return 2
		}
		counts = append(counts, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "wagateway-scale-")
	if err != nil {
		log.Error("work dir", "err", err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	root, err := loadtest.ModuleRoot()
	if err != nil {
		log.Error("module root", "err", err)
		return 1
	}
	bin := *gwBin
	if bin == "" {
		if bin, err = loadtest.BuildGateway(ctx, root, dir); err != nil {
			log.Error("build gateway", "err", err)
			return 1
		}
	}
	wl := loadtest.DefaultWorkload(*sessions, *seed)
	wl.Ramp, wl.ScanShare = *ramp, *scanShare
	// Scans land before the first QR_EXPIRES (2 min), so each scanned
	// session ends active.
	wl.ScanDelayMin, wl.ScanDelayMax = 5*time.Second, 60*time.Second
	var reps []loadtest.ScaleReport
	failed := false
	for _, n := range counts {
		runDir := filepath.Join(dir, fmt.Sprintf("instances-%d", n))
		if err := os.MkdirAll(runDir, 0o755); err != nil {
			log.Error("run dir", "err", err)
			return 1
		}
		opts := loadtest.ScaleOptions{
			Instances: n, Workload: wl, TimeScale: *scale, LeaseTTL: *leaseTTL, Steady: *steady, Settle: *settle,
			Kill: *kill, Term: *term, Workers: *workers, AOF: *aof, GatewayBin: bin, RedisBin: *redisBin, Dir: runDir,
			Source: loadtest.SourceVersion(ctx, root), Logger: log, Progress: os.Stderr,
		}
		rep, err := loadtest.RunScale(ctx, opts, strings.Join(os.Args, " "))
		if err != nil {
			log.Error("scale run failed", "instances", n, "err", err, "work_dir", runDir)
			if errors.Is(err, context.Canceled) {
				return 130
			}
			return 1
		}
		reps = append(reps, rep)
		failed = failed || !rep.Passed
		fmt.Fprint(os.Stderr, loadtest.ScaleMarkdown([]loadtest.ScaleReport{rep}))
	}
	md := loadtest.ScaleMarkdown(reps)
	fmt.Print(md)
	if *out != "" {
		b, _ := json.MarshalIndent(reps, "", "  ")
		for name, data := range map[string][]byte{"scale.json": append(b, '\n'), "scale.md": []byte(md)} {
			if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
				log.Error("write result", "err", err)
				return 1
			}
		}
	}
	if failed {
		return 1
	}
	return 0
}
