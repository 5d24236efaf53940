package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/internal/logtest"
	"wagateway/service"
	"wagateway/service/config"
	gwhttp "wagateway/service/http"
	"wagateway/service/inmem"
	"wagateway/service/mock"
	"wagateway/service/qrcode"
	"wagateway/service/session"
	"wagateway/service/sim"
)

// recorder is a Publisher that keeps what it was given.
type recorder struct {
	mu    sync.Mutex
	items []service.Update
}

func (r *recorder) Publish(_ context.Context, it service.Update) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, it)
	return nil
}

type batchStub struct{ m service.BatchMetrics }

func (b batchStub) Metrics(context.Context) service.BatchMetrics { return b.m }

type gateway struct {
	srv     *httptest.Server
	sim     *sim.Driver
	laravel *mock.Laravel
	leases  *inmem.Leases
	logs    *logtest.Buffer
}

// managerConfig is the gateway's default session settings (config.Default)
// for instance, without QR_THROTTLE.
func managerConfig(instance string) session.Config {
	d := config.Default()
	return session.Config{
		Instance:  instance,
		QRExpires: d.QRExpires,
		TTL:       session.CacheTTL{QR: d.CacheTTLQR, Status: d.CacheTTLStatus, Connection: d.CacheTTLConnection, Session: d.CacheTTLSession},
		LeaseTTL:  d.LeaseTTL,
	}
}

