//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fastEnv is the gateway environment of most scenarios: Redis and the mock
// Laravel, time compressed (a QR code every 20 s/60, a pairing over in ~3 s),
// lanes flushed every 100 ms (HIGH) and 500 ms (NORMAL).
func fastEnv(r *Redis, l *Laravel, extra ...string) []string {
	env := []string{
		"LARAVEL_URL=" + l.URL,
		"SIM_TIME_SCALE=60",
		"SIM_SCAN_PROBABILITY=0.5",
		"SIM_SCAN_DELAY=60s", // scaled: a scan within 1 s
		"BATCH_INTERVAL=500ms",
		"PRIORITY_INTERVAL=100ms",
	}
	if r != nil {
		env = append(env, "REDIS_URL="+r.URL)
	}
	return append(env, extra...)
}

// Do sends method path with a JSON body (nil for none) and decodes the JSON
// answer into out (nil to drop it); it returns the status code, or 0 when
// the gateway could not be reached (it may be stopping: callers decide).
func (g *Gateway) Do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = strings.NewReader(string(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.URL+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: decode %q: %w", method, path, b, err)
		}
	}
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, nil
}

// must is Do that fails the test on anything but 2xx.
func (g *Gateway) must(t *testing.T, method, path string, body, out any) {
	t.Helper()
	if _, err := g.Do(method, path, body, out); err != nil {
		t.Fatal(err)
	}
}

// StartResponse is the body of POST /start.
type StartResponse struct {
	SessionID string  `json:"session_id"`
	Status    string  `json:"estado_qr"`
	QR        *string `json:"qr"`
}

// Start is POST /start {"session_id":id}.
func (g *Gateway) Start(t *testing.T, id string) StartResponse {
	t.Helper()
	var res StartResponse
	g.must(t, http.MethodPost, "/start", map[string]string{"session_id": id}, &res)
	return res
}

// Scan makes the simulated phone of id scan its QR code.
func (g *Gateway) Scan(t *testing.T, id string) {
	t.Helper()
	g.must(t, http.MethodPost, "/sim/sessions/"+id+"/scan", nil, nil)
}

// CloseSession makes the simulated phone of id close the session (logged out).
func (g *Gateway) CloseSession(t *testing.T, id string) {
	t.Helper()
	g.must(t, http.MethodPost, "/sim/sessions/"+id+"/close", nil, nil)
}

// SessionView is the body of GET /sessions/{id}.
type SessionView struct {
	SessionID string     `json:"session_id"`
	Status    string     `json:"estado_qr"`
	QR        *string    `json:"qr"`
	UpdatedAt *time.Time `json:"updated_at"`
	Source    string     `json:"source"`
}

// Session is GET /sessions/{id}.
func (g *Gateway) Session(t *testing.T, id string) SessionView {
	t.Helper()
	var s SessionView
	g.must(t, http.MethodGet, "/sessions/"+id, nil, &s)
	return s
}

// BatchMetrics is the part of GET /metrics/batch the tests read.
type BatchMetrics struct {
	QRBatchSize     int   `json:"qrBatchSize"`
	StatusBatchSize int   `json:"statusBatchSize"`
	LastFlushQR     int64 `json:"lastFlushQr"`
	LastFlushStatus int64 `json:"lastFlushStatus"`
	Durable         bool  `json:"durable"`
	Accepted        int64 `json:"accepted"`
	Requests        int64 `json:"requests"`
	Sent            int64 `json:"sent"`
	Superseded      int64 `json:"superseded"`
	Failed          int64 `json:"failed"`
	Retries         int64 `json:"retries"`
	DeadLettered    int64 `json:"deadLettered"`
	RequestsSaved   int64 `json:"requestsSaved"`
	Lanes           map[string]struct {
		Pending int `json:"pending"`
	} `json:"lanes"`
}

// Pending is what waits in every lane of the outbox.
func (m BatchMetrics) Pending() int {
	n := 0
	for _, l := range m.Lanes {
		n += l.Pending
	}
	return n
}

// BatchMetrics is GET /metrics/batch.
func (g *Gateway) BatchMetrics(t *testing.T) BatchMetrics {
	t.Helper()
	var m BatchMetrics
	g.must(t, http.MethodGet, "/metrics/batch", nil, &m)
	return m
}

// CacheMetrics is the part of GET /metrics/cache the tests read.
type CacheMetrics struct {
	Hits   int64   `json:"hits"`
	Misses int64   `json:"misses"`
	Sets   int64   `json:"sets"`
	Rate   float64 `json:"hitRate"`
	L1     *struct {
		Hits int64 `json:"hits"`
	} `json:"l1"`
}

// CacheMetrics is GET /metrics/cache.
func (g *Gateway) CacheMetrics(t *testing.T) CacheMetrics {
	t.Helper()
	var m CacheMetrics
	g.must(t, http.MethodGet, "/metrics/cache", nil, &m)
	return m
}

// LogLine is one JSON line of the gateway's log (the fields tests read).
type LogLine struct {
	Msg       string `json:"msg"`
	Level     string `json:"level"`
	SessionID string `json:"session_id"`
	Status    string `json:"estado_qr"`
	Kind      string `json:"kind"`
	Items     int    `json:"items"`
	Reason    string `json:"reason"`
}

