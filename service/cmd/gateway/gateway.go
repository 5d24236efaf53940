package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/delivery"
	gwhttp "wagateway/service/http"
	"wagateway/service/inmem"
	"wagateway/service/laravel"
	"wagateway/service/prometheus"
	"wagateway/service/qrcode"
	"wagateway/service/redis"
	"wagateway/service/sim"
	"wagateway/service/whatsmeow"
)

// leaseTTL is how long a dead instance keeps its sessions before another
// takes them over; the manager renews every third of it.
const leaseTTL = 30 * time.Second

// Main is the running gateway: every component it started and how to stop it.
type Main struct {
	Config config.Config
	Logger *slog.Logger

	redis   *goredis.Client // nil without REDIS_URL
	driver  service.Driver
	flusher *delivery.Flusher
	manager *service.Manager
	server  *gwhttp.Server
	ln      net.Listener
	served  chan error // result of server.Serve

	cancel context.CancelFunc // stops the background loops
	loops  sync.WaitGroup

	closeOnce sync.Once // a second Close would wait forever on served
	closeErr  error
}

// NewMain returns a Main for cfg; nothing starts before Run.
func NewMain(cfg config.Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger}
}

// Run starts the gateway and returns once it is serving; ctx bounds start-up.
// On error, Close releases whatever was started.
func (m *Main) Run(ctx context.Context) error {
	cfg, log := m.Config, m.Logger
	clock := service.SystemClock{}
	log.Info("starting", "config", cfg)
	if cfg.APIKey == "" {
		log.Warn("API_KEY empty: the HTTP API is open to anyone who can reach it")
	}

	// Stores: Redis when configured, else memory.
	l1 := inmem.NewCache(clock)
	var (
		l2     service.Cache
		outbox service.Outbox
		leases service.Leases
		health func(context.Context) error
	)
	if cfg.RedisURL != "" {
		redis.LogTo(log) // go-redis's own lines (dial failures) as JSON too, not plain stderr
		rdb, err := redis.Open(ctx, cfg.RedisURL)
		if err != nil {
			return err
		}
		m.redis = rdb
		ob, err := redis.NewOutbox(rdb, redis.OutboxConfig{Consumer: cfg.InstanceID, Clock: clock, Logger: log})
		if err != nil {
			return fmt.Errorf("redis outbox: %w", err)
		}
		l2, outbox, leases = redis.NewCache(rdb), ob, redis.NewLeases(rdb, "")
		health = func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	} else {
		log.Warn("no REDIS_URL: cache and outbox are in memory, NOT durable")
		outbox, leases = inmem.NewOutbox(clock), inmem.NewLeases(clock)
	}

	lv, err := laravel.New(laravel.Config{
		BaseURL:       cfg.LaravelURL.String(),
		Token:         cfg.LaravelToken,
		Timeout:       cfg.LaravelTimeout,
		SigningSecret: cfg.LaravelSigningSecret,
		Logger:        log.With("component", "laravel"),
	})
	if err != nil {
		return fmt.Errorf("laravel client: %w", err)
	}
	metrics := prometheus.New(prometheus.Sources{Outbox: outbox, L1: l1, L2: l2})
	lvm := metrics.Laravel(lv) // counts every answer, status lookups included
	lvHealth := &laravelHealth{}
	m.flusher, err = delivery.New(delivery.Config{
		Mode:             cfg.DeliveryMode,
		BatchSize:        cfg.BatchSize,
		BatchInterval:    cfg.BatchInterval,
		PriorityInterval: cfg.PriorityInterval,
		BackoffBase:      cfg.BackoffBase,
		BackoffMax:       cfg.BackoffMax,
		Clock:            clock,
		Observer:         delivery.Observers(lvHealth, metrics),
	}, outbox, lvm, log.With("component", "flusher"))
	if err != nil {
		return err
	}

	var simDriver *sim.Driver
	switch cfg.Driver {
	case config.DriverSim:
		simDriver = sim.New(sim.Config{
			TimeScale:       cfg.SimTimeScale,
			ScanProbability: cfg.SimScanProbability,
			ScanDelay:       cfg.SimScanDelay,
			Clock:           clock,
			Seed:            uint64(time.Now().UnixNano()),
			Logger:          log,
		})
		m.driver = simDriver
		log.Warn("WA_DRIVER=sim: simulated phones, no real WhatsApp session")
	default:
		wd, err := whatsmeow.New(ctx, whatsmeow.Config{Store: cfg.Store, Version: waVersion(cfg.WAVersion), Logger: log, Clock: clock})
		if err != nil {
			return fmt.Errorf("whatsmeow driver: %w", err)
		}
		m.driver = wd
	}

	m.manager = service.NewManager(service.ManagerConfig{
		Instance:   cfg.InstanceID,
		QRThrottle: cfg.QRThrottle,
		QRExpires:  cfg.QRExpires,
		TTL: service.CacheTTL{
			QR:         cfg.CacheTTLQR,
			Status:     cfg.CacheTTLStatus,
			Connection: cfg.CacheTTLConnection,
			Session:    cfg.CacheTTLSession,
		},
		LeaseTTL: leaseTTL,
		Clock:    clock,
	}, service.ManagerDeps{
		Driver:    m.driver,
		L1:        l1,
		L2:        l2,
		Publisher: metrics.Publisher(m.flusher),
		Laravel:   lvm,
		Leases:    leases,
		Render:    qrcode.Render,
		Logger:    log,
	})

	// The loops outlive ctx (start-up only): Close stops them, after the
	// manager has published its last statuses.
	loopCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	metrics.CountSessions(m.manager)

	m.loop("flusher", func() error { return m.flusher.Run(loopCtx) })
	m.loop("manager", func() error { return m.manager.Run(loopCtx) })

	if n, err := m.manager.Restore(ctx); err != nil {
		log.Error("restore sessions", "restored", n, "err", err)
	}

	api := gwhttp.Config{
		Sessions:      m.manager,
		Batch:         m.flusher,
		L1:            l1,
		L2:            l2,
		Redis:         health,
		Laravel:       lvHealth.Status,
		Ready:         ready(health, outbox),
		Metrics:       metrics.Handler(),
		APIKey:        cfg.APIKey,
		MetricsPublic: cfg.MetricsPublic,
		Clock:         clock,
		Logger:        log,
	}
	if m.manager.CanPairPhone() {
		api.Pairer = m.manager
	}
	if simDriver != nil {
		api.Sim = simDriver
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on GATEWAY_ADDR %s: %w", cfg.Addr, err)
	}
	// The server is set only once it serves: Close waits on served for it.
	m.ln = ln
	m.server = gwhttp.NewServer(api)
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "driver", cfg.Driver, "delivery_mode", cfg.DeliveryMode)
	return nil
}

