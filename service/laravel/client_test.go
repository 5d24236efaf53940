package laravel

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/service"
)

// recorded is one request the test Laravel received.
type recorded struct {
	Method string
	Path   string
	Header http.Header
	Body   map[string]any
}

// testLaravel is an httptest server that records requests and answers with
// the status, headers and body the test sets.
type testLaravel struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	status   int
	header   map[string]string
	body     string
}

func newTestLaravel(t *testing.T) *testLaravel {
	t.Helper()
	tl := &testLaravel{status: http.StatusOK, body: `{"success":true,"updated":1,"failed":0}`}
	tl.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone()}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &rec.Body); err != nil {
				t.Errorf("request body is not JSON: %q", raw)
			}
		}
		tl.mu.Lock()
		tl.requests = append(tl.requests, rec)
		status, header, body := tl.status, tl.header, tl.body
		tl.mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(tl.Close)
	return tl
}

func (tl *testLaravel) answer(status int, body string, header map[string]string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.status, tl.body, tl.header = status, body, header
}

func (tl *testLaravel) last(t *testing.T) recorded {
	t.Helper()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(tl.requests) == 0 {
		t.Fatal("Laravel received no request")
	}
	return tl.requests[len(tl.requests)-1]
}

func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

var at = time.Date(2026, 11, 27, 16, 0, 1, 234_000_000, time.FixedZone("CET", 3600))

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"plain", Config{BaseURL: "http://localhost:8000"}, true},
		{"prefix and slash", Config{BaseURL: "https://example.test/laravel/"}, true},
		{"empty", Config{}, false},
		{"no scheme", Config{BaseURL: "localhost:8000"}, false},
		{"ftp", Config{BaseURL: "ftp://x"}, false},
		{"negative timeout", Config{BaseURL: "http://x", Timeout: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%+v) error = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
			if err != nil && service.ErrorCode(err) != service.EINVALID {
				t.Fatalf("error code = %q, want %q", service.ErrorCode(err), service.EINVALID)
			}
		})
	}
}

