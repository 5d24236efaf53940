package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/internal/logtest"
	"wagateway/internal/redistest"
	"wagateway/mocklaravel"
	"wagateway/service/config"
)

// startMain runs the real wiring with env (plus the sim driver on
// 127.0.0.1:0) and logs into logs. The returned close stops it once (Close
// may be called only once); the test's cleanup calls it too.
func startMain(t *testing.T, env map[string]string, logs io.Writer) (*Main, func() error) {
	t.Helper()
	full := map[string]string{"GATEWAY_ADDR": "127.0.0.1:0", "WA_DRIVER": "sim", "SIM_SCAN_PROBABILITY": "0", "LOG_LEVEL": "debug",
		"DATA_DIR": t.TempDir()}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(func(k string) string { return full[k] })
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	closeOnce := sync.OnceValue(m.Close)
	t.Cleanup(func() { _ = closeOnce() })
	return m, closeOnce
}

func get(t *testing.T, url string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// post POSTs body to url and fails the test unless the answer is 2xx.
func post(t *testing.T, url, body string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %s", url, res.StatusCode, b)
	}
}

// serveLaravel serves a mock Laravel (cfg) until the test ends; the items
// of rejected sessions fail validation (422s, dead letters).
func serveLaravel(t *testing.T, cfg mocklaravel.Config, rejected ...string) (*mocklaravel.Server, string) {
	t.Helper()
	mock, err := mocklaravel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	lv := httptest.NewServer(mock)
	t.Cleanup(lv.Close)
	if len(rejected) > 0 {
		if err := mock.SetFaults(mocklaravel.Faults{RejectSessions: rejected}); err != nil {
			t.Fatal(err)
		}
	}
	return mock, lv.URL
}

// startFastOnRedis runs the real wiring on a Redis of its own and the
// Laravel at laravelURL, flushing fast (HIGH every 50 ms, NORMAL every
// 100 ms), with env on top; it returns the gateway, its close and its URL.
func startFastOnRedis(t *testing.T, laravelURL string, env map[string]string) (*Main, func() error, string) {
	t.Helper()
	rdb := redistest.Start(t)
	full := map[string]string{
		"REDIS_URL": redisURL(rdb.Options()), "LARAVEL_URL": laravelURL,
		"BATCH_INTERVAL": "100ms", "PRIORITY_INTERVAL": "50ms",
	}
	for k, v := range env {
		full[k] = v
	}
	m, closeMain := startMain(t, full, io.Discard)
	return m, closeMain, "http://" + m.Addr()
}

// until polls cond; the bound only guards against a hang.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

// redisServer is a redis-server of this test alone, so it can be killed.
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

