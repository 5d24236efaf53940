package redis_test

import (
	"context"
	"testing"
	"time"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/redis"
)

// Behind Sentinel, an item Redis accepted while no replica confirmed it
// (WAIT found none) survives a failover that promotes a replica without
// it: the outbox keeps it in memory until a replica confirms it, writes it
// to the new master and a Claim there hands it out. Without that keeping
// the new master never has it and the item is lost.
func TestUnconfirmedItemSurvivesFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a Sentinel failover takes 10–20 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := redistest.StartSentinel(t)
	ob := newOutbox(t, s.Client(t), redis.OutboxConfig{ReplicaAcks: 1, ClaimTimeout: time.Hour})

	before := outboxtest.Status("confirmed", service.LaneHigh, time.Now())
	if _, err := ob.Add(ctx, before); err != nil {
		t.Fatal(err)
	}
	if n := ob.Unconfirmed(); n != 0 {
		t.Fatalf("%d items unconfirmed with the replica in sync, want 0", n)
	}

	// The replica the Sentinels will promote misses what the master takes now.
	if err := s.CutReplica(ctx); err != nil {
		t.Fatal(err)
	}
	lost, err := ob.Add(ctx, outboxtest.Status("unconfirmed", service.LaneHigh, time.Now()))
	if err != nil {
		t.Fatalf("Add with no replica confirming: %v, want it accepted", err)
	}
	if n := ob.Unconfirmed(); n != 1 {
		t.Fatalf("%d items unconfirmed after an Add no replica confirmed, want 1", n)
	}

	master, err := s.Failover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failover to %s (the replica without %s)", master, lost)

	// Claim until the item shows on the new master and a replica (the old
	// master, once the Sentinels turn it into one) confirmed it.
	claimed := map[string]bool{}
	for {
		items, err := ob.Claim(ctx, service.LaneHigh, 10)
		if err == nil {
			for _, it := range items {
				claimed[it.SessionID] = true
			}
			if err := ob.Ack(ctx, service.LaneHigh, outboxtest.IDs(items)...); err != nil {
				t.Logf("ack: %v", err)
			}
		}
		if claimed["unconfirmed"] && ob.Unconfirmed() == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after the failover: claimed %v, %d items unconfirmed; want the unconfirmed item claimed from the new master and confirmed",
				claimed, ob.Unconfirmed())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !claimed["confirmed"] {
		t.Errorf("the item confirmed before the failover was not claimed after it: %v", claimed)
	}
}

// Behind Sentinel, a session that ended while no replica confirmed the end
// does not come back as an orphan after a failover to a replica that still
// has its lease: Orphans ends it again first. Without that, its lease
// lapses on the new master and an instance starts the ended session anew.
func TestUnconfirmedEndSurvivesFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a Sentinel failover takes 10–20 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := redistest.StartSentinel(t)
	leases := redis.NewLeases(s.Client(t), "").WaitReplicas(1)
	const ttl = time.Second
	lease, ok, err := leases.Take(ctx, "ended", "gw-1", ttl)
	if err != nil || !ok {
		t.Fatalf("Take: %v, %v", ok, err)
	}
	if err := s.CutReplica(ctx); err != nil {
		t.Fatal(err)
	}
	if err := leases.End(ctx, lease); err != nil {
		t.Fatalf("End with no replica confirming: %v", err)
	}
	if _, err := s.Failover(ctx); err != nil {
		t.Fatal(err)
	}
	// Past the lease's lapse on the new master, and one scan more.
	deadline := time.Now().Add(3 * ttl)
	for scans := 0; time.Now().Before(deadline) || scans < 2; scans++ {
		orphans, err := leases.Orphans(ctx)
		if err == nil {
			if _, back := orphans["ended"]; back {
				t.Fatalf("the ended session is an orphan after the failover: %v", orphans)
			}
		} else {
			scans-- // the client still follows the new master
		}
		select {
		case <-ctx.Done():
			t.Fatal("Orphans never answered after the failover")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
