//go:build e2e

package e2e

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// SIGTERM under traffic: the gateway stops its sessions, delivers
// everything pending (their final inactive statuses included) and exits 0.
func TestSigtermDeliversPending(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	// Lanes flush every 30 min / 1 h and only at 500 items: everything
	// accepted stays pending until the shutdown flush.
	g := startGateway(t, fastEnv(r, l, "BATCH_INTERVAL=1h", "PRIORITY_INTERVAL=30m", "BATCH_SIZE=500",
		"SHUTDOWN_TIMEOUT=30s")...)
	early := startMany(t, g, "term", 30)
	tr := startTraffic(g, "busy", 50*time.Millisecond)
	waitFor(t, 30*time.Second, "items pending in the outbox", func() bool {
		return g.BatchMetrics(t).Pending() >= 100 && len(tr.Accepted()) >= 10
	})
	if n := len(l.BatchRequests()); n != 0 {
		t.Fatalf("Laravel got %d requests before the shutdown: the scenario needs items pending", n)
	}
	pending := r.OutboxLen(t)

	g.Signal(t, syscall.SIGTERM)
	if code := g.Wait(t, 60*time.Second); code != 0 {
		t.Fatalf("gateway exited %d after SIGTERM, want 0", code)
	}
	ids := append(early, tr.Stop()...)
	logs := g.Logs()
	t.Logf("%d sessions, %d items waiting in Redis at SIGTERM; Laravel got %d requests", len(ids), pending, len(l.BatchRequests()))

	want := published(logs)
	for _, id := range ids {
		if _, ok := want[id]; !ok {
			t.Errorf("session %s was accepted but no status of it was published", id)
		}
	}
	waitDelivered(t, l, want, 5*time.Second) // the process is gone: it is there or lost
	accounts := l.Accounts(t)
	for _, id := range ids {
		if accounts[id].EstadoQR != "inactive" && accounts[id].EstadoQR != "expired" {
			t.Errorf("%s: Laravel has %q, want inactive (stopped) or expired", id, accounts[id].EstadoQR)
		}
	}
	if n := r.OutboxLen(t); n != 0 {
		t.Errorf("%d items left in the outbox after the shutdown", n)
	}
	lines := parseLogs(logs)
	if !slices.ContainsFunc(lines, func(l LogLine) bool { return l.Msg == "outbox flushed" }) {
		t.Error(`no "outbox flushed" in the log`)
	}
	for _, l := range lines {
		if l.Level == "ERROR" {
			t.Errorf("error logged: %s", l.Msg)
		}
	}
}
