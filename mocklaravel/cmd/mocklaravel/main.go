// Command mocklaravel serves the mock Laravel API (package mocklaravel) for
// the demo, the e2e suite and load tests. Configuration is by environment:
//
//	MOCK_ADDR            listen address (default :8000)
//	MOCK_DB              SQLite file, or :memory: (default)
//	MOCK_TOKEN           when set, /api requires Authorization: Bearer <token>
//	MOCK_AUTOCREATE      true (default): an unknown session_id creates its account;
//	                     false: it counts as failed (404 on the single endpoints)
//	MOCK_SIGNING_SECRET  when set, /api requires the gateway's signature headers
//	                     (webhook-* and Signature; 401 when bad or over 5 minutes old)
//	MOCK_SEED            seed for error_rate faults (default: from the clock)
//	MOCK_LOG_LEVEL       debug (one line per request), info (default), warn, error
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"wagateway/mocklaravel"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "mocklaravel:", err)
		os.Exit(1)
	}
}

// settings is the parsed environment.
type settings struct {
	addr  string
	cfg   mocklaravel.Config
	level slog.Level
}

// parseEnv reads the MOCK_* variables; an invalid value is an error naming it.
func parseEnv(getenv func(string) string) (settings, error) {
	st := settings{addr: getenv("MOCK_ADDR"), level: slog.LevelInfo}
	if st.addr == "" {
		st.addr = ":8000"
	}
	st.cfg.DB = getenv("MOCK_DB")
	st.cfg.Token = getenv("MOCK_TOKEN")
	st.cfg.SigningSecret = getenv("MOCK_SIGNING_SECRET")
	if v := getenv("MOCK_AUTOCREATE"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return settings{}, fmt.Errorf("MOCK_AUTOCREATE must be true or false, got %q", v)
		}
		st.cfg.DisableAutoCreate = !on
	}
	if v := getenv("MOCK_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return settings{}, fmt.Errorf("MOCK_SEED must be an unsigned integer, got %q", v)
		}
		st.cfg.Rand = rand.New(rand.NewPCG(seed, seed))
	}
	if v := getenv("MOCK_LOG_LEVEL"); v != "" {
		if err := st.level.UnmarshalText([]byte(v)); err != nil {
			return settings{}, fmt.Errorf("MOCK_LOG_LEVEL must be debug, info, warn or error, got %q", v)
		}
	}
	return st, nil
}

// run serves until ctx ends, then shuts down gracefully. listening, when
// not nil, is told the bound address (tests listen on port 0).
func run(ctx context.Context, getenv func(string) string, logs io.Writer, listening func(net.Addr)) error {
	st, err := parseEnv(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: st.level}))
	st.cfg.Logger = log

	srv, err := mocklaravel.New(st.cfg)
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", st.addr)
	if err != nil {
		return fmt.Errorf("listen on MOCK_ADDR %q: %w", st.addr, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	db := st.cfg.DB
	if db == "" {
		db = ":memory:"
	}
	log.InfoContext(ctx, "mock laravel listening", "addr", ln.Addr().String(), "db", db,
		"token", st.cfg.Token != "", "signed", st.cfg.SigningSecret != "", "autocreate", !st.cfg.DisableAutoCreate)

	if listening != nil {
		listening(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
