package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"wagateway/internal/laraveltest"
)

// appProxy puts the real Laravel app (contracts/laravel under one php -S
// process) in the mock's place: every /api request goes to the app, whose
// answer the gateway gets; a copy then goes to the in-process mock, whose
// counters (requests, items) the report reads as usual. It times each
// delivery: PHP's own time from the app's Server-Timing header, and the
// round trip, which adds the wait for the single PHP process.
type appProxy struct {
	mock   http.Handler
	client *http.Client

	mu        sync.Mutex
	upstream  string
	handling  map[string][]float64 // endpoint key → PHP's ms per request
	roundTrip map[string][]float64
}

func newAppProxy(mock http.Handler) *appProxy {
	return &appProxy{mock: mock, client: &http.Client{Timeout: 60 * time.Second}}
}

// use points the proxy at a freshly started app and forgets the timings.
func (p *appProxy) use(upstream string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.upstream = upstream
	p.handling, p.roundTrip = map[string][]float64{}, map[string][]float64{}
}

func (p *appProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	upstream := p.upstream
	p.mu.Unlock()
	if upstream == "" || !strings.HasPrefix(r.URL.Path, "/api/") {
		p.mock.ServeHTTP(w, r) // the mock's own admin and health endpoints
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	if err != nil {
		http.Error(w, `{"message":"Could not read the request body."}`, http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, `{"message":"laravel app: `+err.Error()+`"}`, http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := float64(time.Since(start)) / float64(time.Millisecond)
	if err != nil {
		http.Error(w, `{"message":"laravel app: `+err.Error()+`"}`, http.StatusBadGateway)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)

	if key := r.Method + " " + r.URL.Path; isDeliveryPath(r.URL.Path) {
		p.mu.Lock()
		p.roundTrip[key] = append(p.roundTrip[key], elapsed)
		if d, ok := serverTiming(resp.Header.Get("Server-Timing")); ok {
			p.handling[key] = append(p.handling[key], d)
		}
		p.mu.Unlock()
	}
	// The mock keeps the books (requests, items per endpoint).
	copyReq := r.Clone(context.WithoutCancel(r.Context()))
	copyReq.Body = io.NopCloser(bytes.NewReader(body))
	p.mock.ServeHTTP(httptest.NewRecorder(), copyReq)
}

// serverTiming reads the dur of "app;dur=12.345".
func serverTiming(h string) (float64, bool) {
	for _, part := range strings.Split(h, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "dur="); ok {
			d, err := strconv.ParseFloat(v, 64)
			return d, err == nil
		}
	}
	return 0, false
}

func (p *appProxy) summaries() (handling, roundTrip map[string]Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	handling, roundTrip = map[string]Summary{}, map[string]Summary{}
	for k, v := range p.handling {
		handling[k] = Summarize(v)
	}
	for k, v := range p.roundTrip {
		roundTrip[k] = Summarize(v)
	}
	return handling, roundTrip
}

// startApp serves a fresh copy of the Laravel app for one mode.
func startApp(dir string) (*laraveltest.App, ProcSample, error) {
	app, err := laraveltest.Serve(dir, laraveltest.Options{})
	if err != nil {
		return nil, ProcSample{}, fmt.Errorf("laravel app: %w", err)
	}
	p0, err := ReadProc(app.PID())
	if err != nil {
		_ = app.Stop()
		return nil, ProcSample{}, fmt.Errorf("laravel app /proc: %w", err)
	}
	return app, p0, nil
}
