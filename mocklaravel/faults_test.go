package mocklaravel

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestFaultDown(t *testing.T) {
	s, _ := newTestServer(t, Config{Token: "tok"})
	if err := s.SetFaults(Faults{Down: true, RetryAfterS: 5}); err != nil {
		t.Fatal(err)
	}
	// Every /api request, even unauthenticated or unknown ones, is 503.
	for _, path := range []string{"/api/qr/batch", "/api/whatsapp/status/batch", "/api/qr", "/api/whatsapp/status", "/api/nope"} {
		a := call(t, s, http.MethodPost, path, `{}`)
		if a.status != 503 || a.raw != `{"message":"Service Unavailable"}` || a.header.Get("Retry-After") != "5" {
			t.Errorf("%s: %d %s Retry-After=%q", path, a.status, a.raw, a.header.Get("Retry-After"))
		}
	}
	if a := call(t, s, http.MethodGet, "/api/whatsapp/status/abc", nil); a.status != 503 {
		t.Errorf("GET status: %d", a.status)
	}
	// /__mock/ is never faulted.
	if a := call(t, s, http.MethodGet, "/__mock/stats", nil); a.status != 200 {
		t.Errorf("/__mock/stats: %d", a.status)
	}
	if got := s.Stats().Endpoints[KeyQRBatch].Status[503]; got != 1 {
		t.Errorf("faulted requests counted %d under 503, want 1", got)
	}
	if err := s.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if a := call(t, s, http.MethodPost, "/api/whatsapp/status", map[string]any{"session_id": "a", "estado_qr": "active"}, "Authorization", "Bearer tok"); a.status != 200 {
		t.Errorf("after clearing: %d %s", a.status, a.raw)
	}
}

func TestFaultErrorRate(t *testing.T) {
	tests := []struct {
		name       string
		faults     Faults
		wantStatus int
		wantMsg    string
		retryAfter string
	}{
		{"always 503 by default", Faults{ErrorRate: 1}, 503, "Service Unavailable", ""},
		{"always 429 with Retry-After", Faults{ErrorRate: 1, Status: 429, RetryAfterS: 2}, 429, "Too Many Attempts.", "2"},
		{"always 500", Faults{ErrorRate: 1, Status: 500}, 500, "Server Error", ""},
		{"always 502", Faults{ErrorRate: 1, Status: 502}, 502, "Bad Gateway", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Config{})
			if err := s.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("abc", "active", 0)))
			if a.status != tt.wantStatus || a.body["message"] != tt.wantMsg || a.header.Get("Retry-After") != tt.retryAfter {
				t.Errorf("answer %d %s Retry-After=%q", a.status, a.raw, a.header.Get("Retry-After"))
			}
			if _, ok, _ := s.Account(t.Context(), "abc"); ok {
				t.Error("a faulted request was processed")
			}
		})
	}
}

// TestFaultErrorRateIsSeeded checks that the same seed fails the same requests.
func TestFaultErrorRateIsSeeded(t *testing.T) {
	run := func() []int {
		s, _ := newTestServer(t, Config{Rand: rand.New(rand.NewPCG(7, 7))})
		if err := s.SetFaults(Faults{ErrorRate: 0.5}); err != nil {
			t.Fatal(err)
		}
		var codes []int
		for range 40 {
			codes = append(codes, call(t, s, http.MethodGet, "/api/whatsapp/status/x", nil).status)
		}
		st := s.Stats().Endpoints[KeyGetStatus].Status
		if st[503] == 0 || st[404] == 0 || st[503]+st[404] != 40 {
			t.Errorf("error_rate 0.5 over 40 requests gave %v", st)
		}
		return codes
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different outcome at request %d: %v vs %v", i, a, b)
		}
	}
}

func TestFaultDurationExpires(t *testing.T) {
	s, clock := newTestServer(t, Config{})
	if err := s.SetFaults(Faults{Down: true, DurationS: 30}); err != nil {
		t.Fatal(err)
	}
	st := s.Faults()
	if !st.Active || !st.Down || st.ExpiresAt != t0.Add(30*time.Second).UnixMilli() {
		t.Errorf("faults %+v", st)
	}
	clock.Advance(29 * time.Second)
	if a := call(t, s, http.MethodGet, "/api/whatsapp/status/x", nil); a.status != 503 {
		t.Errorf("before expiry: %d", a.status)
	}
	clock.Advance(time.Second)
	if a := call(t, s, http.MethodGet, "/api/whatsapp/status/x", nil); a.status != 404 {
		t.Errorf("after expiry: %d", a.status)
	}
	if st := s.Faults(); st.Active || st.Down {
		t.Errorf("faults after expiry %+v", st)
	}
}

func TestFaultLatencyIsAddedAfterProcessing(t *testing.T) {
	var (
		mu    sync.Mutex
		slept []time.Duration
	)
	var s *Server
	s, _ = newTestServer(t, Config{Sleep: func(ctx context.Context, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		// The batch is already stored when the latency is spent.
		if _, ok, _ := s.Account(ctx, "abc"); !ok {
			t.Error("latency spent before the batch was stored")
		}
	}})
	if err := s.SetFaults(Faults{LatencyMS: 200}); err != nil {
		t.Fatal(err)
	}
	if a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("abc", "active", 0))); a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	if len(slept) != 1 || slept[0] != 200*time.Millisecond {
		t.Errorf("slept %v, want [200ms]", slept)
	}
}