func TestRequestsShapeAndHeaders(t *testing.T) {
	tl := newTestLaravel(t)
	c := newTestClient(t, Config{BaseURL: tl.URL + "/", Token: "s3cret"})
	ctx := context.Background()
	qr := service.QRUpdate{SessionID: "user_1", QR: "data:image/png;base64,AAA", GeneratedAt: at}
	st := service.StatusUpdate{SessionID: "user_2", Status: service.StatusActive, UpdatedAt: at}
	const ts = "2026-11-27T15:00:01.234Z"

	tests := []struct {
		name     string
		call     func() error
		path     string
		key      string
		wantBody map[string]any
	}{
		{
			name: "qr batch",
			call: func() error {
				_, err := c.PostQRBatch(ctx, "k-qr", []service.QRUpdate{qr})
				return err
			},
			path: "/api/qr/batch", key: "k-qr",
			wantBody: map[string]any{"qrs": []any{map[string]any{"session_id": "user_1", "qr": qr.QR, "generated_at": ts}}},
		},
		{
			name: "status batch",
			call: func() error {
				_, err := c.PostStatusBatch(ctx, "k-st", []service.StatusUpdate{st})
				return err
			},
			path: "/api/whatsapp/status/batch", key: "k-st",
			wantBody: map[string]any{"statuses": []any{map[string]any{"session_id": "user_2", "estado_qr": "active", "updated_at": ts}}},
		},
		{
			name: "single qr",
			call: func() error { return c.PostQR(ctx, "k1", qr) },
			path: "/api/qr", key: "k1",
			wantBody: map[string]any{"session_id": "user_1", "qr": qr.QR, "generated_at": ts},
		},
		{
			name: "single status",
			call: func() error { return c.PostStatus(ctx, "k2", st) },
			path: "/api/whatsapp/status", key: "k2",
			wantBody: map[string]any{"session_id": "user_2", "estado_qr": "active", "updated_at": ts},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			got := tl.last(t)
			if got.Method != http.MethodPost || got.Path != tt.path {
				t.Errorf("request = %s %s, want POST %s", got.Method, got.Path, tt.path)
			}
			if !reflect.DeepEqual(got.Body, tt.wantBody) {
				t.Errorf("body = %v\nwant   %v", got.Body, tt.wantBody)
			}
			wantHeaders := map[string]string{
				"Content-Type":    "application/json",
				"Accept":          "application/json",
				"Authorization":   "Bearer s3cret",
				"Idempotency-Key": tt.key,
			}
			for k, v := range wantHeaders {
				if g := got.Header.Get(k); g != v {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
			if !strings.HasPrefix(got.Header.Get("User-Agent"), "wagateway/") {
				t.Errorf("User-Agent = %q", got.Header.Get("User-Agent"))
			}
		})
	}
}

func TestNoTokenNoAuthorization(t *testing.T) {
	tl := newTestLaravel(t)
	c := newTestClient(t, Config{BaseURL: tl.URL})
	if err := c.PostQR(context.Background(), "k", service.QRUpdate{SessionID: "a", QR: "q", GeneratedAt: at}); err != nil {
		t.Fatal(err)
	}
	if h := tl.last(t).Header.Get("Authorization"); h != "" {
		t.Fatalf("Authorization = %q, want none", h)
	}
}

func TestBatchResult(t *testing.T) {
	tl := newTestLaravel(t)
	var logs strings.Builder // one goroutine: the client logs in the caller's
	c := newTestClient(t, Config{BaseURL: tl.URL, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	ctx := context.Background()
	sts := []service.StatusUpdate{{SessionID: "a", Status: service.StatusPending, UpdatedAt: at}}

	tl.answer(200, `{"success":true,"updated":3,"failed":1}`, nil)
	res, err := c.PostStatusBatch(ctx, "k", sts)
	if err != nil || res != (service.BatchResult{Success: true, Updated: 3, Failed: 1}) {
		t.Fatalf("result = %+v, %v", res, err)
	}
	if strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("a readable 2xx logged a warning: %s", logs.String())
	}
	// A 2xx with an unreadable body still means Laravel took the batch.
	tl.answer(200, `<html>ok</html>`, nil)
	res, err = c.PostStatusBatch(ctx, "k", sts)
	if err != nil || !res.Success || res.Updated != 1 {
		t.Fatalf("result = %+v, %v", res, err)
	}
}

func TestEmptyBatchSendsNothing(t *testing.T) {
	tl := newTestLaravel(t)
	c := newTestClient(t, Config{BaseURL: tl.URL})
	if _, err := c.PostQRBatch(context.Background(), "k", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PostStatusBatch(context.Background(), "k", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(tl.requests); n != 0 {
		t.Fatalf("requests = %d, want 0", n)
	}
}

func TestSessionStatus(t *testing.T) {
	tl := newTestLaravel(t)
	c := newTestClient(t, Config{BaseURL: tl.URL, Token: "t"})
	ctx := context.Background()

	tests := []struct {
		name     string
		status   int
		body     string
		want     service.StatusRecord
		wantCode string // service error code, "" for success
	}{
		{
			name: "known", status: 200,
			body: `{"session_id":"user_1","estado_qr":"active","last_status_update":"2026-11-27T15:00:01.234000Z"}`,
			want: service.StatusRecord{SessionID: "user_1", Status: service.StatusActive, UpdatedAt: time.Date(2026, 11, 27, 15, 0, 1, 234_000_000, time.UTC)},
		},
		{
			name: "database datetime", status: 200,
			body: `{"session_id":"user_1","estado_qr":"pending","last_status_update":"2026-11-27 15:00:01"}`,
			want: service.StatusRecord{SessionID: "user_1", Status: service.StatusPending, UpdatedAt: time.Date(2026, 11, 27, 15, 0, 1, 0, time.UTC)},
		},
		{
			name: "no time", status: 200,
			body: `{"session_id":"user_1","estado_qr":"inactive","last_status_update":null}`,
			want: service.StatusRecord{SessionID: "user_1", Status: service.StatusInactive},
		},
		{name: "404", status: 404, body: `{"message":"Not found"}`, wantCode: service.ENOTFOUND},
		{name: "null status", status: 200, body: `{"session_id":"user_1","estado_qr":null}`, wantCode: service.ENOTFOUND},
		{name: "unknown status", status: 200, body: `{"session_id":"user_1","estado_qr":"weird"}`, wantCode: service.EINTERNAL},
		{name: "not json", status: 200, body: `nope`, wantCode: service.EINTERNAL},
		{name: "500", status: 500, body: `{"message":"Server Error"}`, wantCode: service.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl.answer(tt.status, tt.body, nil)
			got, err := c.SessionStatus(ctx, "user_1")
			if code := service.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error = %v (code %q), want code %q", err, code, tt.wantCode)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("record = %+v, want %+v", got, tt.want)
			}
			req := tl.last(t)
			if req.Method != http.MethodGet || req.Path != "/api/whatsapp/status/user_1" {
				t.Fatalf("request = %s %s", req.Method, req.Path)
			}
			if req.Header.Get("Authorization") != "Bearer t" || req.Header.Get("Accept") != "application/json" {
				t.Fatalf("headers = %v", req.Header)
			}
			if ct := req.Header.Get("Content-Type"); ct != "" {
				t.Errorf("GET without a body sent Content-Type %q", ct)
			}
		})
	}
	if _, err := c.SessionStatus(ctx, "../etc"); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("bad session id: error = %v, want EINVALID", err)
	}
}

func TestErrorClassification(t *testing.T) {
	tl := newTestLaravel(t)
	c := newTestClient(t, Config{BaseURL: tl.URL})
	now := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	qrs := make([]service.QRUpdate, 15)
	for i := range qrs {
		qrs[i] = service.QRUpdate{SessionID: "s", QR: "q", GeneratedAt: at}
	}

	tests := []struct {
		name        string
		status      int
		body        string
		header      map[string]string
		retryable   bool
		retryAfter  time.Duration
		message     string // substring
		exact       string // the whole message, when set
		invalid     []int
		invalidBody bool // use the status batch (field "statuses")
	}{
		{name: "500 json", status: 500, body: `{"message":"Server Error"}`, retryable: true, exact: "Server Error"},
		{name: "500 empty json", status: 500, body: `{}`, retryable: true, exact: "{}"},
		{name: "300 is no success", status: 300, body: "elsewhere", exact: "elsewhere"},
		{name: "422 errors without a message", status: 422, body: `{"errors":{"qrs.1.qr":["bad"]}}`, exact: "(qrs.1.qr: bad)", invalid: []int{1}},
		{name: "502 html", status: 502, body: "<html>Bad Gateway</html>", retryable: true, message: "<html>Bad Gateway</html>"},
		{name: "503 retry seconds", status: 503, body: "", header: map[string]string{"Retry-After": "7"}, retryable: true, retryAfter: 7 * time.Second, message: "Service Unavailable"},
		{name: "429 retry date", status: 429, body: `{"message":"Too Many Attempts."}`,
			header:    map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)},
			retryable: true, retryAfter: 90 * time.Second, message: "Too Many Attempts."},
		{name: "retry date in the past", status: 503, header: map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, retryable: true},
		{name: "retry garbage", status: 503, header: map[string]string{"Retry-After": "soon"}, retryable: true},
		{name: "408", status: 408, retryable: true},
		{name: "401", status: 401, body: `{"message":"Unauthenticated."}`, exact: "Unauthenticated."},
		{name: "404 text", status: 404, body: "no such route", message: "no such route"},
		{name: "422 indices", status: 422,
			body:    `{"message":"The qrs.3.qr field is required. (and 2 more errors)","errors":{"qrs.3.qr":["The qrs.3.qr field is required."],"qrs.12.generated_at":["bad date"],"qrs.3.session_id":["x"],"qrs.99.qr":["out of range"],"qrs":["ignored"]}}`,
			message: "qrs.12.generated_at: bad date", invalid: []int{3, 12}},
		{name: "422 status indices", status: 422, invalidBody: true,
			body:    `{"message":"invalid","errors":{"statuses.12.estado_qr":["The selected statuses.12.estado_qr is invalid."],"statuses.0":["bad"]}}`,
			message: "invalid", invalid: []int{0, 12}},
		{name: "422 no indices", status: 422, body: `{"message":"The qrs field is required.","errors":{"qrs":["required"]}}`, exact: "The qrs field is required. (qrs: required)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl.answer(tt.status, tt.body, tt.header)
			var err error
			if tt.invalidBody {
				sts := make([]service.StatusUpdate, 15)
				for i := range sts {
					sts[i] = service.StatusUpdate{SessionID: "s", Status: service.StatusActive, UpdatedAt: at}
				}
				_, err = c.PostStatusBatch(context.Background(), "k", sts)
			} else {
				_, err = c.PostQRBatch(context.Background(), "k", qrs)
			}
			var de *service.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("error = %#v, want *service.DeliveryError", err)
			}
			if de.StatusCode != tt.status {
				t.Errorf("StatusCode = %d, want %d", de.StatusCode, tt.status)
			}
			if de.Retryable() != tt.retryable {
				t.Errorf("Retryable = %v, want %v", de.Retryable(), tt.retryable)
			}
			if de.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %s, want %s", de.RetryAfter, tt.retryAfter)
			}
			if !strings.Contains(de.Message, tt.message) || de.Message == "" {
				t.Errorf("Message = %q, want it to contain %q", de.Message, tt.message)
			}
			if tt.exact != "" && de.Message != tt.exact {
				t.Errorf("Message = %q, want %q", de.Message, tt.exact)
			}
			if !reflect.DeepEqual(de.Invalid, tt.invalid) {
				t.Errorf("Invalid = %v, want %v", de.Invalid, tt.invalid)
			}
		})
	}
}

