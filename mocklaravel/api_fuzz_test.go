package mocklaravel

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// Fuzz targets of every JSON endpoint of the mock: whatever the body, the
// answer is a JSON 2xx/4xx, never a 5xx or a panic (ServeHTTP would turn a
// panic into a 500, which these catch). Run one with:
// go test -run='^$' -fuzz='^FuzzQRBatch$' ./mocklaravel

func fuzzServe(t *testing.T, s *Server, method, target string, body []byte, headers ...string) {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s body %q: %d %s", method, target, body, rec.Code, rec.Body.Bytes())
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s %s: answer is not JSON: %q", method, target, rec.Body.Bytes())
	}
}

func addSeeds(f *testing.F, seeds ...any) {
	for _, s := range seeds {
		switch v := s.(type) {
		case string:
			f.Add([]byte(v))
		default:
			b, _ := json.Marshal(v)
			f.Add(b)
		}
	}
}

// commonSeeds are bodies every endpoint must survive.
var commonSeeds = []any{``, `null`, `[]`, `{}`, `"x"`, `{"a":1}{}`, `{`, `{"qrs":null,"statuses":{}}`,
	`{"session_id":"\u0000","qr":1e999}`, "\xff\xfe"}

func fuzzBody(f *testing.F, path string, seeds ...any) {
	addSeeds(f, append(seeds, commonSeeds...)...)
	s, _ := newTestServer(f, Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, s, http.MethodPost, path, body, "Idempotency-Key", "fuzz")
	})
}

func FuzzQRBatch(f *testing.F) {
	fuzzBody(f, "/api/qr/batch",
		qrs(qrItemJSON("s1", 0), qrItemJSON("s2", time.Second)),
		map[string]any{"qrs": []any{1, "x", nil, map[string]any{"session_id": 7, "qr": true, "generated_at": "yesterday"}}},
		map[string]any{"qrs": []any{map[string]any{"session_id": "s1", "qr": pngURL, "generated_at": "2026-13-45T99:00:00Z"}}},
	)
}

func FuzzStatusBatch(f *testing.F) {
	fuzzBody(f, "/api/whatsapp/status/batch",
		statuses(statusItemJSON("s1", "active", 0), statusItemJSON("s1", "inactive", -time.Second)),
		map[string]any{"statuses": []any{map[string]any{"session_id": "../x", "estado_qr": "nope", "updated_at": 1}}},
		map[string]any{"statuses": make([]any, 1000)},
	)
}

func FuzzQRSingle(f *testing.F) {
	fuzzBody(f, "/api/qr",
		map[string]any{"session_id": "s1", "qr": pngURL},
		map[string]any{"session_id": "s1", "qr": "data:image/png;base64,!!", "generated_at": at(0)},
	)
}

func FuzzStatusSingle(f *testing.F) {
	fuzzBody(f, "/api/whatsapp/status",
		map[string]any{"session_id": "s1", "estado_qr": "active"},
		map[string]any{"session_id": "", "estado_qr": "expired", "updated_at": "2026-11-27 12:00:00"},
	)
}

func FuzzGetStatus(f *testing.F) {
	for _, id := range []string{"s1", "..", "a b", "%", "ü", "x/y"} {
		f.Add(id)
	}
	s, _ := newTestServer(f, Config{})
	f.Fuzz(func(t *testing.T, id string) {
		fuzzServe(t, s, http.MethodGet, "/api/whatsapp/status/"+url.PathEscape(id), nil)
	})
}

// FuzzAdmin covers the JSON bodies of the test endpoints.
func FuzzAdmin(f *testing.F) {
	addSeeds(f, `{"down":true}`, `{"latency_ms":200,"error_rate":0.5,"status":503,"retry_after_s":2,"duration_s":30}`,
		`{"error_rate":2}`, `{"status":99}`, `{"session_id":"s1","estado_qr":"active"}`, `{"reject_sessions":["a",1]}`)
	addSeeds(f, commonSeeds...)
	s, _ := newTestServer(f, Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, s, http.MethodPost, "/__mock/faults", body)
		fuzzServe(t, s, http.MethodPost, "/__mock/accounts", body)
	})
}

// FuzzCheckSignature feeds arbitrary header values to the verifier: no
// panic, and nothing verifies without the secret's HMAC.
func FuzzCheckSignature(f *testing.F) {
	f.Add("msg_1", "1764244800", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "00", []byte(`{}`))
	f.Add("", "-1", "v1,", "", []byte(nil))
	f.Add("a", "99999999999999999999", "v1a,xx v1,=== ,", "zz", []byte("x"))
	now := time.Unix(1764244800, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig, spatie string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		h.Set("Signature", spatie)
		if err := checkSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, body, now); err == nil {
			t.Fatalf("forged headers verified: %v", h)
		}
	})
}
