// Command gateway runs the wagateway service. main only parses the
// configuration, runs Main and waits for SIGINT/SIGTERM; all wiring lives in
// Main so the e2e tests start the program exactly as production does.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"wagateway/service/config"
	"wagateway/service/gomaxprocs"
)

func main() {
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// GOMAXPROCS is the process's, not one Main's (tests run several).
	if gomaxprocs.Enabled() {
		go gomaxprocs.New(gomaxprocs.DefaultConfig(), logger).Run(ctx)
	}

	m := NewMain(cfg, logger)
	if err := m.Run(ctx); err != nil {
		logger.Error("start-up failed", "err", err)
		_ = m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	logger.Info("shutting down", "cause", context.Cause(ctx))
	if err := m.Close(); err != nil {
		logger.Error("shutdown", "err", err)
		os.Exit(1)
	}
	logger.Info("stopped")
}
