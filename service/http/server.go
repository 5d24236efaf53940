// Package http is the gateway's HTTP API (the routes are in routes below, the
// JSON shapes in sessions.go and metrics.go, and e2e/api_test.go drives them
// black-box): starting and inspecting sessions, health and metrics, and the
// simulator's controls.
//
// It must never hold state of its own or reach Redis, Laravel or WhatsApp
// directly: handlers only call the small interfaces below.
package http

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"wagateway/service"
)

// Sessions is what the API needs of the session manager.
type Sessions interface {
	Start(ctx context.Context, id string) (service.Session, error)
	Session(ctx context.Context, id string) (service.Session, service.Source, error)
	Sessions(ctx context.Context) ([]service.Session, error)
	// Local lists only the sessions running in this process.
	Local() []service.Session
	Logout(ctx context.Context, id string) error
	Delete(ctx context.Context, id string) error
	ActiveSessions() int
}

// BatchMetrics reports the delivery pipeline (the flusher).
type BatchMetrics interface {
	Metrics(ctx context.Context) service.BatchMetrics
}

// Simulator controls simulated phones (WA_DRIVER=sim only).
type Simulator interface {
	Scan(ctx context.Context, id string) error
	CloseSession(ctx context.Context, id, reason string) error
}

// Config is everything the API serves from; optional parts may be nil.
type Config struct {
	Sessions Sessions
	Pairer   service.PhonePairer // nil: no POST /sessions/{id}/pair-phone
	// QRImage decodes a session's QR data URL for GET /sessions/{id}/qr
	// (qrcode.PNG, injected so this package needs no QR library); nil: no
	// such route.
	QRImage service.QRImage
	Batch   BatchMetrics
	L1      service.Cache
	L2      service.Cache // nil without Redis
	Sim     Simulator     // nil: no /sim routes
	// Redis checks the shared store; nil means there is none ("disabled").
	Redis func(ctx context.Context) error
	// Laravel says how Laravel answered the last delivery (delivery.Health).
	Laravel func(ctx context.Context) service.LaravelHealth

	// Ready says whether this instance can do its work (Redis answers, the
	// outbox is consumable); GET /ready is 503 while it errs. nil: always ready.
	Ready func(ctx context.Context) error
	// History serves GET /sessions/{id}/history; nil: no such route.
	History service.StatusHistory
	// DeadLetters serves /deadletters; nil: no such routes.
	DeadLetters DeadLetters
	// Metrics serves GET /metrics (Prometheus text); nil: no such route.
	Metrics http.Handler

	// Router, with several instances on one Redis, sends a request for a
	// session another instance runs (or should start) there; nil: every
	// session is served here. Instance names this instance in forwarded
	// requests and in /health.
	Router   Router
	Instance string
	// Instances lists the live instances for /health; nil: not shown.
	Instances func(ctx context.Context) ([]service.Instance, error)

	// APIKey, when set, is required on every route but /health and /ready
	// (and /metrics, /metrics/* when MetricsPublic).
	APIKey        string
	MetricsPublic bool

	// UI is the operator dashboard, GET /ui (ui.go).
	UI UIConfig

	Clock  service.Clock // for uptime; default service.SystemClock
	Logger *slog.Logger
}

// Server serves the API on a listener.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	mux     *http.ServeMux
	handler http.Handler
	srv     *http.Server
	uiKeys  uiKeys
	closing chan struct{} // closed on Shutdown: ends the event streams
}

// NewServer returns the API; Serve starts it.
func NewServer(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = service.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "http"),
		started: cfg.Clock.Now(),
		mux:     http.NewServeMux(),
		uiKeys:  newUIKeys(cfg.APIKey),
		closing: make(chan struct{}),
	}
	s.routes()
	s.handler = s.authenticate(s.forward(s.mux))
	// Timeouts bound slow or idle clients; a response is small, so 30 s to
	// write it is generous.
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for open requests: event streams must end first.
	var once sync.Once
	s.srv.RegisterOnShutdown(func() { once.Do(func() { close(s.closing) }) })
	return s
}

// Handler is the whole API, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until Shutdown; it returns http.ErrServerClosed then.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting requests and waits for those in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

func (s *Server) routes() {
	s.mux.HandleFunc("POST /start", s.handleStart)
	s.mux.HandleFunc("GET /sessions", s.handleSessions)
	s.mux.HandleFunc("GET /sessions/{id}", s.handleSession)
	if s.cfg.QRImage != nil {
		s.mux.HandleFunc("GET /sessions/{id}/qr", s.handleQR)
	}
	if s.cfg.History != nil {
		s.mux.HandleFunc("GET /sessions/{id}/history", s.handleHistory)
	}
	s.mux.HandleFunc("POST /sessions/{id}/logout", s.handleLogout)
	s.mux.HandleFunc("DELETE /sessions/{id}", s.handleDelete)
	if s.stopper() != nil {
		s.mux.HandleFunc("POST /sessions/{id}/stop", s.handleStop)
	}
	if s.cfg.Pairer != nil {
		s.mux.HandleFunc("POST /sessions/{id}/pair-phone", s.handlePairPhone)
	}
	s.mux.HandleFunc("GET /health", s.handleHealth)
	s.mux.HandleFunc("GET /metrics/batch", s.handleBatchMetrics)
	s.mux.HandleFunc("GET /metrics/cache", s.handleCacheMetrics)
	s.mux.HandleFunc("GET /ready", s.handleReady)
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	if s.cfg.DeadLetters != nil {
		s.mux.HandleFunc("GET /deadletters", s.handleDeadLetters)
		s.mux.HandleFunc("POST /deadletters/replay", s.handleReplay)
		s.mux.HandleFunc("DELETE /deadletters/{id}", s.handleDeleteDeadLetter)
	}
	if s.cfg.Sim != nil {
		s.mux.HandleFunc("POST /sim/sessions/{id}/scan", s.handleSimScan)
		s.mux.HandleFunc("POST /sim/sessions/{id}/close", s.handleSimClose)
	}
	s.uiRoutes()
	s.mux.HandleFunc("/", s.handleNoRoute)
}

// handleNoRoute answers in JSON what the mux would answer in plain text:
// 405 (with Allow) for a known path, 404 otherwise.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		for _, m := range allowed {
			w.Header().Add("Allow", m)
		}
		s.writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	s.writeError(w, http.StatusNotFound, service.ENOTFOUND, "no route "+r.Method+" "+r.URL.Path)
}
