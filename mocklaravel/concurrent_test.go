package mocklaravel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestConcurrentOverlappingBatches sends status and QR batches from many
// goroutines, each touching overlapping sessions with event times in random
// order, and checks that every session ends with its newest status and QR.
func TestConcurrentOverlappingBatches(t *testing.T) {
	const (
		workers  = 8
		batches  = 25
		perBatch = 20
		sessions = 40
	)
	s, _ := newTestServer(t, Config{})
	// Values are functions of the event time, so two items with equal times agree.
	statusAt := func(ms int64) string { return []string{"pending", "active", "inactive", "expired"}[ms%4] }
	qrAt := func(ms int64) string {
		return qrPrefix + base64.StdEncoding.EncodeToString([]byte(fmt.Sprint("qr", ms)))
	}

	var (
		mu     sync.Mutex
		newest = map[string]int64{} // kind/session → newest event ms sent
		wg     sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 99))
			for b := range batches {
				kind, key, path := "status", "statuses", "/api/whatsapp/status/batch"
				if b%2 == 1 {
					kind, key, path = "qr", "qrs", "/api/qr/batch"
				}
				items := make([]map[string]any, perBatch)
				for i := range items {
					id := fmt.Sprintf("s%02d", rnd.IntN(sessions))
					ms := t0.UnixMilli() + rnd.Int64N(100_000)
					when := time.UnixMilli(ms).UTC().Format(TimeFormat)
					if kind == "status" {
						items[i] = map[string]any{"session_id": id, "estado_qr": statusAt(ms), "updated_at": when}
					} else {
						items[i] = map[string]any{"session_id": id, "qr": qrAt(ms), "generated_at": when}
					}
					mu.Lock()
					newest[kind+"/"+id] = max(newest[kind+"/"+id], ms)
					mu.Unlock()
				}
				body, _ := json.Marshal(map[string]any{key: items})
				req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				want := fmt.Sprintf(`{"success":true,"updated":%d,"failed":0}`, perBatch)
				if rec.Code != 200 || rec.Body.String() != want {
					t.Errorf("worker %d batch %d: %d %s", w, b, rec.Code, rec.Body.String())
				}
			}
		}()
	}
	wg.Wait()

	accounts, err := s.Accounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) == 0 {
		t.Fatal("no accounts stored")
	}
	for _, a := range accounts {
		if ms, ok := newest["status/"+a.SessionID]; ok {
			if a.LastStatusUpdate.UnixMilli() != ms || a.EstadoQR != statusAt(ms) {
				t.Errorf("%s: status %s@%d, want %s@%d", a.SessionID, a.EstadoQR, a.LastStatusUpdate.UnixMilli(), statusAt(ms), ms)
			}
		}
		if ms, ok := newest["qr/"+a.SessionID]; ok {
			if a.QRGeneratedAt.UnixMilli() != ms || a.QRCode != qrAt(ms) {
				t.Errorf("%s: qr at %d, want %d", a.SessionID, a.QRGeneratedAt.UnixMilli(), ms)
			}
		}
	}
	st := s.Stats()
	if st.Requests != workers*batches || st.Items != workers*batches*perBatch {
		t.Errorf("stats requests=%d items=%d", st.Requests, st.Items)
	}
}
