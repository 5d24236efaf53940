package redis_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/redis"
)

func TestLeasesExclusiveAcrossOwners(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	// Two gateway instances share one Redis.
	gw1, gw2 := redis.NewLeases(rdb, ""), redis.NewLeases(rdb, "")
	acquire := func(l *redis.Leases, owner string, want bool) {
		t.Helper()
		got, err := l.Acquire(ctx, "s1", owner, time.Minute)
		if err != nil || got != want {
			t.Fatalf("Acquire(%s) = %v, %v; want %v", owner, got, err, want)
		}
	}
	owner := func(want string) {
		t.Helper()
		if got, err := gw2.Owner(ctx, "s1"); err != nil || got != want {
			t.Fatalf("Owner = %q, %v; want %q", got, err, want)
		}
	}
	owner("")
	acquire(gw1, "gw1", true)
	acquire(gw2, "gw2", false)
	acquire(gw1, "gw1", true) // renewal
	owner("gw1")
	if err := gw2.Release(ctx, "s1", "gw2"); err != nil {
		t.Fatal(err)
	}
	owner("gw1") // only the owner can release
	if err := gw1.Release(ctx, "s1", "gw1"); err != nil {
		t.Fatal(err)
	}
	owner("")
	acquire(gw2, "gw2", true)
}

func TestLeasesRenewExtendsAndExpire(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	l := redis.NewLeases(rdb, "")
	if ok, err := l.Acquire(ctx, "s1", "gw1", time.Second); !ok || err != nil {
		t.Fatalf("Acquire: %v %v", ok, err)
	}
	if ok, err := l.Acquire(ctx, "s1", "gw1", time.Minute); !ok || err != nil {
		t.Fatalf("renew: %v %v", ok, err)
	}
	if ttl := rdb.PTTL(ctx, "wagateway:{core}:lease:s1").Val(); ttl < 50*time.Second {
		t.Fatalf("renewal did not extend the lease: ttl %v", ttl)
	}
	if ok, _ := l.Acquire(ctx, "s2", "gw1", 50*time.Millisecond); !ok {
		t.Fatal("Acquire s2 failed")
	}
	time.Sleep(120 * time.Millisecond) // Redis owns expiry
	if got, _ := l.Owner(ctx, "s2"); got != "" {
		t.Fatalf("expired lease still owned by %q", got)
	}
	if ok, err := l.Acquire(ctx, "s2", "gw2", time.Minute); !ok || err != nil {
		t.Fatalf("Acquire after expiry: %v %v", ok, err)
	}
}

func TestLeasesKnown(t *testing.T) {
	ctx := context.Background()
	l := redis.NewLeases(redistest.Start(t), "")
	for _, id := range []string{"b", "a", "b", "c"} {
		if err := l.Register(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Forget(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Known(ctx); err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Known = %v, %v", got, err)
	}
	if err := l.Register(ctx, "a*"); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Register(a*): %v", err)
	}
	if _, err := l.Acquire(ctx, "a", "gw", 0); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Acquire with no ttl: %v", err)
	}
}
