//go:build e2e

package e2e

import (
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// One session flipping fast (start, scan, close, again and again) while
// Laravel is slow: statuses travel in two lanes (pending on NORMAL, active
// and inactive on HIGH), yet Laravel ends with the last one. The NORMAL lane
// flushes long after the flips end, so every pending would reach Laravel
// after a newer status if the outbox did not drop superseded updates.
func TestRapidFlipsLastStateWins(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	g := startGateway(t, fastEnv(r, l, "SIM_TIME_SCALE=1", "SIM_SCAN_PROBABILITY=0", "QR_THROTTLE=0",
		"BATCH_INTERVAL=20s", "PRIORITY_INTERVAL=100ms")...)
	l.SetFaults(t, mocklaravel.Faults{LatencyMS: 300})
	const id = "flip-1"

	until := func(status string) {
		t.Helper()
		waitFor(t, 30*time.Second, id+" "+status, func() bool { return g.Session(t, id).Status == status })
	}
	for range 8 {
		g.Start(t, id)
		waitFor(t, 30*time.Second, id+" showing a QR code", func() bool { return g.Session(t, id).QR != nil })
		g.Scan(t, id)
		until("active")
		g.CloseSession(t, id)
		until("inactive")
	}
	g.Start(t, id)
	waitFor(t, 30*time.Second, id+" showing a QR code", func() bool { return g.Session(t, id).QR != nil })
	g.Scan(t, id)
	until("active")
	last := g.Session(t, id)

	waitFor(t, 60*time.Second, "the outbox empty", func() bool { return g.BatchMetrics(t).Pending() == 0 })
	a, ok, err := l.Mock.Account(t.Context(), id)
	if err != nil || !ok {
		t.Fatalf("Laravel has no %s (%v)", id, err)
	}
	if a.EstadoQR != "active" || !a.LastStatusUpdate.Equal(last.UpdatedAt.Truncate(time.Millisecond)) {
		t.Errorf("Laravel has %s %q at %s, want the last state: active at %s", id, a.EstadoQR,
			a.LastStatusUpdate.Format(time.RFC3339Nano), last.UpdatedAt.Format(time.RFC3339Nano))
	}

	// The NORMAL lane is held, so each pending status waits in the outbox
	// while newer active/inactive ones go out on HIGH. The outbox must drop
	// the older pending updates as newer ones arrive (newest-wins before
	// sending), so no status reaches Laravel after a newer one, and it
	// must have dropped some, or the scenario did not exercise that.
	var sent []string
	reordered := 0
	newest := ""
	for _, rq := range l.BatchRequests() {
		for _, it := range rq.Items {
			if it.Status == "" {
				continue
			}
			sent = append(sent, it.Status+"@"+it.At[11:])
			if it.At < newest { // same layout and zone: text order is time order
				reordered++
			}
			newest = max(newest, it.At)
		}
	}
	m := g.BatchMetrics(t)
	t.Logf("statuses in the order Laravel got them: %v; superseded in the outbox: %d", sent, m.Superseded)
	if reordered != 0 {
		t.Errorf("%d statuses reached Laravel after a newer one: the outbox kept superseded updates", reordered)
	}
	if m.Superseded == 0 {
		t.Error("nothing was superseded: the scenario did not exercise newest-wins")
	}
}
