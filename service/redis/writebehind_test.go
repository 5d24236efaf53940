package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/clocktest"
	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/cachetest"
	"wagateway/service/historytest"
	"wagateway/service/redis"
)

// An hour's delay: nothing reaches Redis by the timer during a test, so
// the contracts hold through the flushes of the reads alone.
const neverByTimer = time.Hour

func TestCacheContractWriteBehind(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) service.Cache {
		rdb := redistest.Start(t)
		return redis.NewCache(rdb, redis.WithWriteBehind(redis.NewWriteBehind(rdb, neverByTimer)))
	})
}

func TestHistoryContractWriteBehind(t *testing.T) {
	historytest.Run(t, func(t *testing.T, clock historytest.Clock, max int, maxAge time.Duration) service.StatusHistory {
		rdb := redistest.Start(t)
		return redis.NewHistory(rdb, "", clock, max, maxAge, redis.HistoryWriteBehind(redis.NewWriteBehind(rdb, neverByTimer), nil))
	}, func() historytest.Clock { return clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) })
}

// Writes wait in the process until their delay passes (other clients see
// them then) or Close sends them.
func TestCacheWriteBehindReachesRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redistest.Start(t)
	statusKey := redis.DefaultPrefix + "status:{s1}"

	behind := redis.NewWriteBehind(rdb, neverByTimer)
	queued := redis.NewCache(rdb, redis.WithWriteBehind(behind))
	if err := queued.SetStatus(ctx, service.StatusRecord{SessionID: "s1", Status: service.StatusPending, UpdatedAt: t0}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, statusKey).Val(); n != 0 {
		t.Fatalf("%s in Redis before the delay passed", statusKey)
	}
	behind.Close(ctx)
	if n := rdb.Exists(ctx, statusKey).Val(); n != 1 {
		t.Fatalf("%s not in Redis after Close", statusKey)
	}

	timed := redis.NewCache(rdb, redis.WithWriteBehind(redis.NewWriteBehind(rdb, 5*time.Millisecond)))
	qr := service.QR{SessionID: "s2", Code: "2@x", Image: "img", IssuedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := timed.SetQR(ctx, qr, time.Hour); err != nil {
		t.Fatal(err)
	}
	for rdb.Exists(ctx, redis.DefaultPrefix+"qr:{s2}").Val() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the queued QR never reached Redis")
		}
		time.Sleep(time.Millisecond)
	}
}

// A write still queued when the session is invalidated must not put the
// value back after the DEL.
func TestCacheWriteBehindInvalidateDropsQueuedWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redistest.Start(t)
	behind := redis.NewWriteBehind(rdb, neverByTimer)
	c := redis.NewCache(rdb, redis.WithWriteBehind(behind))
	if err := c.SetStatus(ctx, service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	behind.Close(ctx)
	if err := rdb.Get(ctx, redis.DefaultPrefix+"status:{s1}").Err(); !errors.Is(err, goredis.Nil) {
		t.Fatalf("status after Invalidate and Close: %v, want none", err)
	}
}

// The history keeps the order of queued changes and Close writes them.
func TestHistoryWriteBehindCloseWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redistest.Start(t)
	behind := redis.NewWriteBehind(rdb, neverByTimer)
	h := redis.NewHistory(rdb, "", nil, 10, time.Hour, redis.HistoryWriteBehind(behind, nil))
	for _, st := range []service.Status{service.StatusPending, service.StatusActive} {
		if err := h.Record(ctx, "s1", service.StatusChange{Status: st, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	key := redis.DefaultPrefix + "history:s1"
	if n := rdb.LLen(ctx, key).Val(); n != 0 {
		t.Fatalf("%d changes in Redis before the delay passed", n)
	}
	behind.Close(ctx)
	other := redis.NewHistory(rdb, "", nil, 10, time.Hour)
	got, err := other.History(ctx, "s1", 10)
	if err != nil || len(got) != 2 || got[0].Status != service.StatusActive || got[1].Status != service.StatusPending {
		t.Fatalf("history after Close = %+v, %v; want active, pending", got, err)
	}
}

// A lease given up (End, Handover) sends the queued cache writes first: the
// session's last status is in Redis before any other instance may act on
// the free lease, so a crash right after the End cannot leave the cache
// with an older status of a session nobody runs.
func TestLeaseGivenUpAfterTheQueuedWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redistest.Start(t)
	behind := redis.NewWriteBehind(rdb, neverByTimer)
	cache := redis.NewCache(rdb, redis.WithWriteBehind(behind))
	leases := redis.NewLeases(rdb, "").AfterWrites(behind)
	for _, giveUp := range []struct {
		name string
		call func(context.Context, service.Lease) error
	}{{"End", leases.End}, {"Handover", leases.Handover}} {
		id := "ended-" + giveUp.name
		lease, ok, err := leases.Take(ctx, id, "gw-1", time.Minute)
		if err != nil || !ok {
			t.Fatalf("%s: take = %v, %v", giveUp.name, ok, err)
		}
		rec := service.StatusRecord{SessionID: id, Status: service.StatusExpired, Reason: service.ReasonQRExpired, UpdatedAt: time.Now()}
		if err := cache.SetStatus(ctx, rec, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := giveUp.call(ctx, lease); err != nil {
			t.Fatalf("%s: %v", giveUp.name, err)
		}
		// Another client, as another instance reads it: no flush of ours.
		n, err := rdb.Exists(ctx, redis.DefaultPrefix+"status:{"+id+"}").Result()
		if err != nil || n != 1 {
			t.Fatalf("after %s the queued status is not in Redis (exists %d, %v)", giveUp.name, n, err)
		}
	}
}
