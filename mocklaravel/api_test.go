package mocklaravel

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStatusBatchStoresAndNewestWins(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(
		statusItemJSON("s1", "pending", 0),
		statusItemJSON("s2", "active", time.Second),
		statusItemJSON("s1", "active", 2*time.Second), // later in the same batch wins
	))
	if a.status != http.StatusOK || a.raw != `{"success":true,"updated":3,"failed":0}` {
		t.Fatalf("answer %d %s", a.status, a.raw)
	}
	// Older than stored: accepted, counted as updated, changes nothing.
	a = call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(
		statusItemJSON("s1", "expired", time.Second),
		statusItemJSON("s2", "inactive", 3*time.Second),
	))
	if a.raw != `{"success":true,"updated":2,"failed":0}` {
		t.Fatalf("answer %d %s", a.status, a.raw)
	}
	for id, want := range map[string]struct {
		estado string
		at     time.Duration
	}{"s1": {"active", 2 * time.Second}, "s2": {"inactive", 3 * time.Second}} {
		acc := mustAccount(t, s, id)
		if acc.EstadoQR != want.estado || !acc.LastStatusUpdate.Equal(t0.Add(want.at)) {
			t.Errorf("%s = %s@%s, want %s@%s", id, acc.EstadoQR, acc.LastStatusUpdate, want.estado, t0.Add(want.at))
		}
	}
}

func TestQRBatchStoresAndNewestWins(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	newer := "data:image/png;base64,bmV3ZXI="
	a := call(t, s, http.MethodPost, "/api/qr/batch", qrs(
		map[string]any{"session_id": "q1", "qr": newer, "generated_at": at(time.Minute)},
		qrItemJSON("q2", 0),
	))
	if a.raw != `{"success":true,"updated":2,"failed":0}` {
		t.Fatalf("answer %d %s", a.status, a.raw)
	}
	a = call(t, s, http.MethodPost, "/api/qr/batch", qrs(qrItemJSON("q1", 0))) // older
	if a.raw != `{"success":true,"updated":1,"failed":0}` {
		t.Fatalf("answer %d %s", a.status, a.raw)
	}
	q1 := mustAccount(t, s, "q1")
	if q1.QRCode != newer || !q1.QRGeneratedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("q1 = %+v, want the newer QR", q1)
	}
	// A QR creates its account pending, with no status time: any status wins.
	if q1.EstadoQR != StatusPending || !q1.LastStatusUpdate.IsZero() {
		t.Errorf("q1 created as %s@%v, want pending with no status time", q1.EstadoQR, q1.LastStatusUpdate)
	}
	call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("q1", "active", -time.Hour)))
	if got := mustAccount(t, s, "q1"); got.EstadoQR != StatusActive || got.QRCode != newer {
		t.Errorf("after status: %+v", got)
	}
}

