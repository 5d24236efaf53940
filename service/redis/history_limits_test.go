package redis_test

import (
	"context"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/redis"
)

// History hands out at most limit changes, newest first, and none for a
// limit of 0 (LRANGE 0 -1 would be the whole list).
func TestHistoryLimits(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0)
	h := redis.NewHistory(redistest.Start(t), "", clock, 5, time.Hour)
	for _, st := range []service.Status{service.StatusPending, service.StatusActive, service.StatusInactive} {
		if err := h.Record(ctx, "s1", service.StatusChange{Status: st, At: clock.Now()}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	for limit, want := range map[int][]service.Status{
		-1: {},
		0:  {},
		1:  {service.StatusInactive},
		2:  {service.StatusInactive, service.StatusActive},
		10: {service.StatusInactive, service.StatusActive, service.StatusPending},
	} {
		got, err := h.History(ctx, "s1", limit)
		if err != nil || len(got) != len(want) {
			t.Fatalf("History(limit %d) = %+v, %v; want %v", limit, got, err, want)
		}
		for i := range want {
			if got[i].Status != want[i] {
				t.Fatalf("History(limit %d) = %+v; want %v", limit, got, want)
			}
		}
	}
}
