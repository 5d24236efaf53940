//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Seed test 2: a repeated /start returns the cached QR code and starts no
// new pairing; Redis holds the QR and status with TTLs; lookups of a
// session that is not running are answered by the caches and counted.
func TestCacheRepeatedStart(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	// Real time: the first code lives 60 s, so no new code comes during the test.
	env := fastEnv(r, l, "SIM_TIME_SCALE=1", "SIM_SCAN_PROBABILITY=0", "QR_THROTTLE=30s")
	g := startGateway(t, env...)
	const id = "cache-1"

	g.Start(t, id)
	var qr string
	waitFor(t, 30*time.Second, "the first QR code", func() bool {
		s := g.Session(t, id)
		if s.QR != nil {
			qr = *s.QR
		}
		return qr != ""
	})
	again := g.Start(t, id)
	if again.QR == nil || *again.QR != qr || again.Status != "pending" {
		t.Fatalf("second /start = %+v, want the same QR code, pending", again)
	}
	// The log (read through a pipe: poll) shows one pairing and the duplicate ignored.
	var started, generated, duplicates int
	countStarts := func() bool {
		started, generated, duplicates = 0, 0, 0
		for _, ln := range parseLogs(g.Logs()) {
			if ln.SessionID != id {
				continue
			}
			switch ln.Msg {
			case "session started":
				started++
			case "qr generated":
				generated++
			case "duplicate start ignored":
				duplicates++
			}
		}
		return duplicates > 0
	}
	waitFor(t, 10*time.Second, "the duplicate start in the log", countStarts)
	if started != 1 || generated != 1 || duplicates != 1 {
		t.Errorf("log: %d sessions started, %d QR codes generated, %d duplicate starts ignored; want 1, 1, 1",
			started, generated, duplicates)
	}

	// Redis (L2) holds the QR code and the status, each with its TTL. The
	// manager caches the QR code before it records the pending status, so
	// the status key may land a moment after /start showed the code: wait.
	rdb := r.Client(t)
	ctx := context.Background()
	for key, max := range map[string]time.Duration{
		"wagateway:qr:{" + id + "}":     120 * time.Second, // CACHE_TTL_QR
		"wagateway:status:{" + id + "}": 300 * time.Second, // CACHE_TTL_STATUS
	} {
		var ttl time.Duration
		waitFor(t, 10*time.Second, key+" in Redis", func() bool {
			var err error
			if ttl, err = rdb.TTL(ctx, key).Result(); err != nil {
				t.Fatal(err)
			}
			return ttl != -2*time.Nanosecond // -2: no such key (yet)
		})
		if ttl <= 0 || ttl > max {
			t.Errorf("TTL %s = %s, want in (0, %s]", key, ttl, max)
		}
	}
	if v, err := rdb.Get(ctx, "wagateway:qr:{"+id+"}").Result(); err != nil || !strings.Contains(v, qr[len(qr)-40:]) {
		t.Errorf("GET wagateway:qr:{%s} = %.80q… (%v), want the QR code shown", id, v, err)
	}

	// Once the session is over here, lookups come from the caches, not Laravel.
	g.CloseSession(t, id)
	waitFor(t, 30*time.Second, id+" inactive", func() bool { return g.Session(t, id).Status == "inactive" })
	before := g.CacheMetrics(t)
	for range 3 {
		if s := g.Session(t, id); s.Source != "l1" || s.Status != "inactive" {
			t.Errorf("GET /sessions/%s = %+v, want inactive from l1", id, s)
		}
	}
	after := g.CacheMetrics(t)
	if after.Hits-before.Hits < 3 || after.Rate <= 0 {
		t.Errorf("/metrics/cache hits %d → %d (hitRate %.2f), want +3 for three cached lookups", before.Hits, after.Hits, after.Rate)
	}

	// A second instance on the same Redis answers from L2: the cache is shared.
	g2 := startGateway(t, env...)
	if s := g2.Session(t, id); s.Source != "l2" || s.Status != "inactive" {
		t.Errorf("second instance: GET /sessions/%s = %+v, want inactive from l2", id, s)
	}
	if m := g2.CacheMetrics(t); m.Hits < 1 {
		t.Errorf("second instance: /metrics/cache hits = %d, want ≥ 1", m.Hits)
	}
	for _, rq := range l.Requests() {
		if strings.HasPrefix(rq.Path, "/api/whatsapp/status/"+id) {
			t.Errorf("Laravel was asked %s: the caches should have answered", rq.Path)
		}
	}
}
