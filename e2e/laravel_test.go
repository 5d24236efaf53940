//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// Laravel is mocklaravel served in the test process, with every /api
// request recorded as it arrived (the mock's own stats have counts, not
// arrival times, which the Retry-After check needs).
type Laravel struct {
	URL  string // http://127.0.0.1:<port>, for a gateway on the host
	Port int    // it listens on every interface: a gateway in a container reaches it too
	Mock *mocklaravel.Server

	mu       sync.Mutex
	requests []Request
}

// Request is one /api request the mock got.
type Request struct {
	At             time.Time
	Path           string
	Status         int           // the mock's answer
	IdempotencyKey string        // the same for every attempt of one batch
	RetryAfter     time.Duration // the Retry-After the mock answered, 0 without
	Items          []Sent        // batch items (statuses or qrs), in order
}

// Sent is one item of a batch request.
type Sent struct {
	SessionID string `json:"session_id"`
	Status    string `json:"estado_qr"`
	QR        string `json:"qr"`
	At        string `json:"updated_at"`
	QRAt      string `json:"generated_at"`
}

// startLaravel runs a fresh mock Laravel; it stops when the test ends.
func startLaravel(t *testing.T) *Laravel {
	t.Helper()
	mock, err := mocklaravel.New(mocklaravel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Laravel{Mock: mock, Port: ln.Addr().(*net.TCPAddr).Port}
	l.URL = fmt.Sprintf("http://127.0.0.1:%d", l.Port)
	srv := &http.Server{Handler: l, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = mock.Close()
	})
	return l
}

// ServeHTTP records /api requests and hands every request to the mock.
func (l *Laravel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		l.Mock.ServeHTTP(w, r)
		return
	}
	rec := Request{At: time.Now(), Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var batch struct {
		Statuses []Sent `json:"statuses"`
		QRs      []Sent `json:"qrs"`
	}
	if json.Unmarshal(body, &batch) == nil {
		rec.Items = append(batch.Statuses, batch.QRs...)
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	l.Mock.ServeHTTP(sw, r)
	rec.Status = sw.status
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err == nil {
		rec.RetryAfter = time.Duration(s) * time.Second
	}
	l.mu.Lock()
	l.requests = append(l.requests, rec)
	l.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Requests returns the /api requests so far, in arrival order.
func (l *Laravel) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.requests...)
}

// BatchRequests returns the requests to the two batch endpoints.
func (l *Laravel) BatchRequests() []Request {
	var out []Request
	for _, r := range l.Requests() {
		if r.Path == "/api/qr/batch" || r.Path == "/api/whatsapp/status/batch" {
			out = append(out, r)
		}
	}
	return out
}

// SetFaults replaces the mock's faults (mocklaravel.Faults{} clears them).
func (l *Laravel) SetFaults(t *testing.T, f mocklaravel.Faults) {
	t.Helper()
	if err := l.Mock.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

// Accounts returns the mock's whatsapp_accounts rows by session id.
func (l *Laravel) Accounts(t *testing.T) map[string]mocklaravel.Account {
	t.Helper()
	as, err := l.Mock.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]mocklaravel.Account, len(as))
	for _, a := range as {
		out[a.SessionID] = a
	}
	return out
}
