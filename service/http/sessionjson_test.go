package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The hand encoder of GET /sessions/{id} writes exactly what
// encoding/json's Encoder writes, for every field set or not and for
// strings it must escape.
func TestAppendSessionMatchesEncodingJSON(t *testing.T) {
	qr := "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAARQAAAEUAQMAAACrzQAAAAAGUExURf///wAAAFXC034="
	odd := "quote \" backslash \\ <html> & tab\t nul\x00 é \u2028 \xff"
	at := time.Date(2026, 12, 7, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	whole := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, r := range []sessionResponse{
		{SessionID: "user_1", Status: "pending"},
		{SessionID: "user_1", Status: "pending", QR: &qr, QRExpiresAt: &at, UpdatedAt: &whole, Source: "live", Instance: "gw-1"},
		{SessionID: "s", Status: "inactive", Reason: "logged_out", JID: "1@s.whatsapp.net", UpdatedAt: &at},
		{SessionID: odd, Status: odd, Reason: odd, JID: odd, QR: &odd, Source: odd, Instance: odd},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(r); err != nil {
			t.Fatal(err)
		}
		if got := appendSession(nil, r); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendSession:\n got %s\nwant %s", got, want.Bytes())
		}
	}
}

func TestEncodableTime(t *testing.T) {
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Now()
	if encodableTime(&far) || !encodableTime(&now) || !encodableTime(nil) {
		t.Fatal("encodableTime: year 10000 must go to encoding/json, now and nil not")
	}
}

// The Date header is formatted once a second, and is that second's: a
// stale cached value would tell clients a wrong time.
func TestHTTPDateIsTheCurrentSecond(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 14, 0, 0, 100, time.UTC)
	for _, now := range []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(time.Second), t0.Add(time.Hour).In(time.FixedZone("x", 3600))} {
		want := now.UTC().Format(http.TimeFormat)
		if got := httpDate(now); len(got) != 1 || got[0] != want {
			t.Fatalf("httpDate(%s) = %q, want %q", now, got, want)
		}
	}
	rec := httptest.NewRecorder()
	writeJSONHeader(rec, http.StatusOK)
	date, err := http.ParseTime(rec.Header().Get("Date"))
	if err != nil || time.Since(date) > 2*time.Second || rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v (date %v)", rec.Header(), err)
	}
}