// parseLogs returns the JSON lines of logs (other lines are skipped).
func parseLogs(logs string) []LogLine {
	var out []LogLine
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l LogLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg != "" {
			out = append(out, l)
		}
	}
	return out
}

// published returns, per session, the last status the gateway accepted
// (wrote to its outbox), over the logs of one or more runs in order: what
// Laravel must end with. The manager logs "status changed" before writing
// the item, the flusher "item added" (debug) once the outbox took it, so a
// status counts only when its "item added" follows: a process killed in
// between had not accepted it.
func published(logs ...string) map[string]string {
	out := map[string]string{}
	for _, lg := range logs {
		changed := map[string]string{} // logged, not yet accepted
		for _, l := range parseLogs(lg) {
			switch {
			case l.Msg == "status changed":
				changed[l.SessionID] = l.Status
			case l.Msg == "item added" && l.Kind == "status":
				if st, ok := changed[l.SessionID]; ok {
					out[l.SessionID] = st
					delete(changed, l.SessionID)
				}
			}
		}
	}
	return out
}

// countLogs counts the lines with message msg.
func countLogs(logs, msg string) int {
	n := 0
	for _, l := range parseLogs(logs) {
		if l.Msg == msg {
			n++
		}
	}
	return n
}

// waitDelivered waits until the mock's estado_qr of every session in want
// is the wanted one; on timeout it lists the first differences.
func waitDelivered(t *testing.T, l *Laravel, want map[string]string, limit time.Duration) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("waitDelivered: nothing to wait for")
	}
	var diff []string
	deadline := time.Now().Add(limit)
	for {
		diff = diff[:0]
		got := l.Accounts(t)
		for id, st := range want {
			if a, ok := got[id]; !ok || a.EstadoQR != st {
				diff = append(diff, fmt.Sprintf("%s: laravel %q, want %q", id, a.EstadoQR, st))
			}
		}
		if len(diff) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	sort.Strings(diff)
	t.Fatalf("after %s, %d of %d sessions differ in Laravel, e.g.:\n  %s", limit, len(diff), len(want),
		strings.Join(diff[:min(len(diff), 10)], "\n  "))
}

// Traffic starts sessions on a gateway at a steady pace until stopped, as
// Laravel's users would; the simulated phones then show codes, get scanned
// or time out by themselves.
type Traffic struct {
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	accepted []string // ids whose /start answered 200
	refused  int      // answers other than 200, or no answer
}

// startTraffic starts one session "<prefix>-<n>" every interval.
func startTraffic(g *Gateway, prefix string, interval time.Duration) *Traffic {
	return startTrafficVia(func() *Gateway { return g }, prefix, interval)
}

// startTrafficVia starts one session "<prefix>-<n>" every interval, each
// through the gateway via returns.
func startTrafficVia(via func() *Gateway, prefix string, interval time.Duration) *Traffic {
	tr := &Traffic{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for n := 1; ; n++ {
			id := fmt.Sprintf("%s-%d", prefix, n)
			code, _ := via().Do(http.MethodPost, "/start", map[string]string{"session_id": id}, nil)
			tr.mu.Lock()
			if code == http.StatusOK {
				tr.accepted = append(tr.accepted, id)
			} else {
				tr.refused++
			}
			tr.mu.Unlock()
			select {
			case <-tr.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return tr
}

// Stop ends the traffic and returns the sessions the gateway accepted.
func (tr *Traffic) Stop() []string {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	<-tr.done
	return tr.Accepted()
}

// Accepted returns the sessions accepted so far.
func (tr *Traffic) Accepted() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.accepted...)
}

// startMany starts n sessions "<prefix>-<i>" at once (8 requests in flight).
func startMany(t *testing.T, g *Gateway, prefix string, n int) []string {
	t.Helper()
	return startManyVia(t, func() *Gateway { return g }, prefix, n)
}

// startManyVia starts n sessions "<prefix>-<i>" at once (8 requests in
// flight), each through the gateway via returns.
func startManyVia(t *testing.T, via func() *Gateway, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i+1)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := via().Do(http.MethodPost, "/start", map[string]string{"session_id": ids[i]}, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// settled waits until no session of ids is still pairing in the gateway (each
// is active, or its pairing timed out) and its outbox is empty; it returns
// every session's state as the gateway reports it.
func settled(t *testing.T, g *Gateway, ids []string, limit time.Duration) map[string]string {
	t.Helper()
	state := map[string]string{}
	var waiting string
	deadline := time.Now().Add(limit)
	for {
		waiting = ""
		for _, id := range ids {
			s := g.Session(t, id)
			if s.Status == "pending" {
				waiting = fmt.Sprintf("session %s still pending (source %s)", id, s.Source)
				break
			}
			state[id] = s.Status
		}
		if waiting == "" {
			if n := g.BatchMetrics(t).Pending(); n > 0 {
				waiting = fmt.Sprintf("%d items still in the outbox", n)
			}
		}
		if waiting == "" {
			return state
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after %s: %s", limit, waiting)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