func TestSingleEndpoint422HasNoIndices(t *testing.T) {
	tl := newTestLaravel(t)
	c := newTestClient(t, Config{BaseURL: tl.URL})
	tl.answer(422, `{"message":"bad","errors":{"qr":["The qr field is required."]}}`, nil)
	err := c.PostQR(context.Background(), "k", service.QRUpdate{SessionID: "a", GeneratedAt: at})
	var de *service.DeliveryError
	if !errors.As(err, &de) || de.StatusCode != 422 || de.Invalid != nil || de.Retryable() {
		t.Fatalf("error = %#v", err)
	}
	if !strings.Contains(de.Message, "qr: The qr field is required.") {
		t.Fatalf("Message = %q", de.Message)
	}
}

func TestLongBodyIsTruncated(t *testing.T) {
	tl := newTestLaravel(t)
	c := newTestClient(t, Config{BaseURL: tl.URL})
	tl.answer(500, strings.Repeat("x", 5<<20), nil)
	err := c.PostQR(context.Background(), "k", service.QRUpdate{SessionID: "a", QR: "q", GeneratedAt: at})
	var de *service.DeliveryError
	if !errors.As(err, &de) || len(de.Message) > maxMessageLen+len("…") {
		t.Fatalf("error = %v (message %d bytes)", err, len(de.Message))
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		c := newTestClient(t, Config{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
		err := c.PostQR(context.Background(), "k", service.QRUpdate{SessionID: "a", QR: "q", GeneratedAt: at})
		var de *service.DeliveryError
		if !errors.As(err, &de) || de.StatusCode != 0 || !de.Retryable() {
			t.Fatalf("error = %#v, want a retryable DeliveryError without status", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(de.Message, "no answer within") {
			t.Fatalf("error = %v (message %q)", err, de.Message)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c := newTestClient(t, Config{BaseURL: url})
		_, err := c.PostStatusBatch(context.Background(), "k", []service.StatusUpdate{{SessionID: "a", Status: service.StatusActive, UpdatedAt: at}})
		var de *service.DeliveryError
		if !errors.As(err, &de) || de.StatusCode != 0 || !de.Retryable() {
			t.Fatalf("error = %#v", err)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		tl := newTestLaravel(t)
		c := newTestClient(t, Config{BaseURL: tl.URL})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := c.PostQR(ctx, "k", service.QRUpdate{SessionID: "a", QR: "q", GeneratedAt: at})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled in its chain", err)
		}
	})
}

func TestConnectionsAreReused(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, strings.Repeat("e", 10<<10)) // an error body the client doesn't fully keep
	}))
	srv.Start()
	defer srv.Close()
	c := newTestClient(t, Config{BaseURL: srv.URL})
	for range 5 {
		_ = c.PostQR(context.Background(), "k", service.QRUpdate{SessionID: "a", QR: "q", GeneratedAt: at})
	}
	if len(conns) != 1 {
		t.Fatalf("5 sequential requests used %d connections, want 1", len(conns))
	}
}

func TestInvalidIndicesInRange(t *testing.T) {
	errs := map[string][]string{"qrs.0.qr": {"bad"}, "qrs.2.qr": {"bad"}, "qrs.-1": {"bad"}}
	if got := invalidIndices(errs, "qrs", 2); !reflect.DeepEqual(got, []int{0}) {
		t.Fatalf("invalidIndices = %v, want [0] (2 is past a 2-item batch)", got)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"aé", 2, "a…"}, // é is 2 bytes: never cut a rune in half
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{" 12 ", 12 * time.Second},
		{"99999999999", 24 * time.Hour},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{"Fri, 27 Nov 2026 15:59:00 GMT", 0},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
