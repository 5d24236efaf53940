//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// Laravel refuses (422) the items of some sessions: those are dead-lettered
// with the reason, in Redis and in the metrics, and every other session
// still gets through in the same batches.
func TestRejectedItemsDeadLettered(t *testing.T) {
	bad := []string{"dl-3", "dl-7", "dl-12"}
	r, l, g, _ := refusedRun(t, "dl", 20, bad)
	accounts := l.Accounts(t)
	for _, id := range bad {
		if a, ok := accounts[id]; ok {
			t.Errorf("Laravel stored refused session %s: %+v", id, a)
		}
	}

	// Redis keeps each refused item with the reason.
	entries, err := r.Client(t).XRange(context.Background(), "wagateway:{core}:deadletter", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[string]bool{} // session → kinds dead-lettered
	for _, e := range entries {
		var d struct {
			Item struct {
				SessionID string `json:"session_id"`
				Kind      string `json:"kind"`
			} `json:"item"`
			Reason string `json:"reason"`
		}
		raw, _ := e.Values["dead"].(string)
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatalf("dead letter %s: %v (%q)", e.ID, err, raw)
		}
		if !slices.Contains(bad, d.Item.SessionID) {
			t.Errorf("dead letter for %s, which Laravel accepts: %s", d.Item.SessionID, raw)
		}
		if !strings.Contains(d.Reason, "422") && !strings.Contains(strings.ToLower(d.Reason), "invalid") {
			t.Errorf("dead letter reason %q does not say why (422, invalid)", d.Reason)
		}
		if kinds[d.Item.SessionID] == nil {
			kinds[d.Item.SessionID] = map[string]bool{}
		}
		kinds[d.Item.SessionID][d.Item.Kind] = true
	}
	for _, id := range bad {
		if !kinds[id]["qr"] || !kinds[id]["status"] {
			t.Errorf("%s: dead-lettered kinds %v, want its QR codes and statuses", id, kinds[id])
		}
	}

	m := g.BatchMetrics(t)
	t.Logf("%d dead letters in Redis; metrics: deadLettered %d, sent %d, failed %d", len(entries), m.DeadLettered, m.Sent, m.Failed)
	if m.DeadLettered != int64(len(entries)) {
		t.Errorf("/metrics/batch deadLettered = %d, Redis holds %d dead letters", m.DeadLettered, len(entries))
	}
	if m.Failed == 0 {
		t.Error("/metrics/batch failed = 0: the 422 answers were not counted")
	}
	waitFor(t, 10*time.Second, "the dead letters in the log", func() bool {
		return countLogs(g.Logs(), "item dead-lettered") == len(entries)
	})
}

// refusedRun starts a gateway on Redis and a Laravel that refuses (422)
// the items of bad, pairs n sessions prefix-0 … prefix-(n-1), waits until
// each has settled and every other session's state reached Laravel, and
// returns the settled states.
func refusedRun(t *testing.T, prefix string, n int, bad []string) (*Redis, *Laravel, *Gateway, map[string]string) {
	t.Helper()
	r, l := startRedis(t), startLaravel(t)
	g := startGateway(t, fastEnv(r, l)...)
	l.SetFaults(t, mocklaravel.Faults{RejectSessions: bad})
	state := settled(t, g, startMany(t, g, prefix, n), 60*time.Second)
	good := map[string]string{}
	for id, st := range state {
		if !slices.Contains(bad, id) {
			good[id] = st
		}
	}
	waitDelivered(t, l, good, 30*time.Second)
	return r, l, g, state
}
