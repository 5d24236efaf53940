package redis_test

import (
	"context"
	"testing"
	"time"

	"wagateway/internal/redistest"
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
