package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"wagateway/service"
	gwhttp "wagateway/service/http"
	"wagateway/service/inmem"
	"wagateway/service/qrcode"
	"wagateway/service/session"
	"wagateway/service/sim"
)

// Fuzz targets of every JSON handler of the gateway API: whatever the body
// or the session id, the answer is never a 5xx and never a panic, and it is
// JSON. Run one with: go test -run='^$' -fuzz='^FuzzStart$' ./service/http

// fuzzLaravel knows no session and takes every delivery.
type fuzzLaravel struct{}

func (fuzzLaravel) PostQRBatch(context.Context, string, []service.QRUpdate) (service.BatchResult, error) {
	return service.BatchResult{Success: true}, nil
}
func (fuzzLaravel) PostStatusBatch(context.Context, string, []service.StatusUpdate) (service.BatchResult, error) {
	return service.BatchResult{Success: true}, nil
}
func (fuzzLaravel) PostQR(context.Context, string, service.QRUpdate) error         { return nil }
func (fuzzLaravel) PostStatus(context.Context, string, service.StatusUpdate) error { return nil }
func (fuzzLaravel) SessionStatus(_ context.Context, id string) (service.StatusRecord, error) {
	return service.StatusRecord{}, service.Errorf(service.ENOTFOUND, "unknown session %s", id)
}

// fuzzAPI is the whole API over a real Manager, the sim driver and inmem
// stores, built once per fuzz target.
func fuzzAPI(f *testing.F) http.Handler {
	clock := service.SystemClock{}
	drv := sim.New(sim.Config{Seed: 1, ScanProbability: 0})
	l1 := inmem.NewCache(clock)
	m, err := session.New(managerConfig("fuzz"), session.Deps{
		Driver:    drv,
		L1:        l1,
		Publisher: &recorder{},
		Laravel:   fuzzLaravel{},
		Leases:    inmem.NewLeases(clock),
		Render:    func(string) (string, error) { return "data:image/png;base64,iVBORw0KGgo=", nil },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	f.Cleanup(func() {
		_ = m.Close(context.Background(), false)
		drv.Close()
		cancel()
		<-done
	})
	return gwhttp.NewServer(gwhttp.Config{
		Sessions: m, Pairer: m, QRImage: qrcode.PNG, L1: l1, Sim: drv,
		Batch:  batchStub{},
		Logger: slog.New(slog.DiscardHandler),
	}).Handler()
}

// serveFuzz sends one request in process and checks the answer.
func serveFuzz(t *testing.T, h http.Handler, method, path string, body []byte) {
	t.Helper()
	// path is escaped (url.PathEscape'd ids): parsed as a request line would be.
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %q body %q: %d %s", method, path, body, rec.Code, rec.Body.Bytes())
	}
	if ct := rec.Header().Get("Content-Type"); ct == "application/json" && !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s %q: invalid JSON answer %q", method, path, rec.Body.Bytes())
	}
}

func FuzzStart(f *testing.F) {
	for _, s := range []string{
		`{"user_id":1}`, `{"session_id":"abc123"}`, `{"user_id":-1}`, `{"user_id":1e40}`,
		`{"session_id":"../../etc/passwd"}`, `{"session_id":"a","user_id":2}`, `{}`, ``, `null`, `[]`,
		`{"session_id":"x"} {"session_id":"y"}`, `{"unknown":1}`, `{"session_id":"` + string(bytes.Repeat([]byte("a"), 70)) + `"}`,
		`{"session_id":"\u0000"}`, `{}{}`, `{"user_id":1}{"user_id":2}`, `{"user_id":9223372036854775807}`, `{"user_id":"1"}`,
	} {
		f.Add([]byte(s))
	}
	h := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		serveFuzz(t, h, http.MethodPost, "/start", body)
	})
}

func FuzzPairPhone(f *testing.F) {
	for _, s := range []struct{ id, body string }{
		{"a1", `{"phone":"5511999990000"}`}, {"a1", `{"phone":""}`}, {"a1", `{"phone":"+55 (11) 9"}`},
		{"..", `{"phone":"1"}`}, {"a%2Fb", `{}`}, {"x", `{"phone":123}`}, {"x", ``},
	} {
		f.Add(s.id, []byte(s.body))
	}
	h := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		serveFuzz(t, h, http.MethodPost, "/sessions/"+url.PathEscape(id)+"/pair-phone", body)
	})
}

func FuzzSimClose(f *testing.F) {
	for _, s := range []struct{ id, body string }{
		{"a1", `{"reason":"logged_out"}`}, {"a1", ``}, {"a1", `{"reason":"banned"}`}, {"a1", `{"reason":7}`},
		{"", `{}`}, {"a b", `{}`},
	} {
		f.Add(s.id, []byte(s.body))
	}
	h := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		serveFuzz(t, h, http.MethodPost, "/sim/sessions/"+url.PathEscape(id)+"/close", body)
	})
}

// FuzzSessionRoutes sends any session id to every route that takes one.
func FuzzSessionRoutes(f *testing.F) {
	for _, id := range []string{"a1", "user_1", "..", ".", "a/b", "%00", "a\nb", "ü", string(bytes.Repeat([]byte("z"), 65))} {
		f.Add(id)
	}
	h := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, id string) {
		p := "/sessions/" + url.PathEscape(id)
		serveFuzz(t, h, http.MethodPost, "/start", []byte(`{"session_id":`+mustJSON(id)+`}`))
		serveFuzz(t, h, http.MethodGet, p, nil)
		serveFuzz(t, h, http.MethodGet, p+"/qr", nil)
		serveFuzz(t, h, http.MethodPost, "/sim/sessions/"+url.PathEscape(id)+"/scan", nil)
		serveFuzz(t, h, http.MethodPost, p+"/logout", nil)
		serveFuzz(t, h, http.MethodDelete, p, nil)
	})
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
