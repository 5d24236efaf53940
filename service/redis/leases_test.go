package redis_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/redis"
)

// The contract (service/leasetest) runs in distributed_test.go on every
// topology; this checks what only Redis shows: the key and its expiry.
func TestLeaseKeyExpiresByRedis(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	l := redis.NewLeases(rdb, "")
	lease, ok, err := l.Take(ctx, "s1", "gw1", time.Second)
	if !ok || err != nil {
		t.Fatalf("Take: %v %v", ok, err)
	}
	if held, err := l.Renew(ctx, time.Minute, lease); err != nil || !held[0] {
		t.Fatalf("Renew: %v %v", held, err)
	}
	if ttl := rdb.PTTL(ctx, "wagateway:{core}:lease:s1").Val(); ttl < 50*time.Second {
		t.Fatalf("renewal did not extend the lease: ttl %v", ttl)
	}
	if v := rdb.Get(ctx, "wagateway:{core}:lease:s1").Val(); v != "1 gw1" {
		t.Fatalf("lease value %q, want token and owner", v)
	}
}

// Orphans reads the expiry index, not the whole running hash, except on
// every fullSweepEvery-th call (the first included): both find the same
// orphans, and only the sweep finds a running session the index lacks
// (one written before the index existed).
func TestOrphansFromTheExpiryIndexAndThePeriodicSweep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redistest.Start(t)
	l := redis.NewLeases(rdb, "")
	take := func(id, owner string, ttl time.Duration) service.Lease {
		t.Helper()
		lease, ok, err := l.Take(ctx, id, owner, ttl)
		if !ok || err != nil {
			t.Fatalf("Take %s: %v %v", id, ok, err)
		}
		return lease
	}
	for i := range 1000 {
		take(fmt.Sprintf("held-%d", i), "gw-b", time.Minute)
	}
	take("lapsed", "gw-a", 50*time.Millisecond)
	if err := l.Handover(ctx, take("handed", "gw-a", time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := l.End(ctx, take("ended", "gw-a", 50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// Written by an older gateway: running, no lease, no index entry.
	rdb.HSet(ctx, "wagateway:{core}:running", "legacy", "gw-old")
	time.Sleep(200 * time.Millisecond)

	want := map[string]string{"lapsed": "gw-a", "handed": "", "legacy": "gw-old"}
	got, err := l.Orphans(ctx) // the first call sweeps
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("first Orphans (sweep) = %v, %v; want %v", got, err, want)
	}
	rdb.ConfigResetStat(ctx)
	delete(want, "legacy")
	for i := 2; i <= redis.FullSweepEvery; i++ {
		if got, err := l.Orphans(ctx); err != nil || !maps.Equal(got, want) {
			t.Fatalf("Orphans call %d (index) = %v, %v; want %v", i, got, err, want)
		}
	}
	if stats := rdb.Info(ctx, "commandstats").Val(); strings.Contains(stats, "cmdstat_hgetall") {
		t.Fatalf("the index calls read the whole running hash:\n%s", stats)
	}
	want["legacy"] = "gw-old"
	if got, err := l.Orphans(ctx); err != nil || !maps.Equal(got, want) {
		t.Fatalf("Orphans call %d (sweep) = %v, %v; want %v", redis.FullSweepEvery+1, got, err, want)
	}
	// A session taken over leaves the orphans at once.
	take("lapsed", "gw-b", time.Minute)
	delete(want, "lapsed")
	delete(want, "legacy")
	if got, err := l.Orphans(ctx); err != nil || !maps.Equal(got, want) {
		t.Fatalf("Orphans after a takeover = %v, %v; want %v", got, err, want)
	}
}

// A session that ends between Orphans' read of the running sessions and
// its check of their leases is no orphan: its own instance, which no
// longer runs it, would otherwise start it again as a fresh pairing (the
// 100,000-session run saw expired sessions come back with a new token).
func TestOrphansLeavesOutASessionThatEndedMeanwhile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redistest.Start(t)
	l := redis.NewLeases(rdb, "")
	lease, ok, err := l.Take(ctx, "s1", "gw-a", time.Minute)
	if !ok || err != nil {
		t.Fatalf("Take: %v %v", ok, err)
	}
	// Handed over: an orphan, from the running hash read on.
	handed, _, _ := l.Take(ctx, "s2", "gw-a", time.Minute)
	if err := l.Handover(ctx, handed); err != nil {
		t.Fatal(err)
	}
	redis.SetBeforeConfirm(l, func() {
		if err := l.End(ctx, lease); err != nil {
			t.Error(err)
		}
		if err := l.Forget(ctx, "s2"); err != nil {
			t.Error(err)
		}
	})
	// The first call sweeps: HGETALL saw s1 (leased) and s2 (handed over).
	got, err := l.Orphans(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("Orphans = %v, %v; want none: s1 ended and s2 was forgotten after the read", got, err)
	}
}
