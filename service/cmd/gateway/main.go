// Command gateway runs the wagateway service. main only parses the
// configuration, runs Main and waits for SIGINT/SIGTERM; all wiring lives in
// Main so the e2e tests start the program exactly as production does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"wagateway/service/config"
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

	m := NewMain(cfg, logger)
	if err := m.Run(ctx); err != nil {
		logger.Error("start-up failed", "err", err)
		_ = m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	logger.Info("shutting down", "cause", context.Cause(ctx))
	if err := m.Close(); err != nil {
		logger.Error("shutdown", "err", err)
		os.Exit(1)
	}
}

// Main is the running gateway: every component it started and how to stop it.
type Main struct {
	Config config.Config
	Logger *slog.Logger

	started time.Time
	redis   *redis.Client // nil without REDIS_URL
	ln      net.Listener
	server  *http.Server
	served  chan error // result of server.Serve
}

// NewMain returns a Main for cfg; nothing starts before Run.
func NewMain(cfg config.Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger}
}

// Run starts the gateway and returns once it is serving; ctx bounds start-up.
func (m *Main) Run(ctx context.Context) error {
	m.started = time.Now()
	m.Logger.Info("starting", "config", m.Config)

	if m.Config.RedisURL != "" {
		opts, err := redis.ParseURL(m.Config.RedisURL)
		if err != nil {
			return fmt.Errorf("parse REDIS_URL: %w", err)
		}
		m.redis = redis.NewClient(opts)
	} else {
		m.Logger.Warn("REDIS_URL empty: embedded in-memory cache and outbox, NOT durable")
	}

	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on GATEWAY_ADDR %s: %w", m.Config.Addr, err)
	}
	m.ln = ln
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", m.health)
	m.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	m.Logger.Info("listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address actually listened on (useful with GATEWAY_ADDR ":0").
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Close stops serving, within SHUTDOWN_TIMEOUT, and releases every resource.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		defer cancel()
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http serve: %w", err))
		}
	}
	if m.redis != nil {
		if err := m.redis.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close redis: %w", err))
		}
	}
	return errors.Join(errs...)
}

type healthResponse struct {
	Status         string `json:"status"`
	ActiveSessions int    `json:"activeSessions"`
	Redis          string `json:"redis"`
	Laravel        string `json:"laravel"`
	UptimeS        int64  `json:"uptime_s"`
}

func (m *Main) health(w http.ResponseWriter, r *http.Request) {
	res := healthResponse{
		Status:  "ok",
		Redis:   "disabled",
		Laravel: "unknown",
		UptimeS: int64(time.Since(m.started).Seconds()),
	}
	if m.redis != nil {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		res.Redis = "up"
		if err := m.redis.Ping(ctx).Err(); err != nil {
			res.Redis = "down"
			m.Logger.Warn("health: redis ping failed", "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
