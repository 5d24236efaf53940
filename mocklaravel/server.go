package mocklaravel

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBodyBytes is the largest request body accepted (413 above).
const DefaultMaxBodyBytes = 5 << 20

// Config configures a Server. The zero value is a working mock: private
// in-memory database, no token, autocreate on, logs discarded.
type Config struct {
	// DB is a SQLite file, or "" / ":memory:" for a private in-memory database.
	DB string
	// Token, when set, makes /api require "Authorization: Bearer <Token>".
	Token string
	// DisableAutoCreate makes an unknown session_id fail (counted in failed,
	// 404 on the single endpoints) instead of creating its account. It is
	// negative so that the zero Config has autocreate on, as MOCK_AUTOCREATE does.
	DisableAutoCreate bool
	// SigningSecret, when set, makes /api require valid signature headers
	// (Standard Webhooks and spatie's Signature, see signature.go): 401 otherwise.
	SigningSecret string
	// Logger receives JSON-friendly structured logs; nil discards them.
	Logger *slog.Logger
	// Rand decides error_rate faults; nil seeds one from the clock. It is
	// only used under the Server's lock, so it need not be safe for concurrent use.
	Rand *rand.Rand
	// Clock gives event and stats times and fault expiry; nil is time.Now.
	Clock func() time.Time
	// Sleep spends latency_ms faults; nil waits on a timer or until ctx ends.
	Sleep func(ctx context.Context, d time.Duration)
	// MaxBodyBytes overrides DefaultMaxBodyBytes when > 0.
	MaxBodyBytes int64
}

// Server is the mock Laravel API. It is an http.Handler; the Go methods
// below do what the /__mock/ endpoints do, for in-process tests.
type Server struct {
	cfg    Config
	log    *slog.Logger
	clock  func() time.Time
	sleep  func(ctx context.Context, d time.Duration)
	store  *store
	stats  *statsRecorder
	faults faultState
	idem   idempotencyLog
	admin  *http.ServeMux

	randMu sync.Mutex
	rand   *rand.Rand
}

// New opens the database and returns a ready Server. Close it when done.
func New(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, sleep: cfg.Sleep, rand: cfg.Rand}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.sleep == nil {
		s.sleep = sleepCtx
	}
	if s.rand == nil {
		seed := uint64(time.Now().UnixNano())
		s.rand = rand.New(rand.NewPCG(seed, seed>>1|1))
	}
	if s.cfg.MaxBodyBytes <= 0 {
		s.cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	st, err := openStore(context.Background(), cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("mocklaravel: %w", err)
	}
	s.store = st
	s.stats = newStatsRecorder(s.clock())
	s.admin = s.adminRoutes()
	return s, nil
}

// Close closes the database.
func (s *Server) Close() error {
	if err := s.store.close(); err != nil {
		return fmt.Errorf("mocklaravel: close: %w", err)
	}
	return nil
}

// ServeHTTP serves /__mock/ (test and operations endpoints, never behind
// the token or faults) and everything else as the Laravel API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// Bad input must never crash the mock; a bug becomes a logged 500.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			writeReply(w, messageReply(http.StatusInternalServerError, "Server Error"))
		}
	}()
	if r.URL.Path == "/__mock" || strings.HasPrefix(r.URL.Path, "/__mock/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	s.serveAPI(w, r)
}

// Reset clears accounts, stats, idempotency keys and faults.
func (s *Server) Reset(ctx context.Context) error {
	if err := s.store.clearAccounts(ctx); err != nil {
		return fmt.Errorf("mocklaravel: reset: %w", err)
	}
	s.stats.reset(s.clock())
	s.idem.reset()
	s.faults.set(Faults{}, s.clock())
	s.log.InfoContext(ctx, "mock reset")
	return nil
}

// UpsertAccount creates or overwrites an account exactly as given (no
// newest-wins); an empty EstadoQR means pending.
func (s *Server) UpsertAccount(ctx context.Context, a Account) error {
	if a.EstadoQR == "" {
		a.EstadoQR = StatusPending
	}
	if !validSessionID(a.SessionID) {
		return fmt.Errorf("mocklaravel: session_id must match [A-Za-z0-9_-]{1,64}, got %q", a.SessionID)
	}
	if !validStatus(a.EstadoQR) {
		return fmt.Errorf("mocklaravel: unknown estado_qr %q", a.EstadoQR)
	}
	if err := s.store.putAccount(ctx, a); err != nil {
		return fmt.Errorf("mocklaravel: %w", err)
	}
	return nil
}

// Account returns one account; false when there is none.
func (s *Server) Account(ctx context.Context, id string) (Account, bool, error) {
	a, ok, err := s.store.account(ctx, id)
	if err != nil {
		return Account{}, false, fmt.Errorf("mocklaravel: %w", err)
	}
	return a, ok, nil
}

// Accounts lists every account by session id.
func (s *Server) Accounts(ctx context.Context) ([]Account, error) {
	as, err := s.store.accounts(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("mocklaravel: %w", err)
	}
	return as, nil
}

// DeleteAccount removes an account; false when there was none.
func (s *Server) DeleteAccount(ctx context.Context, id string) (bool, error) {
	ok, err := s.store.deleteAccount(ctx, id)
	if err != nil {
		return false, fmt.Errorf("mocklaravel: %w", err)
	}
	return ok, nil
}

// Stats returns the counters of the /api endpoints.
func (s *Server) Stats() Stats {
	st := s.stats.snapshot()
	st.IdempotencyKeys = s.idem.len()
	return st
}

// SetFaults replaces the faults in force; Faults{} clears them. Invalid
// faults (see Faults.Validate) are rejected.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("mocklaravel: %w", err)
	}
	s.faults.set(f, s.clock())
	s.log.Info("faults set", "faults", f)
	return nil
}

// Faults returns the faults in force.
func (s *Server) Faults() FaultState { return s.faults.state(s.clock()) }

// IdempotencyCount returns how many times each endpoint saw key.
func (s *Server) IdempotencyCount(key string) map[string]int64 {
	return s.idem.count(key, endpointKeys())
}

// roll draws a number in [0,1) for error_rate.
func (s *Server) roll() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand.Float64()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// reply is a handler's answer plus what the stats need to know about it.
type reply struct {
	status          int
	body            any
	header          http.Header
	items, bytes    int64
	updated, failed int64
	replay          bool
}

func messageReply(status int, msg string) reply {
	return reply{status: status, body: map[string]string{"message": msg}}
}

func writeReply(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	b, err := json.Marshal(rep.body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"message":"Server Error"}`))
		return
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(b)
}
