package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/service/config"
)

// laravelStub accepts every batch and remembers the statuses it got.
type laravelStub struct {
	mu       sync.Mutex
	statuses []string // session_id=estado_qr
}

func (l *laravelStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Statuses []struct {
			SessionID string `json:"session_id"`
			Status    string `json:"estado_qr"`
		} `json:"statuses"`
		QRs []json.RawMessage `json:"qrs"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	l.mu.Lock()
	for _, s := range body.Statuses {
		l.statuses = append(l.statuses, s.SessionID+"="+s.Status)
	}
	l.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"success":true,"updated":1,"failed":0}`)
}

func (l *laravelStub) got(want string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.statuses {
		if s == want {
			return true
		}
	}
	return false
}

// TestMainWiresAndFlushesOnClose runs the real wiring (sim driver, the
// default embedded store) and checks that Close publishes and delivers the
// final statuses.
func TestMainWiresAndFlushesOnClose(t *testing.T) {
	stub := &laravelStub{}
	lv := httptest.NewServer(stub)
	defer lv.Close()
	env := map[string]string{
		"GATEWAY_ADDR":         "127.0.0.1:0",
		"LARAVEL_URL":          lv.URL,
		"WA_DRIVER":            "sim",
		"DATA_DIR":             t.TempDir(),
		"SIM_SCAN_PROBABILITY": "0",
		"BATCH_INTERVAL":       "1h", // only the shutdown flush delivers NORMAL items
		"PRIORITY_INTERVAL":    "30m",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg, slog.New(slog.DiscardHandler))
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	base := "http://" + m.Addr()

	res, err := http.Post(base+"/start", "application/json", strings.NewReader(`{"user_id":7}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"session_id":"user_7"`) {
		t.Fatalf("start: %d %s", res.StatusCode, b)
	}
	// Wait for the first QR, so the session is pending when we stop.
	for i := 0; ; i++ {
		res, err := http.Get(base + "/sessions/user_7")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), `"qr":"data:image/png;base64,`) {
			break
		}
		if i > 500 {
			t.Fatalf("no QR: %s", b)
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil { // a second Close (deferred cleanup) must return, not hang
		t.Fatalf("second Close: %v", err)
	}
	if !stub.got("user_7=inactive") {
		t.Errorf("Laravel got %v, want user_7=inactive from the shutdown flush", stub.statuses)
	}
}