func TestAutoCreateOff(t *testing.T) {
	s, _ := newTestServer(t, Config{DisableAutoCreate: true})
	if err := s.UpsertAccount(t.Context(), Account{SessionID: "known", EstadoQR: StatusPending, LastStatusUpdate: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		raw                string
	}{
		{"status batch", http.MethodPost, "/api/whatsapp/status/batch", statuses(
			statusItemJSON("known", "active", 2*time.Hour), statusItemJSON("known", "expired", 0), // newer, then older: both updated
			statusItemJSON("ghost", "active", 0)),
			200, `{"success":true,"updated":2,"failed":1}`},
		{"qr batch", http.MethodPost, "/api/qr/batch", qrs(qrItemJSON("known", 0), qrItemJSON("ghost", 0), qrItemJSON("ghost2", 0)),
			200, `{"success":true,"updated":1,"failed":2}`},
		{"single status unknown", http.MethodPost, "/api/whatsapp/status", map[string]any{"session_id": "ghost", "estado_qr": "active"},
			404, `{"message":"WhatsApp account not found."}`},
		{"single qr unknown", http.MethodPost, "/api/qr", map[string]any{"session_id": "ghost", "qr": pngURL},
			404, `{"message":"WhatsApp account not found."}`},
		{"single qr known", http.MethodPost, "/api/qr", map[string]any{"session_id": "known", "qr": pngURL},
			200, `{"success":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, tt.method, tt.path, tt.body)
			if a.status != tt.status || a.raw != tt.raw {
				t.Errorf("answer %d %s, want %d %s", a.status, a.raw, tt.status, tt.raw)
			}
		})
	}
	if _, ok, _ := s.Account(t.Context(), "ghost"); ok {
		t.Error("ghost was created with autocreate off")
	}
	if got := mustAccount(t, s, "known"); got.EstadoQR != StatusActive {
		t.Errorf("known = %s, want active", got.EstadoQR)
	}
	st := s.Stats().Endpoints[KeyStatusBatch]
	if st.Updated != 2 || st.Failed != 1 {
		t.Errorf("stats updated/failed = %d/%d, want 2/1", st.Updated, st.Failed)
	}
}

func TestSingleEndpoints(t *testing.T) {
	s, clock := newTestServer(t, Config{})
	a := call(t, s, http.MethodPost, "/api/whatsapp/status", map[string]any{"session_id": "abc", "estado_qr": "pending"})
	if a.status != 200 || a.raw != `{"success":true}` {
		t.Fatalf("status: %d %s", a.status, a.raw)
	}
	// Without updated_at the time is now (the injected clock).
	if got := mustAccount(t, s, "abc"); !got.LastStatusUpdate.Equal(t0) {
		t.Errorf("last_status_update %v, want %v", got.LastStatusUpdate, t0)
	}
	clock.Advance(time.Second)
	a = call(t, s, http.MethodPost, "/api/qr", map[string]any{"session_id": "abc", "qr": pngURL})
	if a.status != 200 || a.raw != `{"success":true}` {
		t.Fatalf("qr: %d %s", a.status, a.raw)
	}
	if got := mustAccount(t, s, "abc"); got.QRCode != pngURL || !got.QRGeneratedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("account %+v", got)
	}
	// An explicit older updated_at is a no-op success.
	a = call(t, s, http.MethodPost, "/api/whatsapp/status", map[string]any{"session_id": "abc", "estado_qr": "expired", "updated_at": at(-time.Minute)})
	if a.status != 200 {
		t.Fatalf("older status: %d %s", a.status, a.raw)
	}
	if got := mustAccount(t, s, "abc"); got.EstadoQR != StatusPending {
		t.Errorf("older status applied: %s", got.EstadoQR)
	}
}

func TestGetStatus(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("abc123", "active", 1500*time.Millisecond)))
	call(t, s, http.MethodPost, "/api/qr/batch", qrs(qrItemJSON("qronly", 0)))
	tests := []struct {
		path   string
		status int
		raw    string
	}{
		{"/api/whatsapp/status/abc123", 200, `{"session_id":"abc123","estado_qr":"active","last_status_update":"2026-11-27T12:00:01.500Z"}`},
		{"/api/whatsapp/status/qronly", 200, `{"session_id":"qronly","estado_qr":"pending","last_status_update":null}`},
		{"/api/whatsapp/status/nobody", 404, `{"message":"WhatsApp account not found."}`},
		{"/api/whatsapp/status/batch", 404, `{"message":"WhatsApp account not found."}`}, // GET matches {sessionId}, as in Laravel
		{"/api/whatsapp/status/bad%20id", 404, `{"message":"WhatsApp account not found."}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := call(t, s, http.MethodGet, tt.path, nil)
			if a.status != tt.status || a.raw != tt.raw {
				t.Errorf("answer %d %s, want %d %s", a.status, a.raw, tt.status, tt.raw)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBodyBytes: 1 << 10})
	big := `{"statuses":[` + strings.Repeat(`{"session_id":"x","estado_qr":"active","updated_at":"2026-01-01T00:00:00Z"},`, 30) + `{}]}`
	tests := []struct {
		name, method, path string
		body               any
		headers            []string
		status             int
		message            string
	}{
		{"malformed JSON", http.MethodPost, "/api/whatsapp/status/batch", `{"statuses":[`, nil, 400, "Malformed JSON"},
		{"trailing garbage", http.MethodPost, "/api/qr/batch", `{"qrs":[]} x`, nil, 400, "Malformed JSON"},
		{"empty body", http.MethodPost, "/api/qr", ``, nil, 400, "Malformed JSON"},
		{"no content type", http.MethodPost, "/api/qr/batch", `{}`, []string{"Content-Type", ""}, 415, "Unsupported Media Type"},
		{"form content type", http.MethodPost, "/api/whatsapp/status", `a=b`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "Unsupported Media Type"},
		{"json with charset", http.MethodPost, "/api/whatsapp/status", `{"session_id":"a","estado_qr":"active"}`, []string{"Content-Type", "application/json; charset=utf-8"}, 200, ""},
		{"too large", http.MethodPost, "/api/whatsapp/status/batch", big, nil, 413, "larger than"},
		{"wrong method on batch", http.MethodGet, "/api/qr/batch", nil, nil, 405, "The GET method is not supported for route api/qr/batch. Supported methods: POST."},
		{"wrong method on status", http.MethodPut, "/api/whatsapp/status/abc", nil, nil, 405, "Supported methods: GET."},
		{"unknown route", http.MethodPost, "/api/nope", `{}`, nil, 404, "The route api/nope could not be found."},
		{"root", http.MethodGet, "/", nil, nil, 404, "could not be found"},
		{"nested id", http.MethodGet, "/api/whatsapp/status/a/b", nil, nil, 404, "could not be found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, tt.method, tt.path, tt.body, tt.headers...)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if msg, _ := a.body["message"].(string); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q, want it to contain %q", msg, tt.message)
			}
		})
	}
	if a := call(t, s, http.MethodGet, "/api/qr/batch", nil); a.header.Get("Allow") != "POST" {
		t.Errorf("405 Allow header %q, want POST", a.header.Get("Allow"))
	}
}

