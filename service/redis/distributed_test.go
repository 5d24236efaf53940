package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/cachetest"
	"wagateway/service/leasetest"
	"wagateway/service/outboxtest"
	"wagateway/service/redis"
)

// topologies are the Redis set-ups the gateway supports, each a fresh,
// empty client per call: one server, a 3-master Cluster, a master behind
// Sentinels. Every contract suite runs on each, so a script that touches
// keys of two slots, or a command a Cluster refuses, fails here.
var topologies = []struct {
	name string
	open func(t *testing.T) goredis.UniversalClient
}{
	{"single", func(t *testing.T) goredis.UniversalClient { return redistest.Start(t) }},
	{"cluster", func(t *testing.T) goredis.UniversalClient { return redistest.StartCluster(t) }},
	{"sentinel", func(t *testing.T) goredis.UniversalClient {
		return sharedSentinel(t).Client(t)
	}},
}

var (
	sentinelOnce sync.Once
	sentinelSet  *redistest.Sentinel
)

// sharedSentinel starts one Sentinel setup for the binary's contract runs
// (each subtest flushes it) and keeps it until the binary exits.
func sharedSentinel(t *testing.T) *redistest.Sentinel {
	sentinelOnce.Do(func() { sentinelSet = redistest.StartSentinelShared(t) })
	if sentinelSet == nil {
		t.Fatal("no sentinel setup")
	}
	rdb := sentinelSet.Client(t)
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("flush sentinel master: %v", err)
	}
	return sentinelSet
}

func TestContractsOnEveryTopology(t *testing.T) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			if testing.Short() && tp.name != "single" {
				t.Skip("short: the contracts on one server only (make mutation runs every mutant -short)")
			}
			t.Run("Outbox", func(t *testing.T) {
				outboxtest.Run(t, func(t *testing.T) service.Outbox {
					return newOutbox(t, tp.open(t), redis.OutboxConfig{})
				})
			})
			t.Run("Cache", func(t *testing.T) {
				cachetest.Run(t, func(t *testing.T) service.Cache { return redis.NewCache(tp.open(t)) })
			})
			t.Run("Leases", func(t *testing.T) {
				leasetest.Run(t, func(t *testing.T) leasetest.Store {
					// Redis owns expiry: let real time pass.
					return leasetest.Store{Leases: redis.NewLeases(tp.open(t), ""), Pass: time.Sleep}
				})
			})
		})
	}
}

// Every script and multi-key call of the package runs on a Cluster: the
// fenced add, InvalidateAll over all masters, the instance registry, the
// device store and Orphans' MGET.
func TestClusterRunsEveryScript(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.StartCluster(t)
	leases := redis.NewLeases(rdb, "")
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	cache := redis.NewCache(rdb)
	for i := range 50 { // 50 sessions spread over the three masters
		id := fmt.Sprintf("s%d", i)
		if err := cache.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusActive, UpdatedAt: t0}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := cache.SetQR(ctx, service.QR{SessionID: id, Image: "x"}, time.Minute); err != nil {
			t.Fatal(err)
		}
		lease, ok, err := leases.Take(ctx, id, "gw-a", time.Minute)
		if !ok || err != nil {
			t.Fatalf("Take %s: %v %v", id, ok, err)
		}
		if _, err := ob.Add(ctx, fenced(outboxtest.Status(id, service.LaneHigh, t0), lease)); err != nil {
			t.Fatalf("AddFenced %s: %v", id, err)
		}
	}
	if err := cache.Invalidate(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := cache.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	var left atomic.Int64 // ForEachMaster calls back concurrently
	_ = rdb.(*goredis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
		n, err := c.Keys(ctx, "wagateway:status:*").Result()
		left.Add(int64(len(n)))
		return err
	})
	if left.Load() != 0 {
		t.Fatalf("%d status keys left after InvalidateAll on the Cluster", left.Load())
	}
	items := outboxtest.MustClaim(t, ob, service.LaneHigh, 100)
	if len(items) != 50 {
		t.Fatalf("claimed %d items, want 50", len(items))
	}
	if err := ob.Ack(ctx, service.LaneHigh, items[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := ob.DeadLetter(ctx, service.LaneHigh, []service.DeadLetter{{Item: items[1], Reason: "test"}}); err != nil {
		t.Fatal(err)
	}
	if orphans, err := leases.Orphans(ctx); err != nil || len(orphans) != 0 {
		t.Fatalf("Orphans = %v, %v", orphans, err)
	}
	reg := redis.NewInstances(rdb, "")
	if err := reg.Heartbeat(ctx, service.Instance{ID: "gw-a", URL: "http://a"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if live, err := reg.Live(ctx); err != nil || len(live) != 1 || live[0].URL != "http://a" {
		t.Fatalf("Live = %+v, %v", live, err)
	}
	dev := redis.NewDevices(rdb, "")
	if err := dev.SaveDevice(ctx, "s1", "jid"); err != nil {
		t.Fatal(err)
	}
	if ids, err := dev.Devices(ctx); err != nil || len(ids) != 1 {
		t.Fatalf("Devices = %v, %v", ids, err)
	}
	if jid, ok, err := dev.Device(ctx, "s1"); jid != "jid" || !ok || err != nil {
		t.Fatalf("Device = %q, %v, %v", jid, ok, err)
	}
	if err := dev.DeleteDevice(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := dev.Device(ctx, "s1"); ok || err != nil {
		t.Fatalf("Device after delete = %v, %v", ok, err)
	}
}
