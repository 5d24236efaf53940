package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/internal/logtest"
	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/delivery"
	"wagateway/service/inmem"
	"wagateway/service/laravel"
)

// flLaravelServer is a small Laravel over HTTP: it keeps the newest QR and
// status per session, refuses session "bad" with an indexed 422, and
// answers its first request with a 503 and Retry-After.
type flLaravelServer struct {
	mu       sync.Mutex
	requests int
	keys     []string
	sizes    []int
	qr       map[string]string
	qrAt     map[string]time.Time
	status   map[string]string
}

func (s *flLaravelServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
	raw, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	if s.requests == 1 {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"message":"Service Unavailable"}`)
		s.sizes = append(s.sizes, 0)
		return
	}
	var body struct {
		QRs      []map[string]string `json:"qrs"`
		Statuses []map[string]string `json:"statuses"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	field, items := "qrs", body.QRs
	if r.URL.Path == "/api/whatsapp/status/batch" {
		field, items = "statuses", body.Statuses
	}
	s.sizes = append(s.sizes, len(items))
	errs := map[string][]string{}
	for i, it := range items {
		if it["session_id"] == "bad" {
			k := fmt.Sprintf("%s.%d.session_id", field, i)
			errs[k] = []string{"The selected " + k + " is invalid."}
		}
	}
	if len(errs) > 0 {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "The given data was invalid.", "errors": errs})
		return
	}
	for _, it := range items {
		id := it["session_id"]
		if field == "qrs" {
			at, _ := time.Parse(service.TimeFormat, it["generated_at"])
			if at.After(s.qrAt[id]) {
				s.qr[id], s.qrAt[id] = it["qr"], at
			}
		} else {
			s.status[id] = it["estado_qr"]
		}
	}
	_, _ = fmt.Fprintf(w, `{"success":true,"updated":%d,"failed":0}`, len(items))
}

// The flusher over the real in-memory outbox and the real Laravel client.
func TestFlusherOverInmemOutboxAndHTTP(t *testing.T) {
	srv := &flLaravelServer{qr: map[string]string{}, qrAt: map[string]time.Time{}, status: map[string]string{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client, err := laravel.New(laravel.Config{BaseURL: ts.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	clock := newFlClock(true)
	outbox := inmem.NewOutbox(clock)
	logs := &logtest.Buffer{}
	f, err := delivery.New(withDefaults(delivery.Config{Clock: clock, Rand: func() float64 { return 0.5 }}), outbox, client,
		slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	sessions := []string{"bad"}
	for i := range 70 {
		sessions = append(sessions, fmt.Sprintf("user_%d", i))
	}
	for _, s := range sessions {
		for _, it := range []service.Update{flQR(s, time.Second), flQR(s, 2*time.Second), flStatus(s, service.StatusExpired, 3*time.Second)} {
			if err := f.Publish(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := f.FlushAll(fctx); err != nil {
		t.Fatalf("FlushAll: %v", err)
	}

	st, _ := outbox.Stats(ctx)
	if st.Depth[service.LaneHigh] != 0 || st.Depth[service.LaneNormal] != 0 || st.DeadLettered != 2 {
		t.Fatalf("outbox after FlushAll: %+v", st)
	}
	// The newest QR of "bad" and its status are refused; its older QR left
	// the outbox when the newer one was added, as every session's did.
	dead, _ := outbox.DeadLetters(ctx, service.DeadLetterQuery{Limit: 10})
	for _, d := range dead {
		if d.Item.SessionID != "bad" || !strings.Contains(d.Reason, "422") || !strings.Contains(d.Reason, "session_id is invalid") {
			t.Errorf("dead letter %+v", d)
		}
	}

	srv.mu.Lock()
	defer srv.mu.Unlock()
	for i, n := range srv.sizes {
		if n > config.Default().BatchSize {
			t.Errorf("request %d carried %d items", i, n)
		}
	}
	// The lanes run in parallel: the 503'd request's retry comes later, with its key.
	if srv.keys[0] == "" || !slices.Contains(srv.keys[1:], srv.keys[0]) {
		t.Errorf("the retry after the 503 did not reuse key %q: %v", srv.keys[0], srv.keys)
	}
	for _, s := range sessions[1:] {
		if !srv.qrAt[s].Equal(flT0.Add(2*time.Second)) || srv.status[s] != "expired" {
			t.Fatalf("Laravel has %s: qr@%s status %q", s, srv.qrAt[s], srv.status[s])
		}
	}
	m := f.Metrics(ctx)
	if m.Sent != 140 || m.Superseded != 71 || m.DeadLettered != 2 || m.Retries < 1 || m.Durable {
		t.Fatalf("metrics = %+v", m)
	}
	if m.RequestsSaved < 200 {
		t.Fatalf("requests saved = %d for %d events", m.RequestsSaved, m.Accepted)
	}
}
