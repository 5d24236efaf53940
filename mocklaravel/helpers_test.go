package mocklaravel

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"wagateway/internal/clocktest"
)

// t0 is the fake clock's start; event times in tests are relative to it.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// newTestServer returns a Server on a private in-memory DB with a fake
// clock and a seeded Rand; latency faults are recorded, not slept.
func newTestServer(t testing.TB, cfg Config) (*Server, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(t0)
	if cfg.Clock == nil {
		cfg.Clock = clock.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
	}
	if cfg.Sleep == nil {
		cfg.Sleep = func(context.Context, time.Duration) {}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clock
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// errors returns the 422 error bag as field → messages.
func (a answer) errors() map[string][]string {
	out := map[string][]string{}
	errs, _ := a.body["errors"].(map[string]any)
	for k, v := range errs {
		for _, m := range v.([]any) {
			out[k] = append(out[k], m.(string))
		}
	}
	return out
}

// call sends one request to h in process. body is sent as is when it is a
// string, JSON-encoded otherwise; POSTs get Content-Type: application/json
// unless headers say otherwise.
func call(t testing.TB, h http.Handler, method, path string, body any, headers ...string) answer {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(enc)
	}
	req := httptest.NewRequest(method, path, rd)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q, want JSON", method, path, ct)
	}
	if strings.HasPrefix(a.raw, "{") {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, a.raw)
		}
	}
	return a
}

// pngURL is a valid QR data URL.
const pngURL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

func at(d time.Duration) string { return t0.Add(d).Format(TimeFormat) }

func statusItemJSON(id, estado string, d time.Duration) map[string]any {
	return map[string]any{"session_id": id, "estado_qr": estado, "updated_at": at(d)}
}

func qrItemJSON(id string, d time.Duration) map[string]any {
	return map[string]any{"session_id": id, "qr": pngURL, "generated_at": at(d)}
}

func statuses(items ...map[string]any) map[string]any { return map[string]any{"statuses": items} }
func qrs(items ...map[string]any) map[string]any      { return map[string]any{"qrs": items} }

func mustAccount(t testing.TB, s *Server, id string) Account {
	t.Helper()
	a, ok, err := s.Account(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("Account(%s) = %v, %v", id, ok, err)
	}
	return a
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
