//go:build e2e

package e2e

import (
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// kill -9 under traffic while Laravel is down: what the gateway accepted
// waits in Redis, and the next gateway delivers all of it: the same
// instance restarted (same INSTANCE_ID: it takes its own claimed items back
// at once), or another one (it takes the dead consumer's items over once
// they have been claimed for the claim timeout, 30 s).
func TestKill9ThenRestartDelivers(t *testing.T) {
	t.Run("same instance", func(t *testing.T) { testKill9ThenRestart(t, "gw-crash") })
	t.Run("another instance", func(t *testing.T) { testKill9ThenRestart(t, "gw-other") })
}

func testKill9ThenRestart(t *testing.T, nextInstance string) {
	r, l := startRedis(t), startLaravel(t)
	env := fastEnv(r, l, "INSTANCE_ID=gw-crash", "BATCH_SIZE=500")
	g := startGateway(t, env...)
	before := startMany(t, g, "crash", 20)
	waitFor(t, 30*time.Second, "the first batches delivered", func() bool { return len(l.Accounts(t)) >= len(before) })

	l.SetFaults(t, mocklaravel.Faults{Down: true})
	tr := startTraffic(g, "doomed", 100*time.Millisecond)
	// The first sessions reach their final state (active or expired) while
	// Laravel is down: those statuses exist nowhere but in Redis (a pending
	// status would prove little: Laravel creates a pending account from a
	// QR code alone).
	waitFor(t, 30*time.Second, "the first sessions settled while Laravel is down", func() bool {
		for _, id := range before {
			if g.Session(t, id).Status == "pending" {
				return false
			}
		}
		return g.BatchMetrics(t).Pending() >= 50 && len(tr.Accepted()) >= 10
	})
	// ... and the flusher has tried to send the expired ones (the NORMAL
	// lane holds only statuses: with BATCH_SIZE 500 its one request carries
	// them all): an item leaves Redis when Laravel took it, not when it was
	// claimed or tried.
	waitFor(t, 120*time.Second, "the first sessions' expired statuses sent and refused", func() bool {
		final := published(g.Logs())
		sent := map[string]bool{}
		for _, rq := range l.BatchRequests() {
			for _, it := range rq.Items {
				sent[it.SessionID+"="+it.Status] = true
			}
		}
		expired := 0
		for _, id := range before {
			if final[id] == "expired" {
				if !sent[id+"=expired"] {
					return false
				}
				expired++
			}
		}
		return expired > 0
	})
	g.Kill()
	g.Wait(t, 10*time.Second)
	ids := append(before, tr.Stop()...)
	want := published(g.Logs())
	inRedis := r.OutboxLen(t)
	t.Logf("killed with %d sessions started, %d items waiting in Redis", len(ids), inRedis)
	if inRedis == 0 {
		t.Error("nothing waits in Redis after the kill, yet Laravel was down: accepted items were not durable")
	}
	// A session started just before the kill may not have had an event yet;
	// the ones before the outage all had theirs.
	for _, id := range before {
		if _, ok := want[id]; !ok {
			t.Errorf("session %s: no status of it was accepted", id)
		}
	}
	if len(want) < len(ids)/2 {
		t.Errorf("only %d of %d sessions had a status accepted", len(want), len(ids))
	}
	settledBefore := 0
	for _, id := range before {
		if want[id] == "active" || want[id] == "expired" {
			settledBefore++
		}
	}
	if settledBefore != len(before) {
		t.Errorf("%d of the first %d sessions have a final state in the log", settledBefore, len(before))
	}

	g2 := startGateway(t, append(env, "INSTANCE_ID="+nextInstance)...)
	if inRedis > 0 {
		waitFor(t, 30*time.Second, "the restarted gateway to see the pending items", func() bool {
			return g2.BatchMetrics(t).Pending() > 0
		})
	}
	l.SetFaults(t, mocklaravel.Faults{})
	// Every session of the dead process that had not ended is still running
	// as far as the leases know: once its lease lapses (LEASE_TTL), the next
	// gateway takes it over and publishes its statuses anew. Laravel must end
	// with the last status accepted by either process.
	if takenOver := waitTakeoversSettled(t, g2, ids, want); len(takenOver) > 0 {
		t.Logf("the next gateway took over %d sessions of the dead one", len(takenOver))
		want = published(g.Logs(), g2.Logs())
	}
	waitDelivered(t, l, want, 90*time.Second)
	waitFor(t, 30*time.Second, "the outbox empty", func() bool { return r.OutboxLen(t) == 0 })
	m := g2.BatchMetrics(t)
	t.Logf("restarted gateway sent %d items (%d superseded)", m.Sent, m.Superseded)
	if m.Sent == 0 {
		t.Error("the restarted gateway sent nothing: who delivered the pending items?")
	}
}

// waitTakeoversSettled waits, when some of ids had not ended (want: their
// last accepted status), for g to take them over and for each taken-over
// session to leave pending; it returns the ids g took over.
func waitTakeoversSettled(t *testing.T, g *Gateway, ids []string, want map[string]string) []string {
	t.Helper()
	running := 0
	for _, id := range ids {
		if want[id] != "expired" { // expired ends the session and its lease
			running++
		}
	}
	if running == 0 {
		return nil
	}
	takenOver := func() []string {
		var out []string
		for _, l := range parseLogs(g.Logs()) {
			if l.Msg == "session taken over" {
				out = append(out, l.SessionID)
			}
		}
		return out
	}
	// The lease lapses after LEASE_TTL (30 s); the orphan scan runs every
	// LEASE_TTL/6.
	waitFor(t, 90*time.Second, "the next gateway to take the unfinished sessions over", func() bool {
		return len(takenOver()) > 0
	})
	// Quiet for longer than one scan: the takeover is complete.
	last, quietSince := len(takenOver()), time.Now()
	waitFor(t, 120*time.Second, "the taken-over sessions settled", func() bool {
		ids := takenOver()
		if len(ids) != last {
			last, quietSince = len(ids), time.Now()
		}
		if time.Since(quietSince) < 7*time.Second {
			return false
		}
		for _, id := range ids {
			if g.Session(t, id).Status == "pending" {
				return false
			}
		}
		return true
	})
	return takenOver()
}
