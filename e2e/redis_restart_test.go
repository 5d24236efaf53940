//go:build e2e

package e2e

import (
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// Redis killed (kill -9, no snapshot) and started again under traffic, while
// Laravel is down so accepted items wait in Redis: the gateway stays up,
// /health shows the outage and the recovery, and with AOF every accepted
// item still reaches Laravel.
func TestRedisRestartUnderTraffic(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	g := startGateway(t, fastEnv(r, l)...)
	before := startMany(t, g, "redis", 20)
	tr := startTraffic(g, "flow", 100*time.Millisecond)

	l.SetFaults(t, mocklaravel.Faults{Down: true})
	// The first sessions reach their final state (active or expired) while
	// Laravel is down: those statuses exist nowhere but in Redis.
	waitFor(t, 30*time.Second, "the first sessions settled, their statuses waiting in Redis", func() bool {
		for _, id := range before {
			if g.Session(t, id).Status == "pending" {
				return false
			}
		}
		return r.OutboxLen(t) >= 40
	})
	inRedis := r.OutboxLen(t)

	r.Kill(t)
	waitHealth(t, g, "down")
	// Traffic goes on during the outage: codes rotate, pairings time out
	// (new /start calls may be refused: a session needs its Redis lease).
	waitFor(t, 30*time.Second, "events accepted during the outage", func() bool {
		return countLogs(g.Logs(), "item added") > 0 && g.BatchMetrics(t).Accepted > int64(inRedis)+20
	})
	r.Start(t)
	waitHealth(t, g, "up")
	time.Sleep(time.Second) // more traffic once Redis is back
	ids := append(before, tr.Stop()...)
	l.SetFaults(t, mocklaravel.Faults{})

	select {
	case <-g.done:
		t.Fatalf("the gateway exited during the Redis outage: %v", g.err)
	default:
	}
	state := settled(t, g, ids, 90*time.Second)
	want := published(g.Logs())
	if !sameStates(t, want, state) {
		t.Error("the statuses the gateway accepted and its API disagree")
	}
	waitDelivered(t, l, want, 30*time.Second)
	waitFor(t, 30*time.Second, "the outbox empty", func() bool { return r.OutboxLen(t) == 0 })
	t.Logf("%d sessions; %d items were waiting in Redis when it was killed; %d refused starts", len(ids), inRedis, tr.refused)
}
