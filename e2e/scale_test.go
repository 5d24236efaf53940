//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"wagateway/internal/redistest"
	"wagateway/internal/tcpproxy"
	"wagateway/mocklaravel"
)

// scaleEnv is fastEnv for the scale scenarios: 70 % of the phones scan.
func scaleEnv(redisURL string, l *Laravel) []string {
	return append(fastEnv(nil, l), "REDIS_URL="+redisURL, "SIM_SCAN_PROBABILITY=0.7")
}

// activeOf is the set of ids whose state is active.
func activeOf(states map[string]string) map[string]bool {
	out := map[string]bool{}
	for id, st := range states {
		if st == "active" {
			out[id] = true
		}
	}
	return out
}

// busiest is the running instance with the most active sessions.
func busiest(f *Fleet) string {
	count := map[string]int{}
	for _, on := range f.Running("active") {
		for _, id := range on {
			count[id]++
		}
	}
	best := ""
	for _, id := range f.IDs() {
		if best == "" || count[id] > count[best] {
			best = id
		}
	}
	return best
}

// finish stops the traffic and checks the end state: every accepted session
// settled, Laravel holds the cluster's state for each, every active one runs
// on exactly one instance, and no round saw a session on two.
func finish(t *testing.T, f *Fleet, l *Laravel, tr *Traffic, before []string, since time.Time) map[string]string {
	t.Helper()
	all := append(slices.Clone(before), tr.Stop()...)
	final := clusterStates(t, f, all, 2*time.Minute)
	waitDelivered(t, l, final, time.Minute)
	f.waitRound(t)
	running := f.Running("active")
	for id := range activeOf(final) {
		if on := running[id]; len(on) != 1 {
			t.Errorf("active session %s runs on %v, want exactly one instance", id, on)
		}
	}
	f.CheckOwnership(t, since)
	f.Usage(t)
	t.Logf("%d sessions accepted, %d active at the end, Laravel holds every final state", len(all), len(activeOf(final)))
	return final
}

// Three instances, 300 sessions started through random instances, 70 %
// scanned; then kill -9 of the busiest instance under traffic, five times
// (a fresh instance joins after each): every active session of the dead
// one runs on exactly one survivor within LEASE_TTL + 5 s, Laravel never
// sees it inactive, and nothing accepted is lost.
func TestScaleKill9Takeover(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	testScaleKill9(t, r.URL, l, 300, 5)
}

// The core scenario on a real 3-master Redis Cluster.
func TestScaleOnRedisCluster(t *testing.T) {
	testScaleKill9(t, redistest.ClusterURL(t), startLaravel(t), 150, 2)
}

func testScaleKill9(t *testing.T, redisURL string, l *Laravel, sessions, kills int) {
	since := time.Now()
	f := startFleet(t, 3, scaleEnv(redisURL, l)...)
	ids := startSpread(t, f, "s", sessions)
	states := clusterStates(t, f, ids, 2*time.Minute)
	active := activeOf(states)
	t.Logf("%d sessions through 3 instances: %d active (scanned), %d expired", len(ids), len(active), len(ids)-len(active))

	tr := startFleetTraffic(f, "live", 200*time.Millisecond)
	killFrom := time.Now()
	var took []time.Duration
	for k := range kills {
		victim := busiest(f)
		d, n := f.KillAndMeasure(t, victim, scaleLeaseTTL+5*time.Second)
		took = append(took, d)
		t.Logf("kill -9 %s (%d active sessions): all on exactly one survivor after %s", victim, n, d.Round(10*time.Millisecond))
		f.Start(fmt.Sprintf("gw-%d", 4+k))
	}
	t.Logf("takeover over %d kills (LEASE_TTL %s): p50 %s, max %s", len(took), scaleLeaseTTL,
		percentile(took, 0.5).Round(10*time.Millisecond), slices.Max(took).Round(10*time.Millisecond))
	if flaps := inactiveSent(l, active, killFrom); len(flaps) > 0 {
		t.Errorf("Laravel got inactive for %d taken-over sessions, e.g. %v", len(flaps), flaps[:min(5, len(flaps))])
	}
	finish(t, f, l, tr, ids, since)
}