// loop runs fn until Close cancels it.
func (m *Main) loop(name string, fn func() error) {
	m.loops.Add(1)
	go func() {
		defer m.loops.Done()
		if err := fn(); err != nil {
			m.Logger.Error("loop stopped", "loop", name, "err", err)
		}
	}()
}

// Addr is the address actually listened on (useful with GATEWAY_ADDR ":0").
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Close stops the gateway in order: no new HTTP requests, sessions stopped
// (their statuses published), loops stopped, the outbox flushed to Laravel
// within SHUTDOWN_TIMEOUT, then the driver and Redis closed. Calling it
// again returns the first call's result.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	var errs []error
	if m.server != nil {
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http serve: %w", err))
		}
	}
	if m.manager != nil {
		if err := m.manager.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close sessions: %w", err))
		}
	}
	if m.cancel != nil {
		m.cancel()
		m.loops.Wait()
	}
	if m.flusher != nil {
		if err := m.flusher.FlushAll(ctx); err != nil {
			errs = append(errs, fmt.Errorf("final flush: %w", err))
		} else {
			m.Logger.Info("outbox flushed")
		}
	}
	if m.driver != nil {
		if err := m.driver.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close driver: %w", err))
		}
	}
	if m.redis != nil {
		if err := m.redis.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close redis: %w", err))
		}
	}
	return errors.Join(errs...)
}

// waVersion formats WA_VERSION for the driver; zero keeps whatsmeow's own.
func waVersion(v [3]uint32) string {
	if v == [3]uint32{} {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2])
}

// ready is GET /ready: Redis (when configured) answers and the outbox can
// be read, so this instance can take and deliver events.
func ready(redisPing func(context.Context) error, outbox service.Outbox) func(context.Context) error {
	return func(ctx context.Context) error {
		if redisPing != nil {
			if err := redisPing(ctx); err != nil {
				return fmt.Errorf("redis: %w", err)
			}
		}
		if _, err := outbox.Stats(ctx); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		return nil
	}
}

// laravelHealth remembers how Laravel answered the last request, for /health.
type laravelHealth struct {
	service.NopFlusherObserver
	last atomic.Value // string
}

func (h *laravelHealth) OnBatch(r service.BatchReport) {
	state := "down"
	// Any 4xx means Laravel answered (the items were bad), but 408/429 mean it struggles.
	if r.Err == nil || (r.StatusCode >= 400 && r.StatusCode < 500 && r.StatusCode != 408 && r.StatusCode != 429) {
		state = "up"
	}
	h.last.Store(state)
}

// Status is "up", "down" or "unknown" (nothing sent yet).
func (h *laravelHealth) Status(context.Context) string {
	if s, ok := h.last.Load().(string); ok {
		return s
	}
	return "unknown"
}
