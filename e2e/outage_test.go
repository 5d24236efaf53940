//go:build e2e

package e2e

import (
	"net/http"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// Laravel down for 30 s under traffic (15 s in maintenance, 503, then 15 s
// rate limiting, 429, both with Retry-After): nothing is lost, retries are
// counted, and no retry comes before Laravel's Retry-After.
func TestLaravelDownUnderTraffic(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	g := startGateway(t, fastEnv(r, l)...)
	before := startMany(t, g, "early", 20)

	tr := startTraffic(g, "outage", 200*time.Millisecond)
	l.SetFaults(t, mocklaravel.Faults{Down: true, RetryAfterS: 2})
	waitFor(t, 30*time.Second, "/health to show Laravel down", func() bool {
		h := g.Health(t)
		return h.Laravel == "down" && h.Status == "degraded"
	})
	time.Sleep(15 * time.Second) // the outage is the scenario: it lasts, whatever the gateway does
	l.SetFaults(t, mocklaravel.Faults{ErrorRate: 1, Status: http.StatusTooManyRequests, RetryAfterS: 3})
	time.Sleep(15 * time.Second)
	during := g.BatchMetrics(t)
	l.SetFaults(t, mocklaravel.Faults{})
	time.Sleep(time.Second) // some traffic after the recovery too
	ids := append(before, tr.Stop()...)
	t.Logf("%d sessions started, %d during the outage; metrics at its end: %+v", len(ids), len(ids)-len(before), during)

	want := settled(t, g, ids, 120*time.Second)
	waitDelivered(t, l, want, 30*time.Second)
	if logged := published(g.Logs()); !sameStates(t, logged, want) {
		t.Error("the gateway's log and its API disagree on the final states")
	}
	waitFor(t, 30*time.Second, "/health to show Laravel up", func() bool { return g.Health(t).Laravel == "up" })

	// Every request the mock refused is a failure the gateway counted, and
	// every request after the first of a batch is a counted retry.
	reqs := l.BatchRequests()
	var refused, retried int64
	keys := map[string]bool{}
	for _, rq := range reqs {
		if rq.Status != http.StatusOK {
			refused++
		}
		if keys[rq.IdempotencyKey] {
			retried++
		}
		keys[rq.IdempotencyKey] = true
	}
	m := g.BatchMetrics(t)
	t.Logf("Laravel got %d batch requests, refused %d, %d were repeats of a batch; metrics: %+v", len(reqs), refused, retried, m)
	if m.Requests != int64(len(reqs)) || m.Failed != refused {
		t.Errorf("metrics requests/failed = %d/%d, Laravel saw %d/%d", m.Requests, m.Failed, len(reqs), refused)
	}
	if m.Retries < retried || m.Retries < 3 {
		t.Errorf("metrics retries = %d, want ≥ %d (repeated batches Laravel saw) and ≥ 3", m.Retries, retried)
	}
	if m.DeadLettered != 0 {
		t.Errorf("%d items dead-lettered: a 503 or 429 must never drop items", m.DeadLettered)
	}

	// Retry-After: after a refused request, the same batch (same
	// Idempotency-Key) and the next QR request (QR codes all go through
	// one lane, whose flushes are sequential) wait at least that long.
	checked := 0
	for i, a := range reqs {
		if a.Status == http.StatusOK {
			continue
		}
		if a.RetryAfter == 0 {
			t.Fatalf("the mock answered %d without Retry-After", a.Status)
		}
		sameKey, nextQR := false, a.Path == "/api/qr/batch"
		for _, b := range reqs[i+1:] {
			why := ""
			switch {
			case !sameKey && b.IdempotencyKey == a.IdempotencyKey:
				sameKey, why = true, "same batch"
			case nextQR && b.Path == "/api/qr/batch":
				nextQR, why = false, "next QR request"
			default:
				continue
			}
			checked++
			if gap := b.At.Sub(a.At); gap < a.RetryAfter {
				t.Errorf("%s sent %s after a %d with Retry-After %s (%s)", why, gap.Round(time.Millisecond), a.Status, a.RetryAfter, b.Path)
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d retry gaps to check: the outage did not force several retries", checked)
	}
	t.Logf("%d retry gaps checked against Retry-After", checked)
}

// sameStates reports whether got has want's state for every session of
// want, logging the differences.
func sameStates(t *testing.T, got, want map[string]string) bool {
	t.Helper()
	ok := true
	for id, st := range want {
		if got[id] != st {
			t.Logf("%s: %q, want %q", id, got[id], st)
			ok = false
		}
	}
	return ok
}
