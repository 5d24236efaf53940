package redis_test

import (
	"context"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/historytest"
	"wagateway/service/redis"
)

func TestHistoryContract(t *testing.T) {
	historytest.Run(t, func(t *testing.T, clock historytest.Clock, max int, maxAge time.Duration) service.StatusHistory {
		return redis.NewHistory(redistest.Start(t), "", clock, max, maxAge)
	}, func() historytest.Clock { return clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) })
}

// The list is trimmed in Redis and expires, so it never outgrows its caps.
func TestHistoryKeyIsBounded(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	h := redis.NewHistory(rdb, "", nil, 3, time.Hour)
	for range 10 {
		if err := h.Record(ctx, "s1", service.StatusChange{Status: service.StatusActive, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	key := redis.DefaultPrefix + "history:s1"
	if n := rdb.LLen(ctx, key).Val(); n != 3 {
		t.Fatalf("%s holds %d entries, want 3", key, n)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("%s TTL %s, want (0, 1h]", key, ttl)
	}
}
