package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
	"wagateway/service/cluster"
	"wagateway/service/config"
	"wagateway/service/dashboard"
	"wagateway/service/delivery"
	"wagateway/service/history"
	gwhttp "wagateway/service/http"
	"wagateway/service/inmem"
	"wagateway/service/laravel"
	"wagateway/service/notify"
	"wagateway/service/prometheus"
	"wagateway/service/qrcode"
	"wagateway/service/redis"
	"wagateway/service/session"
	"wagateway/service/sim"
	"wagateway/service/sqlite"
	"wagateway/service/whatsmeow"
)

// Main is the running gateway: every component it started and how to stop it.
type Main struct {
	Config config.Config
	Logger *slog.Logger

	clock service.Clock

	// Stores: Redis when configured, else the embedded store (or memory).
	redis         goredis.UniversalClient // nil without REDIS_URL
	local         *sqlite.DB              // the embedded store; nil with Redis or OUTBOX=memory
	l1, l2        service.Cache           // l2 nil with OUTBOX=memory
	outbox        service.Outbox
	leases        service.Leases
	instances     service.Instances           // nil without Redis: one instance alone
	ping          func(context.Context) error // nil without Redis
	flushBehind   func(context.Context)       // sends the queued cache and history writes; nil without Redis
	statusHistory service.StatusHistory

	metrics  *prometheus.Metrics
	laravel  service.Laravel // counted by metrics
	health   *delivery.Health
	monitor  *dashboard.Monitor // what GET /ui shows live
	flusher  *delivery.Flusher
	dead     *delivery.DeadLetters
	notify   *notify.Notifier // nil without ALERT_WEBHOOK_URL
	driver   service.Driver
	sim      *sim.Driver // nil unless WA_DRIVER=sim
	manager  *session.Manager
	node     *cluster.Node // nil without Redis
	stopNode context.CancelFunc

	server *gwhttp.Server
	ln     net.Listener
	served chan error   // result of server.Serve
	pprof  *pprofServer // nil unless PPROF_ADDR

	cancel context.CancelFunc // stops the background loops
	loops  sync.WaitGroup

	closeOnce sync.Once // a second Close would wait forever on served
	closeErr  error
}

// NewMain returns a Main for cfg; nothing starts before Run.
func NewMain(cfg config.Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger, clock: service.SystemClock{}}
}

// Run starts the gateway and returns once it is serving; ctx bounds start-up.
// On error, Close releases whatever was started.
func (m *Main) Run(ctx context.Context) error {
	m.logStart()
	// Profiles on their own loopback listener, when PPROF_ADDR asks.
	if err := m.startPprof(); err != nil {
		return err
	}
	// Cache, outbox and leases: Redis when configured, else the embedded
	// store in DATA_DIR (memory with OUTBOX=memory).
	if err := m.openStores(ctx); err != nil {
		return err
	}
	// Laravel's client, its answers counted for /metrics and /health.
	if err := m.openLaravel(); err != nil {
		return err
	}
	// The flusher, which delivers the outbox to Laravel.
	if err := m.buildFlusher(); err != nil {
		return err
	}
	// WhatsApp: real phones or simulated ones.
	if err := m.openDriver(ctx); err != nil {
		return err
	}
	// The session manager, which turns driver events into outbox updates.
	if err := m.buildManager(); err != nil {
		return err
	}
	// The loops, then the sessions paired before the last stop.
	m.startLoops()
	m.restoreSessions(ctx)
	// The HTTP API.
	return m.startServer()
}

func (m *Main) logStart() {
	m.Logger.Info("starting", "config", m.Config)
	if m.Config.APIKey == "" {
		m.Logger.Warn("API_KEY empty: the HTTP API is open to anyone who can reach it")
	}
}