// A rolling restart of all three instances (SIGTERM, start again, next)
// under traffic: each hands its sessions over, so no inactive reaches
// Laravel for a paired session, and nothing is lost.
func TestScaleRollingRestart(t *testing.T) {
	since := time.Now()
	r, l := startRedis(t), startLaravel(t)
	f := startFleet(t, 3, scaleEnv(r.URL, l)...)
	ids := startSpread(t, f, "s", 90)
	active := activeOf(clusterStates(t, f, ids, 2*time.Minute))
	tr := startFleetTraffic(f, "live", 200*time.Millisecond)
	from := time.Now()
	for _, id := range []string{"gw-1", "gw-2", "gw-3"} {
		old := f.Gateway(id)
		f.Stop(id)
		if countLogs(old.Logs(), "sessions handed over") != 1 || countLogs(old.Logs(), "sessions stopped") != 0 {
			t.Errorf("%s did not hand its sessions over on SIGTERM", id)
		}
		f.Start(id)
		// Its sessions found a new home before the next one goes.
		waitFor(t, scaleLeaseTTL+5*time.Second, "every active session running somewhere", func() bool {
			running := f.Running("active")
			for sid := range active {
				if len(running[sid]) != 1 {
					return false
				}
			}
			return true
		})
	}
	t.Logf("rolling restart of 3 instances took %s", time.Since(from).Round(100*time.Millisecond))
	if flaps := inactiveSent(l, active, from); len(flaps) > 0 {
		t.Errorf("Laravel got inactive for %d paired sessions during the rolling restart, e.g. %v", len(flaps), flaps[:min(5, len(flaps))])
	}
	finish(t, f, l, tr, ids, since)
}