// newGateway wires the API over a real Manager, the sim driver and inmem,
// with Laravel mocked.
func newGateway(t testing.TB, mutate func(*gwhttp.Config)) *gateway {
	t.Helper()
	clock := service.SystemClock{}
	g := &gateway{
		sim:     sim.New(sim.Config{Seed: 7}),
		laravel: mock.NewLaravel(t),
		leases:  inmem.NewLeases(clock),
		logs:    &logtest.Buffer{},
	}
	logger := slog.New(slog.NewJSONHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l1 := inmem.NewCache(clock)
	m, err := session.New(managerConfig("gw-1"), session.Deps{
		Driver:    g.sim,
		L1:        l1,
		Publisher: &recorder{},
		Laravel:   g.laravel,
		Leases:    g.leases,
		Render:    func(code string) (string, error) { return "data:image/png;base64,iVBORw0KGgo=", nil },
		Logger:    logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	cfg := gwhttp.Config{
		Sessions: m,
		Pairer:   m,
		QRImage:  qrcode.PNG,
		Batch:    batchStub{service.BatchMetrics{QRBatchSize: 12, StatusBatchSize: 2, Mode: "batch"}},
		L1:       l1,
		Sim:      g.sim,
		Logger:   logger,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g.srv = httptest.NewServer(gwhttp.NewServer(cfg).Handler())
	t.Cleanup(func() {
		g.srv.Close()
		g.sim.Close()
		cancel()
		<-done
	})
	return g
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, r.body)
	}
	return v
}

func (g *gateway) do(t testing.TB, method, path, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// eventually polls GET /sessions/{id} until cond holds; the deadline only
// guards against a hang.
func (g *gateway) eventually(t testing.TB, id string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	for range 500 {
		r := g.do(t, "GET", "/sessions/"+id, "")
		if r.status == http.StatusOK {
			if v := r.json(t); cond(v) {
				return v
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("session %s never reached the expected state", id)
	return nil
}

func hasQR(v map[string]any) bool { s, _ := v["qr"].(string); return s != "" }

func TestSessionLifecycle(t *testing.T) {
	g := newGateway(t, nil)

	r := g.do(t, "POST", "/start", `{"user_id":1}`)
	if r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	if v := r.json(t); v["session_id"] != "user_1" || v["estado_qr"] != "pending" {
		t.Fatalf("start: %s", r.body)
	}
	v := g.eventually(t, "user_1", hasQR)
	if v["source"] != "live" || v["estado_qr"] != "pending" {
		t.Fatalf("session: %v", v)
	}

	// Test 2 of the seed: a second start is a duplicate returning the same QR.
	r = g.do(t, "POST", "/start", `{"user_id":1}`)
	if again := r.json(t); r.status != http.StatusOK || again["qr"] != v["qr"] {
		t.Fatalf("second start: %d %s", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" { // it carries a QR code
		t.Errorf("start answer Cache-Control = %q, want no-store", cc)
	}
	if !strings.Contains(g.logs.String(), `"msg":"duplicate start ignored"`) {
		t.Error("duplicate start not logged")
	}

	r = g.do(t, "GET", "/sessions/user_1/qr", "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(r.body, []byte("\x89PNG")) {
		t.Fatalf("qr: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}

	r = g.do(t, "GET", "/sessions", "")
	if list := r.json(t); r.status != http.StatusOK || list["count"] != float64(1) {
		t.Fatalf("sessions: %d %s", r.status, r.body)
	}

	if r = g.do(t, "POST", "/sim/sessions/user_1/scan", ""); r.status != http.StatusAccepted {
		t.Fatalf("scan: %d %s", r.status, r.body)
	}
	g.eventually(t, "user_1", func(v map[string]any) bool { return v["estado_qr"] == "active" && v["jid"] != nil })
	if h := g.do(t, "GET", "/health", "").json(t); h["activeSessions"] != float64(1) || h["redis"] != "disabled" || h["status"] != "ok" {
		t.Errorf("health: %v", h)
	}
	if r = g.do(t, "GET", "/sessions/user_1/qr", ""); r.status != http.StatusNotFound {
		t.Errorf("qr of an active session: %d", r.status)
	}

	if r = g.do(t, "POST", "/sim/sessions/user_1/close", `{"reason":"banned"}`); r.status != http.StatusAccepted {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	v = g.eventually(t, "user_1", func(v map[string]any) bool { return v["estado_qr"] == "inactive" })
	if v["source"] != "l1" || v["reason"] != "banned" {
		t.Errorf("after close: %v", v)
	}

	if r = g.do(t, "POST", "/sessions/user_1/logout", ""); r.status != http.StatusOK {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	// Read your writes: the final status is cached, so the answer is inactive
	// at once instead of whatever Laravel has not received yet.
	r = g.do(t, "GET", "/sessions/user_1", "")
	if v := r.json(t); r.status != http.StatusOK || v["estado_qr"] != "inactive" || v["reason"] != "logout" {
		t.Errorf("after logout: %d %s", r.status, r.body)
	}
}

func TestDeleteAndPairPhone(t *testing.T) {
	g := newGateway(t, nil)
	if r := g.do(t, "POST", "/start", `{"session_id":"abc-123"}`); r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	r := g.do(t, "POST", "/sessions/abc-123/pair-phone", `{"phone":"5511999990000"}`)
	if code, _ := r.json(t)["code"].(string); r.status != http.StatusOK || len(code) != 8 {
		t.Fatalf("pair-phone: %d %s", r.status, r.body)
	}
	if r := g.do(t, "POST", "/sessions/abc-123/pair-phone", `{"phone":"call me"}`); r.status != http.StatusBadRequest {
		t.Errorf("pair-phone bad phone: %d %s", r.status, r.body)
	}
	if r := g.do(t, "DELETE", "/sessions/abc-123", ""); r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := g.do(t, "DELETE", "/sessions/abc-123", ""); r.status != http.StatusNotFound {
		t.Errorf("second delete: %d %s", r.status, r.body)
	}
}

func TestErrors(t *testing.T) {
	g := newGateway(t, nil)
	anyCtx := tmock.Anything
	// Only the lookups fall back to Laravel: GET /sessions/ghost and
	// /sessions/ghost/qr ask once each, /sessions/down once.
	g.laravel.EXPECT().SessionStatus(anyCtx, "ghost").Return(service.StatusRecord{}, service.Errorf(service.ENOTFOUND, "404")).Times(2)
	g.laravel.EXPECT().SessionStatus(anyCtx, "down").Return(service.StatusRecord{}, errors.New("connection refused")).Once()
	if _, ok, err := g.leases.Take(context.Background(), "taken", "gw-2", time.Hour); !ok || err != nil {
		t.Fatal("could not pre-acquire the lease")
	}

	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"malformed json", "POST", "/start", `{"user_id":`, 400, "invalid", "invalid JSON"},
		{"not an object", "POST", "/start", `[1]`, 400, "invalid", "invalid JSON"},
		{"empty body", "POST", "/start", ``, 400, "invalid", "JSON object"},
		{"unknown field", "POST", "/start", `{"user":1}`, 400, "invalid", `unknown field "user"`},
		{"trailing data", "POST", "/start", `{"user_id":1} {"user_id":2}`, 400, "invalid", "after the object"},
		{"user_id as string", "POST", "/start", `{"user_id":"1"}`, 400, "invalid", "user_id"},
		{"negative user_id", "POST", "/start", `{"user_id":-4}`, 400, "invalid", "positive"},
		{"no id", "POST", "/start", `{}`, 400, "invalid", "session_id or user_id"},
		{"bad session_id", "POST", "/start", `{"session_id":"a b"}`, 400, "invalid", "session_id must match"},
		{"too long session_id", "POST", "/start", `{"session_id":"` + strings.Repeat("a", 65) + `"}`, 400, "invalid", "session_id must match"},
		{"body too large", "POST", "/start", `{"session_id":"` + strings.Repeat("a", 70000) + `"}`, 413, "too_large", "request body over"},
		{"lease conflict", "POST", "/start", `{"session_id":"taken"}`, 409, "conflict", "gw-2"},
		{"bad path id", "GET", "/sessions/a.b", "", 400, "invalid", "session_id must match"},
		{"unknown session", "GET", "/sessions/ghost", "", 404, "not_found", "ghost"},
		{"unknown qr", "GET", "/sessions/ghost/qr", "", 404, "not_found", "ghost"},
		{"laravel down", "GET", "/sessions/down", "", 503, "unavailable", "unreachable"},
		{"logout unknown", "POST", "/sessions/ghost/logout", "", 404, "not_found", "ghost"},
		{"delete unknown", "DELETE", "/sessions/ghost", "", 404, "not_found", "ghost"},
		{"scan unknown", "POST", "/sim/sessions/ghost/scan", "", 404, "not_found", "ghost"},
		{"close bad body", "POST", "/sim/sessions/ghost/close", `{"why":1}`, 400, "invalid", "unknown field"},
		{"wrong method", "PUT", "/start", "", 405, "method_not_allowed", "PUT"},
		{"no route", "GET", "/nope", "", 404, "not_found", "no route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.do(t, tt.method, tt.path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			e, _ := r.json(t)["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if e["code"] != tt.code || !strings.Contains(msg, tt.message) {
				t.Errorf("error %s, want code %q and a message containing %q", r.body, tt.code, tt.message)
			}
		})
	}
	if r := g.do(t, "PUT", "/start", ""); r.header.Get("Allow") != "POST" {
		t.Errorf("405 Allow = %q", r.header.Get("Allow"))
	}
}

// failingSessions answers every call with an unexpected error.
type failingSessions struct{}

var errFire = errors.New("disk on fire at /var/secret")

func (failingSessions) Start(context.Context, string) (service.Session, error) {
	return service.Session{}, errFire
}

func (failingSessions) Session(context.Context, string) (service.Session, service.Source, error) {
	return service.Session{}, service.SourceNone, errFire
}
func (failingSessions) Sessions(context.Context) ([]service.Session, error) { return nil, errFire }
func (failingSessions) Local() []service.Session                            { return nil }
func (failingSessions) Logout(context.Context, string) error                { return errFire }
func (failingSessions) Delete(context.Context, string) error                { return errFire }
func (failingSessions) ActiveSessions() int                                 { return 0 }

func TestInternalErrorHidesDetail(t *testing.T) {
	logs := &logtest.Buffer{}
	srv := httptest.NewServer(gwhttp.NewServer(gwhttp.Config{
		Sessions: failingSessions{},
		Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
	}).Handler())
	defer srv.Close()
	res, err := http.Post(srv.URL+"/start", "application/json", strings.NewReader(`{"session_id":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 500 || !strings.Contains(string(b), `{"error":{"code":"internal","message":"internal error"}}`) {
		t.Errorf("got %d %s", res.StatusCode, b)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Error("the detail was not logged")
	}
}

func TestStatusTable(t *testing.T) {
	for code, want := range map[string]int{
		service.EINVALID: 400, service.ENOTFOUND: 404, service.ECONFLICT: 409,
		service.EUNAUTHORIZED: 401, service.EUNAVAILABLE: 503, service.EINTERNAL: 500, "made_up": 500,
	} {
		if got := gwhttp.StatusOf(code); got != want {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, want)
		}
	}
}

func TestMetrics(t *testing.T) {
	g := newGateway(t, func(c *gwhttp.Config) {
		// /metrics is whatever handler the wiring gives (service/prometheus).
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = io.WriteString(w, "# TYPE wagateway_sessions_active gauge\nwagateway_sessions_active 0\n")
		})
	})
	g.do(t, "POST", "/start", `{"session_id":"m"}`)
	g.eventually(t, "m", hasQR)

	r := g.do(t, "GET", "/metrics/batch", "")
	if v := r.json(t); r.status != 200 || v["qrBatchSize"] != float64(12) || v["statusBatchSize"] != float64(2) {
		t.Errorf("batch metrics: %s", r.body)
	}
	// The manager caches the QR right after the live session shows it: poll.
	var v map[string]any
	for range 500 {
		r = g.do(t, "GET", "/metrics/cache", "")
		if v = r.json(t); v["sets"].(float64) >= 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, k := range []string{"hits", "misses", "hitRate", "sets", "invalidations", "l1"} {
		if _, ok := v[k]; !ok {
			t.Errorf("cache metrics lack %q: %s", k, r.body)
		}
	}
	if v["l2"] != nil || v["sets"].(float64) < 1 {
		t.Errorf("cache metrics: %s", r.body)
	}
	r = g.do(t, "GET", "/metrics", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(r.body), "# TYPE wagateway_sessions_active gauge\nwagateway_sessions_active 0\n") {
		t.Errorf("prometheus: %s", r.body)
	}
}

func TestHealthReportsDependencies(t *testing.T) {
	g := newGateway(t, func(c *gwhttp.Config) {
		c.Redis = func(context.Context) error { return errors.New("down") }
		c.Laravel = func(context.Context) service.LaravelHealth {
			return service.LaravelHealth{State: service.LaravelUp, StatusCode: 200, At: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
		}
	})
	h := g.do(t, "GET", "/health", "").json(t)
	if h["status"] != "degraded" || h["redis"] != "down" || h["laravel"] != "up" {
		t.Errorf("health: %v", h)
	}
	if h["laravel_last_status_code"] != 200.0 || h["laravel_last_seen_at"] != "2026-11-27T12:00:00.000Z" {
		t.Errorf("health does not name Laravel's last answer: %v", h)
	}
	if _, ok := h["uptime_s"]; !ok {
		t.Error("no uptime_s")
	}
}

// A refusal (here a 401, a wrong token) makes Laravel down and the gateway
// degraded, naming the status code.
func TestHealthLaravelRefusingIsDown(t *testing.T) {
	g := newGateway(t, func(c *gwhttp.Config) {
		c.Laravel = func(context.Context) service.LaravelHealth {
			return service.LaravelHealth{State: service.LaravelDown, StatusCode: 401, At: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
		}
	})
	h := g.do(t, "GET", "/health", "").json(t)
	if h["status"] != "degraded" || h["laravel"] != "down" || h["laravel_last_status_code"] != 401.0 {
		t.Errorf("health: %v", h)
	}
}

func TestAPIKey(t *testing.T) {
	g := newGateway(t, func(c *gwhttp.Config) { c.APIKey = "s3cret" })
	tests := []struct {
		name    string
		path    string
		headers []string
		status  int
	}{
		{"health is open", "/health", nil, 200},
		{"no key", "/metrics/batch", nil, 401},
		{"wrong key", "/metrics/batch", []string{"X-API-Key", "nope"}, 401},
		{"x-api-key", "/metrics/batch", []string{"X-API-Key", "s3cret"}, 200},
		{"bearer", "/metrics/batch", []string{"Authorization", "Bearer s3cret"}, 200},
		{"wrong bearer", "/metrics", []string{"Authorization", "Bearer s3cre"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.do(t, "GET", tt.path, "", tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 401 && r.json(t)["error"].(map[string]any)["code"] != "unauthorized" {
				t.Errorf("body %s", r.body)
			}
		})
	}
}