func (m *Main) openStores(ctx context.Context) error {
	cfg, log := m.Config, m.Logger
	m.l1 = inmem.NewCache(m.clock)
	switch {
	case cfg.Outbox == config.OutboxMemory:
		log.Warn("OUTBOX=memory: outbox and cache are in memory, NOT durable: every pending update is lost when the process ends")
		m.outbox, m.leases = inmem.NewOutbox(m.clock), inmem.NewLeases(m.clock)
		m.statusHistory = inmem.NewHistory(m.clock, cfg.HistoryMax, cfg.HistoryMaxAge)
		return nil
	case cfg.RedisURL == "":
		return m.openEmbedded(ctx)
	}
	redis.LogTo(log) // go-redis's own lines (dial failures) as JSON too, not plain stderr
	rdb, err := redis.Open(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	m.redis = rdb
	// A dead instance's claimed items move to the survivors about as fast
	// as its sessions do (a live one re-reads its own, so this rarely
	// delivers twice; twice is harmless: Laravel keeps the newest).
	claim := min(redis.DefaultClaimTimeout, max(2*cfg.LeaseTTL, 5*time.Second))
	acks := redis.ReplicaAcks(cfg.RedisURL)
	// Behind Sentinel every outbox item, lease and device waits for a
	// replica (WAIT): an acknowledged item survives a failover.
	ob, err := redis.NewOutbox(rdb, redis.OutboxConfig{Consumer: cfg.InstanceID, ClaimTimeout: claim, ReplicaAcks: acks, Clock: m.clock, Logger: log,
		// A hard bound between two prunes; the prune (DEAD_LETTER_MAX) counts what it drops.
		DeadLetterCap: 2 * cfg.DeadLetterMax})
	if err != nil {
		return fmt.Errorf("redis outbox: %w", err)
	}
	// Cache and history writes are not the durable record: they wait a few
	// ms to share one pipeline, so an event costs one round trip (the outbox).
	behind := redis.NewWriteBehind(rdb, redis.DefaultWriteBehind)
	m.flushBehind = behind.Close
	m.l2, m.outbox, m.leases = redis.NewCache(rdb, redis.WithWriteBehind(behind)), ob, redis.NewLeases(rdb, "").WaitReplicas(acks).AfterWrites(behind)
	m.instances = redis.NewInstances(rdb, "")
	m.statusHistory = redis.NewHistory(rdb, "", m.clock, cfg.HistoryMax, cfg.HistoryMaxAge, redis.HistoryWriteBehind(behind, log))
	m.ping = func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	return nil
}

// openEmbedded opens the durable store in DATA_DIR; a directory another
// gateway process holds stops start-up (its error names that process).
func (m *Main) openEmbedded(ctx context.Context) error {
	cfg, log := m.Config, m.Logger
	db, err := sqlite.Open(ctx, sqlite.Config{Dir: cfg.DataDir, Clock: m.clock, Logger: log})
	if err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	m.local = db
	// The cap is a backstop, as for Redis: the pruner keeps DEAD_LETTER_MAX.
	ob, err := sqlite.NewOutbox(ctx, db, sqlite.OutboxConfig{Consumer: cfg.InstanceID, DeadLetterCap: 2 * cfg.DeadLetterMax})
	if err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	m.l2, m.outbox, m.leases = sqlite.NewCache(db), ob, sqlite.NewLeases(db)
	// Status history stays in memory: it is for operators, not delivery.
	m.statusHistory = inmem.NewHistory(m.clock, cfg.HistoryMax, cfg.HistoryMaxAge)
	log.Info("no REDIS_URL: outbox, cache and leases in the embedded store, durable; one process per DATA_DIR",
		"data_dir", cfg.DataDir, "path", db.Path())
	return nil
}

func (m *Main) openLaravel() error {
	cfg := m.Config
	lv, err := laravel.New(laravel.Config{
		BaseURL:       cfg.LaravelURL.String(),
		Token:         cfg.LaravelToken,
		Timeout:       cfg.LaravelTimeout,
		SigningSecret: cfg.LaravelSigningSecret,
		Logger:        m.Logger.With("component", "laravel"),
	})
	if err != nil {
		return fmt.Errorf("laravel client: %w", err)
	}
	m.metrics = prometheus.New(prometheus.Sources{
		Outbox: m.outbox, L1: m.l1, L2: m.l2,
		Ready: ready(m.ping, m.outbox), Redis: m.ping,
		// The alert rules speak in lane intervals.
		Intervals: map[service.Lane]time.Duration{
			service.LaneHigh:   cfg.PriorityInterval,
			service.LaneNormal: cfg.BatchInterval,
		},
		Clock: m.clock,
	})
	m.laravel = m.metrics.Laravel(lv) // counts every answer, status lookups included
	return nil
}

func (m *Main) buildFlusher() error {
	cfg := m.Config
	m.health = delivery.NewHealth(m.clock)
	m.monitor = dashboard.NewMonitor(m.clock)
	observers := []service.FlusherObserver{m.health, m.metrics, m.monitor}
	n, err := newNotifier(cfg, m.outbox, m.metrics, m.clock, m.Logger)
	if err != nil {
		return err
	}
	if n != nil {
		m.notify = n
		observers = append(observers, n)
	}
	f, err := delivery.New(delivery.Config{
		Mode:             cfg.DeliveryMode,
		BatchSize:        cfg.BatchSize,
		BatchInterval:    cfg.BatchInterval,
		PriorityInterval: cfg.PriorityInterval,
		BackoffBase:      cfg.BackoffBase,
		BackoffMax:       cfg.BackoffMax,
		Clock:            m.clock,
		Observer:         delivery.Observers(observers...),
	}, m.outbox, m.laravel, m.Logger.With("component", "flusher"))
	if err != nil {
		return err
	}
	m.flusher = f
	// Dead letters replay through the flusher, like new events.
	m.dead = delivery.NewDeadLetters(delivery.DeadLetterConfig{
		Keep: cfg.DeadLetterMax, MaxAge: cfg.DeadLetterMaxAge, Clock: m.clock, Observer: m.metrics,
	}, m.outbox, m.flusher, m.Logger.With("component", "deadletters"))
	return nil
}

func (m *Main) openDriver(ctx context.Context) error {
	cfg, log := m.Config, m.Logger
	if cfg.Driver == config.DriverSim {
		m.sim = sim.New(sim.Config{
			MarkRuns:        true,
			TimeScale:       cfg.SimTimeScale,
			ScanProbability: cfg.SimScanProbability,
			ScanDelay:       cfg.SimScanDelay,
			Clock:           m.clock,
			Seed:            uint64(time.Now().UnixNano()),
			Logger:          log,
			Devices:         m.simDevices(),
		})
		m.driver = m.sim
		log.Warn("WA_DRIVER=sim: simulated phones, no real WhatsApp session")
		return nil
	}
	wd, err := whatsmeow.New(ctx, whatsmeow.Config{Store: cfg.Store, Version: waVersion(cfg.WAVersion), Logger: log, Clock: m.clock})
	if err != nil {
		return fmt.Errorf("whatsmeow driver: %w", err)
	}
	m.driver = wd
	return nil
}

func (m *Main) buildManager() error {
	cfg := m.Config
	mgr, err := session.New(session.Config{
		Instance:   cfg.InstanceID,
		QRThrottle: cfg.QRThrottle,
		QRExpires:  cfg.QRExpires,
		TTL: session.CacheTTL{
			QR:         cfg.CacheTTLQR,
			Status:     cfg.CacheTTLStatus,
			Connection: cfg.CacheTTLConnection,
			Session:    cfg.CacheTTLSession,
		},
		LeaseTTL:    cfg.LeaseTTL,
		MaxSessions: cfg.MaxSessions,
		SharedL2:    m.redis != nil,
		Clock:       m.clock,
	}, session.Deps{
		Driver: m.driver,
		L1:     m.l1,
		L2:     m.l2,
		// Each status update the outbox takes goes into the history too.
		Publisher: history.Publisher(m.monitor.Publisher(m.metrics.Publisher(m.flusher)), m.statusHistory, cfg.InstanceID, m.Logger),
		Laravel:   m.laravel,
		Leases:    m.leases,
		Render:    qrcode.Render,
		Logger:    m.Logger,
	})
	if err != nil {
		return err
	}
	m.manager = mgr
	m.metrics.CountSessions(mgr)
	return nil
}

// startLoops starts the flusher, manager and dead-letter prune loops. They outlive Run's ctx
// (start-up only): Close stops them, after the manager has published its
// last statuses.
func (m *Main) startLoops() {
	loopCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.loop("flusher", func() error { return m.flusher.Run(loopCtx) })
	m.loop("manager", func() error { return m.manager.Run(loopCtx) })
	m.loop("deadletters", func() error { return m.dead.Run(loopCtx) })
	if m.notify != nil {
		m.loop("notify", func() error { return m.notify.Run(loopCtx) })
	}
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

// restoreSessions restarts the paired sessions; a failure is logged, not
// fatal: the others still run.
func (m *Main) restoreSessions(ctx context.Context) {
	if n, err := m.manager.Restore(ctx); err != nil {
		m.Logger.Error("restore sessions", "restored", n, "err", err)
	}
}

func (m *Main) startServer() error {
	cfg := m.Config
	api := gwhttp.Config{
		Sessions:      m.manager,
		QRImage:       qrcode.PNG,
		Batch:         m.flusher,
		L1:            m.l1,
		L2:            m.l2,
		Redis:         m.ping,
		Laravel:       m.health.Health,
		Ready:         ready(m.ping, m.outbox),
		Metrics:       m.metrics.Handler(),
		DeadLetters:   m.dead,
		History:       m.statusHistory,
		APIKey:        cfg.APIKey,
		MetricsPublic: cfg.MetricsPublic,
		UI: gwhttp.UIConfig{
			Feed:    m.monitor,
			Traffic: m.monitor.Traffic,
			DeadLetters: func(ctx context.Context, limit int) ([]service.DeadLetter, error) {
				return m.outbox.DeadLetters(ctx, service.DeadLetterQuery{Limit: limit})
			},
		},
		Clock:  m.clock,
		Logger: m.Logger,
	}
	if m.manager.CanPairPhone() {
		api.Pairer = m.manager
	}
	if m.sim != nil {
		api.Sim = m.sim
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on GATEWAY_ADDR %s: %w", cfg.Addr, err)
	}
	// With Redis, this instance joins the others: registry, forwarding, takeover.
	if m.instances != nil {
		m.startNode(advertiseURL(cfg.AdvertiseURL, ln.Addr()))
		api.Router, api.Instance, api.Instances = m.node, cfg.InstanceID, m.node.Live
	}
	// The server is set only once it serves: Close waits on served for it.
	m.ln = ln
	m.server = gwhttp.NewServer(api)
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	m.Logger.Info("listening", "addr", ln.Addr().String(), "driver", cfg.Driver, "delivery_mode", string(cfg.DeliveryMode))
	return nil
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
// within SHUTDOWN_TIMEOUT, then the driver and the store closed. Calling it
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
	// Hand the sessions over while other instances live; the last one
	// standing stops them (inactive, reason stopped).
	handover := false
	if m.node != nil {
		m.stopNode() // no takeover while this instance leaves
		others, err := m.node.Others(ctx)
		if err != nil {
			m.Logger.Warn("live instances unknown; stopping sessions instead of handing them over", "err", err)
		}
		handover = others > 0
	}
	if m.manager != nil {
		if err := m.manager.Close(ctx, handover); err != nil {
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
	if m.node != nil {
		if err := m.node.Leave(ctx); err != nil {
			errs = append(errs, fmt.Errorf("leave the instance registry: %w", err))
		}
	}
	if m.driver != nil {
		if err := m.driver.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close driver: %w", err))
		}
	}
	if m.flushBehind != nil {
		m.flushBehind(ctx)
	}
	if m.redis != nil {
		if err := m.redis.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close redis: %w", err))
		}
	}
	if m.local != nil {
		if err := m.local.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close embedded store: %w", err))
		}
	}
	if m.pprof != nil {
		if err := m.pprof.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// simDevices is where simulated phones keep their paired devices: Redis
// when configured, so another instance can take a session over.
func (m *Main) simDevices() sim.Devices {
	if m.redis == nil {
		return nil
	}
	return redis.NewDevices(m.redis, "").WaitReplicas(redis.ReplicaAcks(m.Config.RedisURL))
}

// startNode joins the instance registry and starts the node's loop
// (heartbeat, takeover of orphaned sessions); Close stops it first.
func (m *Main) startNode(advertise string) {
	cfg := m.Config
	m.node = cluster.New(cluster.Config{
		Instance:     cfg.InstanceID,
		AdvertiseURL: advertise,
		MaxSessions:  cfg.MaxSessions,
		LeaseTTL:     cfg.LeaseTTL,
		Clock:        m.clock,
		Logger:       m.Logger,
	}, m.leases, m.instances, m.manager)
	ctx, cancel := context.WithCancel(context.Background())
	m.stopNode = cancel
	m.loop("cluster", func() error { return m.node.Run(ctx) })
	m.Logger.Info("joined the instance registry", "advertise_url", advertise, "lease_ttl", cfg.LeaseTTL.String(), "max_sessions", cfg.MaxSessions)
}

// advertiseURL is ADVERTISE_URL, or http://<host>:<port> of the listener
// (the host name when it listens on every interface).
func advertiseURL(configured string, addr net.Addr) string {
	if configured != "" {
		return configured
	}
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// newNotifier builds the failure notices of ALERT_WEBHOOK_URL, signed like
// deliveries; nil when it is not set.
func newNotifier(cfg config.Config, outbox service.Outbox, obs service.NoticeObserver, clock service.Clock, log *slog.Logger) (*notify.Notifier, error) {
	if cfg.AlertWebhookURL == nil {
		return nil, nil
	}
	sender, err := laravel.NewNoticeSender(laravel.NoticeConfig{URL: cfg.AlertWebhookURL, SigningSecret: cfg.LaravelSigningSecret})
	if err != nil {
		return nil, fmt.Errorf("alert webhook: %w", err)
	}
	if cfg.LaravelSigningSecret == "" {
		log.Warn("ALERT_WEBHOOK_URL set without LARAVEL_SIGNING_SECRET: notices go unsigned")
	}
	return notify.New(notify.Config{Instance: cfg.InstanceID, After: cfg.AlertAfter, Clock: clock, Observer: obs},
		sender, outbox, log.With("component", "notify")), nil
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