// A partition between one instance and Redis (a black-hole TCP proxy): its
// sessions move to the others within LEASE_TTL + 5 s, and it stops them
// itself when its lease lapses, so no session ever runs twice.
func TestScalePartitionFromRedis(t *testing.T) {
	since := time.Now()
	r, l := startRedis(t), startLaravel(t)
	addr := strings.TrimSuffix(strings.TrimPrefix(r.URL, "redis://"), "/0")
	proxy, err := tcpproxy.Start(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	f := startFleet(t, 2, scaleEnv(r.URL, l)...)
	f.Start("gw-3", "REDIS_URL=redis://"+proxy.Addr+"/0")
	ids := startSpread(t, f, "s", 90)
	active := activeOf(clusterStates(t, f, ids, 2*time.Minute))
	tr := startFleetTraffic(f, "live", 200*time.Millisecond)
	f.waitRound(t)
	var cut []string
	for sid, on := range f.Running("active") {
		if slices.Contains(on, "gw-3") {
			cut = append(cut, sid)
		}
	}
	if len(cut) == 0 {
		t.Fatal("gw-3 runs no active session: nothing to partition")
	}
	proxy.Cut()
	cutAt := time.Now()
	waitFor(t, scaleLeaseTTL+5*time.Second, "gw-3's sessions on exactly one of gw-1, gw-2", func() bool {
		running := f.Running("active")
		for _, sid := range cut {
			if on := running[sid]; len(on) != 1 || on[0] == "gw-3" {
				return false
			}
		}
		return true
	})
	t.Logf("partitioned gw-3 (%d active sessions): all moved after %s", len(cut), time.Since(cutAt).Round(10*time.Millisecond))
	if n := countLogs(f.Gateway("gw-3").Logs(), "lease lost, session stopped here"); n < len(cut) {
		t.Errorf("gw-3 stopped %d of its %d sessions itself", n, len(cut))
	}
	proxy.Restore()
	waitFor(t, 30*time.Second, "gw-3 back on Redis", func() bool { return f.Gateway("gw-3").Health(t).Redis == "up" })
	if flaps := inactiveSent(l, active, cutAt); len(flaps) > 0 {
		t.Errorf("Laravel got inactive for %d moved sessions, e.g. %v", len(flaps), flaps[:min(5, len(flaps))])
	}
	finish(t, f, l, tr, ids, since)
}

// Behind Sentinel (master, replica, three Sentinels), a failover under
// traffic to a replica that was cut off its master for the last 1.5 s (as
// a network fault would): every write of those seconds is on the old
// master alone, and Redis loses it when the Sentinels turn that master into
// a replica of the new one. Laravel is down from the cut until 2 s after
// the switch, so the updates of those seconds are not delivered from the
// old master before it is lost. The gateway accepted those writes
// unconfirmed (WAIT found no replica) and keeps them, and the sessions'
// ends, until a replica confirms them, so every session, started before,
// during or after the switch, ends right in Laravel; every active session runs on exactly one instance, none ever on
// two. LEASE_TTL is 10 s here: the lease renewals and heartbeats of the cut
// are lost too, and with the 3 s of the other scenarios the new master's
// leases lapsed while their owners still ran the sessions (another
// instance took them over, and both ran them until the owners' next
// renewal failed); docs/scaling.md, Sentinel and failover.
func TestScaleBehindSentinelWithFailover(t *testing.T) {
	since := time.Now()
	s, l := redistest.StartSentinel(t), startLaravel(t)
	f := startFleet(t, 3, append(scaleEnv(s.URL(), l), "LEASE_TTL=10s")...)
	ids := startSpread(t, f, "s", 90)
	clusterStates(t, f, ids, 2*time.Minute)
	tr := startFleetTraffic(f, "live", 50*time.Millisecond)
	time.Sleep(3 * time.Second) // sessions that settle during the cut
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before, _ := s.CurrentMaster(ctx)
	l.SetFaults(t, mocklaravel.Faults{Down: true})
	if err := s.CutReplica(ctx); err != nil {
		t.Fatal(err)
	}
	cut := len(tr.Accepted())
	time.Sleep(1500 * time.Millisecond) // traffic the replica never gets
	at := time.Now()
	now, err := s.Failover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sentinel failover %s → %s in %s under traffic, %d sessions started while the replica was cut off",
		before, now, time.Since(at).Round(10*time.Millisecond), len(tr.Accepted())-cut)
	time.Sleep(2 * time.Second)
	l.SetFaults(t, mocklaravel.Faults{})
	time.Sleep(time.Second)
	all := append(slices.Clone(ids), tr.Stop()...)
	final := ownerStates(t, f, all, 2*time.Minute)
	waitDelivered(t, l, final, time.Minute)
	t.Logf("%d sessions (%d started under traffic): every final state in Laravel", len(all), len(all)-len(ids))
	f.waitRound(t)
	for id, on := range f.Running("active") {
		if len(on) != 1 {
			t.Errorf("active session %s runs on %v", id, on)
		}
	}
	f.CheckOwnership(t, since)
}

// ownerStates waits until none of ids is pending as its owner sees it
// (GET /sessions/{id}, forwarded to the instance running it) and returns
// each one's state. The cluster's list reads the other instances' sessions
// from the status cache, which a Redis failover can set back to an older
// state until the session's next change.
func ownerStates(t *testing.T, f *Fleet, ids []string, limit time.Duration) map[string]string {
	t.Helper()
	out := make(map[string]string, len(ids))
	waiting := ""
	defer func() {
		if t.Failed() && waiting != "" {
			t.Logf("still waiting for %s", waiting)
		}
	}()
	waitFor(t, limit, "every session active or expired on its owner", func() bool {
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue
			}
			var sv SessionView
			if _, err := f.Any().Do(http.MethodGet, "/sessions/"+id, nil, &sv); err != nil || (sv.Status != "active" && sv.Status != "expired") {
				waiting = fmt.Sprintf("%s (%q, %v)", id, sv.Status, err)
				return false
			}
			out[id] = sv.Status
		}
		waiting = ""
		return true
	})
	return out
}
