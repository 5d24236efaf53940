package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/redis"
)

// pipelineCounter is a go-redis hook counting the pipelines a client sends.
type pipelineCounter struct{ n atomic.Int64 }

func (p *pipelineCounter) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (p *pipelineCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return next
}
func (p *pipelineCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		p.n.Add(1)
		return next(ctx, cmds)
	}
}

// InvalidateAll unlinks the keys it scans in pipelines of 500, so a large
// cache costs a few round trips, and none is left behind.
func TestCacheInvalidateAllUnlinksInBatches(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	c := redis.NewCache(rdb)
	const n = 501
	_, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range n {
			p.Set(ctx, fmt.Sprintf("wagateway:qr:{s%d}", i), "{}", 0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	counter := &pipelineCounter{}
	rdb.AddHook(counter)
	if err := c.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	if left := rdb.DBSize(ctx).Val(); left != 0 {
		t.Fatalf("%d keys left after InvalidateAll", left)
	}
	// 500 + 1 QR keys, no status key: two pipelines.
	if got := counter.n.Load(); got != 2 {
		t.Fatalf("InvalidateAll of %d keys sent %d pipelines, want 2 (batches of 500)", n, got)
	}
}

// A value the cache cannot read is a miss (and an error in the metrics):
// the caller refills it rather than failing.
func TestCacheUnreadableValueIsAMiss(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	c := redis.NewCache(rdb)
	for _, k := range []string{"wagateway:qr:{s1}", "wagateway:status:{s1}"} {
		if err := rdb.Set(ctx, k, "not json", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if qr, ok, err := c.GetQR(ctx, "s1"); ok || err != nil || qr.SessionID != "" {
		t.Fatalf("GetQR of an unreadable value = %+v, %v, %v; want a miss", qr, ok, err)
	}
	if st, ok, err := c.GetStatus(ctx, "s1"); ok || err != nil || st.SessionID != "" {
		t.Fatalf("GetStatus of an unreadable value = %+v, %v, %v; want a miss", st, ok, err)
	}
	if m := c.Metrics(); m.Misses != 2 || m.Errors != 2 || m.Hits != 0 {
		t.Fatalf("metrics after two unreadable values: %+v, want 2 misses and 2 errors", m)
	}
	// A newer status replaces the unreadable one.
	rec := service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0}
	if err := c.SetStatus(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}
	if st, ok, err := c.GetStatus(ctx, "s1"); !ok || err != nil || st.Status != service.StatusActive {
		t.Fatalf("GetStatus after SetStatus = %+v, %v, %v", st, ok, err)
	}
	if ttl := rdb.PTTL(ctx, "wagateway:status:{s1}").Val(); ttl != -1 {
		t.Fatalf("TTL of a status set with ttl 0: %v, want none", ttl)
	}
}
