package http_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkGetSession is GET /sessions/{id} for a pairing session, the
// handler called in process (no socket): routing, the manager's lookup
// (L1 cache), JSON.
func BenchmarkGetSession(b *testing.B) {
	g := newGateway(b, nil)
	if r := g.do(b, "POST", "/start", `{"user_id":1}`); r.status != http.StatusOK {
		b.Fatalf("start: %d %s", r.status, r.body)
	}
	g.eventually(b, "user_1", hasQR)
	h := g.srv.Config.Handler
	req := httptest.NewRequest(http.MethodGet, "/sessions/user_1", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET: %d %s", rec.Code, rec.Body)
		}
	}
}
