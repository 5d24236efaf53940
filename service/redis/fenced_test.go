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

// A writer whose lease lapsed and was taken by another instance cannot add
// items for that session any more; the new holder can.
func TestFencedAddRefusesAStaleLease(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	leases := redis.NewLeases(rdb, "")
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	stale, ok, err := leases.Take(ctx, "s1", "gw-a", 50*time.Millisecond)
	if !ok || err != nil {
		t.Fatalf("Take: %v %v", ok, err)
	}
	if _, err := ob.Add(ctx, fenced(outboxtest.Status("s1", service.LaneHigh, t0), stale)); err != nil {
		t.Fatalf("fenced Add while holding the lease: %v", err)
	}
	time.Sleep(150 * time.Millisecond) // Redis owns expiry
	fresh, ok, err := leases.Take(ctx, "s1", "gw-b", time.Minute)
	if !ok || err != nil {
		t.Fatalf("Take by gw-b: %v %v", ok, err)
	}
	_, err = ob.Add(ctx, fenced(outboxtest.Status("s1", service.LaneHigh, t0.Add(time.Second)), stale))
	if service.ErrorCode(err) != service.ECONFLICT {
		t.Fatalf("fenced Add with a stale lease: %v, want ECONFLICT", err)
	}
	if _, err := ob.Add(ctx, fenced(outboxtest.Status("s1", service.LaneHigh, t0.Add(2*time.Second)), fresh)); err != nil {
		t.Fatalf("fenced Add by the new holder: %v", err)
	}
	// The new holder's update supersedes the first (newest per session and
	// kind); the stale one never got in.
	items := outboxtest.MustClaim(t, ob, service.LaneHigh, 10)
	if len(items) != 1 || !items[0].At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("outbox holds %v, want only the new holder's update", items)
	}
	if _, err := ob.Add(ctx, fenced(outboxtest.Status("s2", service.LaneHigh, t0), fresh)); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("fenced Add with another session's lease: %v, want EINVALID", err)
	}
}

func TestInstancesRegistry(t *testing.T) {
	ctx := context.Background()
	reg := redis.NewInstances(redistest.Start(t), "")
	if err := reg.Heartbeat(ctx, service.Instance{ID: "gw-b", URL: "http://b", Sessions: 3, MaxSessions: 3}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := reg.Heartbeat(ctx, service.Instance{ID: "gw-a", URL: "http://a"}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	live, err := reg.Live(ctx)
	if err != nil || len(live) != 2 || live[0].ID != "gw-a" || live[1].URL != "http://b" || live[1].HasRoom() || !live[0].HasRoom() {
		t.Fatalf("Live = %+v, %v", live, err)
	}
	time.Sleep(150 * time.Millisecond) // gw-a stopped beating
	if live, err = reg.Live(ctx); err != nil || len(live) != 1 || live[0].ID != "gw-b" {
		t.Fatalf("Live after gw-a's heartbeat expired = %+v, %v", live, err)
	}
	if err := reg.Leave(ctx, "gw-b"); err != nil {
		t.Fatal(err)
	}
	if live, err = reg.Live(ctx); err != nil || len(live) != 0 {
		t.Fatalf("Live after Leave = %+v, %v", live, err)
	}
	if err := reg.Heartbeat(ctx, service.Instance{}, time.Minute); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Heartbeat without id: %v", err)
	}
}

// fenced gives u the lease of the instance that made it.
func fenced(u service.Update, lease service.Lease) service.Update {
	u.Lease = &lease
	return u
}

// A lease a Redis failover lost (the key is gone, no newer token was handed
// out) comes back with the holder's next fenced write, as with a renewal.
func TestFencedAddTakesBackALeaseAFailoverLost(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	leases := redis.NewLeases(rdb, "")
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	lease, ok, err := leases.Take(ctx, "s1", "gw-a", time.Minute)
	if !ok || err != nil {
		t.Fatalf("Take: %v %v", ok, err)
	}
	rdb.Del(ctx, "wagateway:{core}:lease:s1", "wagateway:{core}:fence:s1", "wagateway:{core}:running")
	if _, err := ob.Add(ctx, fenced(outboxtest.Status("s1", service.LaneHigh, t0), lease)); err != nil {
		t.Fatalf("fenced Add after the lease was lost: %v", err)
	}
	if owner, _ := leases.Owner(ctx, "s1"); owner != "gw-a" {
		t.Fatalf("owner after the fenced add = %q, want gw-a back", owner)
	}
	if _, ok, _ := leases.Take(ctx, "s1", "gw-b", time.Minute); ok {
		t.Fatal("another instance took the session its holder still writes for")
	}
}

// A fenced add that reaches Redis after its session ended (End) or was
// handed over, e.g. one whose client timed out under load while End went
// ahead on another connection, is refused and does not take the lease back:
// taking it back brought expired sessions back as new pairings in the
// 100,000-session run.
func TestFencedAddAfterEndOrHandoverIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redistest.Start(t)
	leases := redis.NewLeases(rdb, "")
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	for i, giveUp := range []func(context.Context, service.Lease) error{leases.End, leases.Handover} {
		id := []string{"ended", "handed"}[i]
		lease, ok, err := leases.Take(ctx, id, "gw-a", time.Minute)
		if !ok || err != nil {
			t.Fatalf("Take %s: %v %v", id, ok, err)
		}
		if err := giveUp(ctx, lease); err != nil {
			t.Fatal(err)
		}
		if _, err := ob.Add(ctx, fenced(outboxtest.Status(id, service.LaneHigh, t0), lease)); service.ErrorCode(err) != service.ECONFLICT {
			t.Fatalf("fenced Add after %s gave its lease up: %v, want ECONFLICT", id, err)
		}
		if owner, _ := leases.Owner(ctx, id); owner != "" {
			t.Fatalf("%s is held by %q after a late fenced add, want nobody", id, owner)
		}
	}
}
