package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/redis"
)

func BenchmarkOutboxAdd(b *testing.B) {
	ctx := context.Background()
	ob := newOutbox(b, redistest.Start(b), redis.OutboxConfig{})
	it := service.Update{Kind: service.KindQR, Lane: service.LaneHigh, SessionID: "user_1",
		QR: "data:image/png;base64," + string(make([]byte, 1800)), At: time.Now()}
	for b.Loop() {
		if _, err := ob.Add(ctx, it); err != nil {
			b.Fatal(err)
		}
	}
}

// One flush of a full batch: Claim 50 items, then Ack them.
func BenchmarkOutboxClaimAck50(b *testing.B) {
	ctx := context.Background()
	ob := newOutbox(b, redistest.Start(b), redis.OutboxConfig{})
	fill := func() {
		for i := range 50 {
			it := service.Update{Kind: service.KindStatus, Lane: service.LaneNormal, SessionID: fmt.Sprintf("s%d", i),
				Status: service.StatusActive, At: time.Now()}
			if _, err := ob.Add(ctx, it); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		b.StopTimer()
		fill()
		b.StartTimer()
		got, err := ob.Claim(ctx, service.LaneNormal, 50)
		if err != nil || len(got) != 50 {
			b.Fatalf("Claim: %d items, %v", len(got), err)
		}
		ids := make([]string, len(got))
		for i, it := range got {
			ids[i] = it.ID
		}
		if err := ob.Ack(ctx, service.LaneNormal, ids...); err != nil {
			b.Fatal(err)
		}
	}
}
