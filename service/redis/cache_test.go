package redis_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/cachetest"
	"wagateway/service/redis"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCacheSetGet(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	c := redis.NewCache(rdb)
	qr := service.QR{SessionID: "s1", Code: "2@abc", Image: "data:image/png;base64,xx", IssuedAt: t0, ExpiresAt: t0.Add(20 * time.Second)}
	st := service.StatusRecord{SessionID: "s1", Status: service.StatusActive, Reason: "paired", UpdatedAt: t0}
	if err := c.SetQR(ctx, qr, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.SetStatus(ctx, st, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.GetQR(ctx, "s1")
	if err != nil || !ok || got.Code != qr.Code || got.Image != qr.Image || !got.IssuedAt.Equal(qr.IssuedAt) || !got.ExpiresAt.Equal(qr.ExpiresAt) {
		t.Fatalf("GetQR = %+v, %v, %v", got, ok, err)
	}
	gotSt, ok, err := c.GetStatus(ctx, "s1")
	if err != nil || !ok || gotSt.Status != st.Status || gotSt.Reason != st.Reason || !gotSt.UpdatedAt.Equal(st.UpdatedAt) {
		t.Fatalf("GetStatus = %+v, %v, %v", gotSt, ok, err)
	}
	if _, ok, err := c.GetStatus(ctx, "s2"); ok || err != nil {
		t.Fatalf("GetStatus of an unknown session: %v, %v", ok, err)
	}
	// Redis owns expiry: check the TTLs it holds rather than wait them out.
	for key, want := range map[string]time.Duration{"wagateway:qr:{s1}": 2 * time.Minute, "wagateway:status:{s1}": 5 * time.Minute} {
		ttl := rdb.TTL(ctx, key).Val()
		if ttl <= want-5*time.Second || ttl > want {
			t.Errorf("TTL of %s = %v, want about %v", key, ttl, want)
		}
	}
	m := c.Metrics()
	if m.Hits != 2 || m.Misses != 1 || m.Sets != 2 || m.Errors != 0 || m.HitRate != 2.0/3 {
		t.Fatalf("metrics: %+v", m)
	}
}

func TestCacheExpires(t *testing.T) {
	ctx := context.Background()
	c := redis.NewCache(redistest.Start(t))
	if err := c.SetStatus(ctx, service.StatusRecord{SessionID: "s1", Status: service.StatusPending}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond) // Redis owns this clock
	if _, ok, err := c.GetStatus(ctx, "s1"); ok || err != nil {
		t.Fatalf("status outlived its TTL: %v, %v", ok, err)
	}
}

func TestCacheInvalidateSparesOutboxAndLeases(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	c := redis.NewCache(rdb)
	ob, err := redis.NewOutbox(rdb, redis.OutboxConfig{Consumer: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Add(ctx, service.Update{Kind: service.KindStatus, Lane: service.LaneHigh, SessionID: "a",
		Status: service.StatusActive, At: t0}); err != nil {
		t.Fatal(err)
	}
	leases := redis.NewLeases(rdb, "")
	if _, ok, err := leases.Take(ctx, "a", "gw1", time.Minute); !ok || err != nil {
		t.Fatalf("Take: %v %v", ok, err)
	}
	_ = leases.Register(ctx, "a")
	other := redis.NewCache(rdb, redis.WithPrefix("other:"))
	_ = other.SetStatus(ctx, service.StatusRecord{SessionID: "a", Status: service.StatusActive}, time.Minute)
	for _, id := range []string{"a", "b", "c"} {
		_ = c.SetQR(ctx, service.QR{SessionID: id, Image: "x"}, time.Minute)
		_ = c.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusPending}, time.Minute)
	}

	if err := c.Invalidate(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, rdb, "wagateway:qr:*"); !slices.Equal(got, []string{"wagateway:qr:{b}", "wagateway:qr:{c}"}) {
		t.Fatalf("QR keys after Invalidate(a): %v", got)
	}
	if err := c.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"other:status:{a}", "wagateway:{core}:expiry", "wagateway:{core}:fence:a", "wagateway:{core}:lease:a",
		"wagateway:{core}:outbox:high", "wagateway:{core}:outbox:newest", "wagateway:{core}:outbox:normal",
		"wagateway:{core}:running", "wagateway:{core}:sessions"}
	if got := keys(t, rdb, "*"); !slices.Equal(got, want) {
		t.Fatalf("keys after InvalidateAll: %v, want %v", got, want)
	}
	if m := c.Metrics(); m.Invalidations != 2 {
		t.Fatalf("invalidations: %d", m.Invalidations)
	}
}

func TestCacheRejectsBadSessionIDs(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	c := redis.NewCache(rdb)
	for _, id := range []string{"", "a b", "x:*", "../etc"} {
		if err := c.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusActive}, time.Minute); service.ErrorCode(err) != service.EINVALID {
			t.Errorf("SetStatus(%q): %v", id, err)
		}
		if err := c.Invalidate(ctx, id); service.ErrorCode(err) != service.EINVALID {
			t.Errorf("Invalidate(%q): %v", id, err)
		}
	}
	if got := keys(t, rdb, "*"); len(got) != 0 {
		t.Fatalf("keys written: %v", got)
	}
	if m := c.Metrics(); m.Errors != 8 {
		t.Fatalf("errors: %d", m.Errors)
	}
}

// keys lists the keys matching pattern, sorted (KEYS is fine on a test database).
func keys(t *testing.T, rdb *goredis.Client, pattern string) []string {
	t.Helper()
	ks, err := rdb.Keys(context.Background(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ks)
	return ks
}

func TestCacheContract(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) service.Cache { return redis.NewCache(redistest.Start(t)) })
}

// GetStatuses answers many sessions in pipelines of statusBatch and holds
// the hits only.
func TestCacheGetStatusesReadsInBatches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redistest.Start(t)
	c := redis.NewCache(rdb)
	var ids []string
	for i := range 2500 {
		id := fmt.Sprintf("s%04d", i)
		ids = append(ids, id)
		if i%3 == 0 {
			if err := c.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusActive}, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}
	rdb.Set(ctx, "wagateway:status:{s0003}", "not json", time.Minute)
	hook := &countingHook{}
	rdb.AddHook(hook)
	got, err := c.GetStatuses(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 833 || got["s0000"].Status != service.StatusActive || got["s2499"].Status != service.StatusActive {
		t.Fatalf("GetStatuses: %d hits (want 833, s0003 unreadable), s0000 %+v", len(got), got["s0000"])
	}
	if _, ok := got["s0001"]; ok {
		t.Fatal("GetStatuses holds a miss")
	}
	if hook.pipelines != 3 || hook.single != 0 {
		t.Fatalf("GetStatuses sent %d pipelines and %d single commands; want 3 pipelines of at most 1000", hook.pipelines, hook.single)
	}
}

// countingHook counts the GETs a client sends: alone, or in pipelines
// (a new connection's own handshake is not counted).
type countingHook struct{ single, pipelines int }

func (h *countingHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *countingHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if cmd.Name() == "get" {
			h.single++
		}
		return next(ctx, cmd)
	}
}
func (h *countingHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "get" {
			h.pipelines++
		}
		return next(ctx, cmds)
	}
}