// startRedis starts redis-server on port (0: a free one), with requirepass
// password when it is not empty.
func startRedis(t *testing.T, port int, password string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not installed (make unit installs it): %v", err)
	}
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}
	if password != "" {
		args = append(args, "--requirepass", password)
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{port: port, cmd: cmd}
	t.Cleanup(r.stop)
	until(t, "redis-server listens", func() bool {
		c, err := net.Dial("tcp", r.addr())
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return r
}

func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *redisServer) stop() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

// TestReadyFlipsWithRedis: /ready is 503 while Redis is gone and 200 once
// it answers again; /health stays 200 throughout. The Redis password never
// shows in the logs, the outage's connection errors included.
func TestReadyFlipsWithRedis(t *testing.T) {
	const password = "redis-pass-Hq4vW8"
	rs := startRedis(t, 0, password)
	logs := &logtest.Buffer{}
	m, closeMain := startMain(t, map[string]string{"REDIS_URL": "redis://:" + password + "@" + rs.addr() + "/0", "LARAVEL_URL": "http://127.0.0.1:1"}, logs)
	base := "http://" + m.Addr()

	if code, body := get(t, base+"/ready"); code != http.StatusOK {
		t.Fatalf("ready with Redis up: %d %s", code, body)
	}
	rs.stop()
	until(t, "/ready is 503 with Redis down", func() bool { c, _ := get(t, base+"/ready"); return c == http.StatusServiceUnavailable })
	if code, _ := get(t, base+"/health"); code != http.StatusOK {
		t.Errorf("health with Redis down: %d", code)
	}
	startRedis(t, rs.port, password)
	until(t, "/ready is 200 with Redis back", func() bool { c, _ := get(t, base+"/ready"); return c == http.StatusOK })
	_ = closeMain()
	if out := logs.String(); strings.Contains(out, password) {
		t.Errorf("the Redis password is in the logs:\n%s", out)
	} else if !strings.Contains(out, `"REDIS_URL":"redis://:xxxxx@`) && !strings.Contains(out, `"REDIS_URL":"redis://:***@`) {
		t.Logf("REDIS_URL as logged: %s", out[:min(len(out), 400)])
	}
}

// TestProductionWiring runs a gateway with every secret set against the
// mock Laravel holding the same signing secret and token: deliveries are
// signed and accepted, the API wants its key, /metrics is Prometheus, and no
// secret, token or QR code reaches the logs (debug level included).
func TestProductionWiring(t *testing.T) {
	const (
		apiKey  = "api-key-Zq8rT1"
		token   = "laravel-token-Xy7pQ2"
		signing = "signing-secret-Lm3nB9"
	)
	mockLogs := &logtest.Buffer{}
	mock, err := mocklaravel.New(mocklaravel.Config{Token: token, SigningSecret: signing,
		Logger: slog.New(slog.NewJSONHandler(mockLogs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	lv := httptest.NewServer(mock)
	t.Cleanup(lv.Close)

	logs := &logtest.Buffer{}
	m, closeMain := startMain(t, map[string]string{
		"LARAVEL_URL": lv.URL, "LARAVEL_TOKEN": token, "LARAVEL_SIGNING_SECRET": signing, "API_KEY": apiKey,
		"PRIORITY_INTERVAL": "50ms", "BATCH_INTERVAL": "100ms",
	}, logs)
	base := "http://" + m.Addr()

	for _, h := range [][]string{nil, {"X-API-Key", "wrong"}, {"Authorization", "Bearer " + apiKey + "x"}} {
		if code, body := get(t, base+"/sessions", h...); code != http.StatusUnauthorized {
			t.Errorf("/sessions with %v: %d %s", h, code, body)
		}
	}
	if code, _ := get(t, base+"/metrics"); code != http.StatusUnauthorized {
		t.Errorf("/metrics without a key: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/start", strings.NewReader(`{"session_id":"prod-1"}`))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("start: %d", res.StatusCode)
	}

	// The QR reaches the mock: signed, with the token, accepted.
	until(t, "the QR is delivered", func() bool {
		a, ok, _ := mock.Account(context.Background(), "prod-1")
		return ok && a.QRCode != ""
	})
	if strings.Contains(mockLogs.String(), "signature refused") {
		t.Errorf("the mock refused a signature: %s", mockLogs.String())
	}
	// The mock stores the QR before the gateway has read its answer and
	// counted it: wait for the count, then check the rest.
	var code int
	var text string
	until(t, "the 2xx answer is counted", func() bool {
		code, text = get(t, base+"/metrics", "X-API-Key", apiKey)
		return code == http.StatusOK && strings.Contains(text, `wagateway_laravel_responses_total{code="2xx",endpoint="qr_batch"}`)
	})
	for _, want := range []string{
		`wagateway_events_accepted_total{kind="qr",lane="high"}`,
		`wagateway_laravel_responses_total{code="2xx",endpoint="qr_batch"}`,
		`wagateway_sessions{status="pending"} 1`,
		`wagateway_outbox_depth{lane="high"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	a, _, _ := mock.Account(context.Background(), "prod-1")
	if err := closeMain(); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if !strings.Contains(out, `"LARAVEL_SIGNING_SECRET_set":true`) || !strings.Contains(out, `"API_KEY_set":true`) {
		t.Errorf("the start-up line does not show the redacted config:\n%s", out)
	}
	for name, secret := range map[string]string{"API_KEY": apiKey, "LARAVEL_TOKEN": token, "LARAVEL_SIGNING_SECRET": signing,
		"the QR code": a.QRCode, "a QR data URL": "data:image/png", "a PNG": "iVBORw0KGgo"} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("%s appears in the logs", name)
		}
	}
}