func TestFaultRejectSessions(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	if err := s.SetFaults(Faults{RejectSessions: []string{"bad1", "bad2"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		body       any
		status     int
		message    string
		errors     map[string][]string
	}{
		{"status batch", "/api/whatsapp/status/batch",
			statuses(statusItemJSON("ok1", "active", 0), statusItemJSON("ok2", "active", 0), statusItemJSON("bad1", "active", 0), statusItemJSON("bad2", "active", 0)),
			422, "The selected statuses.2.session_id is invalid. (and 1 more error)",
			map[string][]string{
				"statuses.2.session_id": {"The selected statuses.2.session_id is invalid."},
				"statuses.3.session_id": {"The selected statuses.3.session_id is invalid."},
			}},
		{"qr batch", "/api/qr/batch", qrs(qrItemJSON("bad2", 0), qrItemJSON("ok", 0)),
			422, "The selected qrs.0.session_id is invalid.",
			map[string][]string{"qrs.0.session_id": {"The selected qrs.0.session_id is invalid."}}},
		{"single status", "/api/whatsapp/status", map[string]any{"session_id": "bad1", "estado_qr": "active"},
			422, "The selected session_id is invalid.",
			map[string][]string{"session_id": {"The selected session_id is invalid."}}},
		{"single qr", "/api/qr", map[string]any{"session_id": "bad1", "qr": pngURL},
			422, "The selected session_id is invalid.",
			map[string][]string{"session_id": {"The selected session_id is invalid."}}},
		{"batch without them", "/api/whatsapp/status/batch", statuses(statusItemJSON("ok1", "active", 0)), 200, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, http.MethodPost, tt.path, tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.status != 422 {
				return
			}
			if a.body["message"] != tt.message {
				t.Errorf("message %q, want %q", a.body["message"], tt.message)
			}
			got := a.errors()
			if len(got) != len(tt.errors) {
				t.Errorf("errors %v, want %v", got, tt.errors)
			}
			for k, v := range tt.errors {
				if len(got[k]) != 1 || got[k][0] != v[0] {
					t.Errorf("errors[%s] = %v, want %v", k, got[k], v)
				}
			}
		})
	}
	if _, ok, _ := s.Account(t.Context(), "ok2"); ok {
		t.Error("a rejected batch was partly stored")
	}
}

func TestFaultsValidate(t *testing.T) {
	tests := []struct {
		name string
		f    Faults
		ok   bool
	}{
		{"zero", Faults{}, true},
		{"full", Faults{LatencyMS: 200, ErrorRate: 0.5, Status: 503, RetryAfterS: 2, DurationS: 30}, true},
		{"negative latency", Faults{LatencyMS: -1}, false},
		{"error rate above 1", Faults{ErrorRate: 1.5}, false},
		{"negative error rate", Faults{ErrorRate: -0.1}, false},
		{"status 200", Faults{ErrorRate: 1, Status: 200}, false},
		{"status 600", Faults{Status: 600}, false},
		{"negative retry after", Faults{RetryAfterS: -1}, false},
		{"negative duration", Faults{DurationS: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.f.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestFaultsEndpoint(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	tests := []struct {
		name, method string
		body         any
		status       int
		raw          string
	}{
		{"set", http.MethodPost, `{"latency_ms":200,"error_rate":0.5,"status":503,"retry_after_s":2,"duration_s":30}`, 200,
			`{"latency_ms":200,"error_rate":0.5,"status":503,"retry_after_s":2,"duration_s":30,"active":true,"expires_at":` +
				itoa(t0.Add(30*time.Second).UnixMilli()) + `}`},
		{"get", http.MethodGet, nil, 200,
			`{"latency_ms":200,"error_rate":0.5,"status":503,"retry_after_s":2,"duration_s":30,"active":true,"expires_at":` +
				itoa(t0.Add(30*time.Second).UnixMilli()) + `}`},
		{"clear", http.MethodPost, `{}`, 200, `{"active":false}`},
		{"down", http.MethodPost, `{"down":true}`, 200, `{"down":true,"active":true}`},
		{"delete clears", http.MethodDelete, nil, 200, `{"active":false}`},
		{"reject", http.MethodPost, `{"reject_sessions":["bad1"]}`, 200, `{"reject_sessions":["bad1"],"active":true}`},
		{"unknown member", http.MethodPost, `{"latency":200}`, 400, ""},
		{"invalid", http.MethodPost, `{"error_rate":2}`, 422, ""},
		{"malformed", http.MethodPost, `{`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, tt.method, "/__mock/faults", tt.body)
			if a.status != tt.status || (tt.raw != "" && a.raw != tt.raw) {
				t.Errorf("answer %d %s, want %d %s", a.status, a.raw, tt.status, tt.raw)
			}
		})
	}
}