func TestAuthentication(t *testing.T) {
	s, _ := newTestServer(t, Config{Token: "s3cret"})
	body := statuses(statusItemJSON("abc", "active", 0))
	tests := []struct {
		name   string
		auth   string
		status int
	}{
		{"missing", "", 401},
		{"wrong", "Bearer nope", 401},
		{"not bearer", "Basic s3cret", 401},
		{"prefix of the token", "Bearer s3cre", 401},
		{"right", "Bearer s3cret", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", body, "Authorization", tt.auth)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.status == 401 && a.raw != `{"message":"Unauthenticated."}` {
				t.Errorf("body %s", a.raw)
			}
		})
	}
	// The mock endpoints are never behind the token.
	if a := call(t, s, http.MethodGet, "/__mock/stats", nil); a.status != 200 {
		t.Errorf("/__mock/stats with a token configured: %d", a.status)
	}
}

func TestIdempotencyReplays(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	body := statuses(statusItemJSON("abc", "active", 0))
	for _, key := range []string{"k1", "k1", "k2", "", "", "k1"} {
		if a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", body, "Idempotency-Key", key); a.status != 200 {
			t.Fatalf("status %d", a.status)
		}
	}
	// The same key on another endpoint is not a replay.
	call(t, s, http.MethodPost, "/api/qr/batch", qrs(qrItemJSON("abc", 0)), "Idempotency-Key", "k1")
	st := s.Stats()
	if st.Endpoints[KeyStatusBatch].Replays != 2 || st.Endpoints[KeyQRBatch].Replays != 0 || st.Replays != 2 {
		t.Errorf("replays status=%d qr=%d total=%d, want 2, 0, 2",
			st.Endpoints[KeyStatusBatch].Replays, st.Endpoints[KeyQRBatch].Replays, st.Replays)
	}
	if st.IdempotencyKeys != 3 {
		t.Errorf("idempotency keys %d, want 3", st.IdempotencyKeys)
	}
	if got := s.IdempotencyCount("k1"); got[KeyStatusBatch] != 3 || got[KeyQRBatch] != 1 {
		t.Errorf("IdempotencyCount(k1) = %v", got)
	}
}

func TestIdempotencyLogIsBounded(t *testing.T) {
	var l idempotencyLog
	for i := range IdempotencyCapacity + 10 {
		l.observe("e", strconv.Itoa(i))
	}
	if l.len() != IdempotencyCapacity {
		t.Errorf("kept %d keys, want %d", l.len(), IdempotencyCapacity)
	}
	if l.observe("e", "0") {
		t.Error("the oldest key should have been forgotten")
	}
}

func TestHeadIsServedLikeGet(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	call(t, s, http.MethodPost, "/api/whatsapp/status", map[string]any{"session_id": "abc", "estado_qr": "active"})
	if a := call(t, s, http.MethodHead, "/api/whatsapp/status/abc", nil); a.status != 200 {
		t.Errorf("HEAD: %d", a.status)
	}
	if a := call(t, s, http.MethodHead, "/api/qr/batch", nil); a.status != 405 {
		t.Errorf("HEAD on a POST route: %d", a.status)
	}
}

// TestTooLargeWithoutContentLength covers a chunked body, whose size is
// only known while reading it.
func TestTooLargeWithoutContentLength(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBodyBytes: 100})
	tests := []struct {
		body   string
		status int
	}{
		{`{"session_id":"abc","estado_qr":"active"}`, 200},
		{`{"session_id":"abc","estado_qr":"active","pad":"` + strings.Repeat("x", 100) + `"}`, 413},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, "/api/whatsapp/status", io.MultiReader(strings.NewReader(tt.body)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("%d-byte chunked body: %d %s, want %d", len(tt.body), rec.Code, rec.Body.String(), tt.status)
		}
	}
}
