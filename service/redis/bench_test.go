package redis_test

import (
	"context"
	"fmt"
	"strings"
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

// BenchmarkCacheEventWrites is what a session event writes to the L2
// cache (its QR and its status), each write a round trip of its own or
// queued behind; a full queue (256 writes) is sent by the writer, so the
// pipelines are in the time.
func BenchmarkCacheEventWrites(b *testing.B) {
	for _, behind := range []bool{false, true} {
		b.Run(map[bool]string{false: "each-write", true: "write-behind"}[behind], func(b *testing.B) {
			ctx := context.Background()
			rdb := redistest.Start(b)
			var opts []redis.CacheOption
			if behind {
				w := redis.NewWriteBehind(rdb, redis.DefaultWriteBehind)
				defer w.Close(ctx)
				opts = append(opts, redis.WithWriteBehind(w))
			}
			c := redis.NewCache(rdb, opts...)
			at := time.Now()
			qr := service.QR{SessionID: "user_1", Code: "2@abc", Image: "data:image/png;base64," + strings.Repeat("iVBORw0K", 225), IssuedAt: at, ExpiresAt: at.Add(time.Minute)}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				id := fmt.Sprintf("user_%d", i%1000)
				qr.SessionID = id
				if err := c.SetQR(ctx, qr, time.Minute); err != nil {
					b.Fatal(err)
				}
				st := service.StatusRecord{SessionID: id, Status: service.StatusPending, UpdatedAt: at.Add(time.Duration(i) * time.Millisecond)}
				if err := c.SetStatus(ctx, st, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
