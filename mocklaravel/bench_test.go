package mocklaravel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// realisticQR is the size of a real QR data URL (~1.9 KB, as rendered by the gateway).
var realisticQR = func() string {
	b := make([]byte, 1400)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return qrPrefix + base64.StdEncoding.EncodeToString(b)
}()

// batchBody is a 50-item batch of kind "statuses" or "qrs" for sessions
// s<offset>…, with event times after every earlier call's (so each item
// really updates its row).
func batchBody(kind string, n, offset int, at time.Time) []byte {
	items := make([]map[string]any, n)
	when := at.Format(TimeFormat)
	for i := range items {
		id := fmt.Sprintf("s%05d", (offset+i)%10_000)
		if kind == "statuses" {
			items[i] = map[string]any{"session_id": id, "estado_qr": "active", "updated_at": when}
		} else {
			items[i] = map[string]any{"session_id": id, "qr": realisticQR, "generated_at": when}
		}
	}
	b, _ := json.Marshal(map[string]any{kind: items})
	return b
}

func benchmarkBatch(b *testing.B, kind, path string) {
	s, _ := newTestServer(b, Config{})
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = batchBody(kind, 50, i*50, t0.Add(time.Duration(i)*time.Millisecond))
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}

// go test -run x -bench . -benchmem ./mocklaravel/
func BenchmarkStatusBatch50(b *testing.B) {
	benchmarkBatch(b, "statuses", "/api/whatsapp/status/batch")
}
func BenchmarkQRBatch50(b *testing.B) { benchmarkBatch(b, "qrs", "/api/qr/batch") }

// TestBurst is the local load check: 8 concurrent clients × 200 batch
// requests of 50 items (status and QR alternately) over TCP on 127.0.0.1,
// then p99 read from /__mock/stats. It asserts correctness only and logs
// the latencies (go test -run Burst -v ./mocklaravel/); -short skips it,
// and under -race it sends 20 requests per client instead of 200.
func TestBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("burst skipped in -short mode")
	}
	const clients, items = 8, 50
	requests := 200
	if raceEnabled {
		requests = 20
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	t.Cleanup(hc.CloseIdleConnections)

	// Bodies are built before the clock starts so the burst measures the server.
	type job struct {
		path string
		body []byte
	}
	jobs := make([][]job, clients)
	for c := range jobs {
		for r := range requests {
			kind, path := "statuses", "/api/whatsapp/status/batch"
			if r%2 == 1 {
				kind, path = "qrs", "/api/qr/batch"
			}
			jobs[c] = append(jobs[c], job{path, batchBody(kind, items, (c*requests+r)*items, time.Now().Add(time.Duration(r)*time.Millisecond))})
		}
	}

	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, j := range jobs[c] {
				resp, err := hc.Post(hs.URL+j.path, "application/json", bytes.NewReader(j.body))
				if err != nil {
					t.Errorf("client %d: %v", c, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("client %d: status %d", c, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	st, err := NewClient(hs.URL).Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != int64(clients*requests) || st.Items != int64(clients*requests*items) {
		t.Fatalf("stats saw %d requests, %d items; want %d, %d", st.Requests, st.Items, clients*requests, clients*requests*items)
	}
	t.Logf("burst: %d requests × %d items from %d clients in %v (%.0f req/s, %.0f items/s)",
		st.Requests, items, clients, elapsed.Round(time.Millisecond),
		float64(st.Requests)/elapsed.Seconds(), float64(st.Items)/elapsed.Seconds())
	for _, key := range []string{KeyStatusBatch, KeyQRBatch} {
		l := st.Endpoints[key].LatencyMS
		t.Logf("%s: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, max %.3f ms", key, l.P50, l.P95, l.P99, l.Max)
	}
}
