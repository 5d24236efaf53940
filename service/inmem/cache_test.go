package inmem_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/cachetest"
	"wagateway/service/inmem"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCacheSetGetAndTTL(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := inmem.NewCache(clock)
	qr := service.QR{SessionID: "s1", Code: "2@abc", Image: "data:image/png;base64,xx", IssuedAt: t0, ExpiresAt: t0.Add(20 * time.Second)}
	st := service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0}
	if err := c.SetQR(ctx, qr, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.SetStatus(ctx, st, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := c.GetQR(ctx, "s1"); err != nil || !ok || got != qr {
		t.Fatalf("GetQR = %+v, %v, %v", got, ok, err)
	}
	clock.Advance(10 * time.Second)
	if _, ok, _ := c.GetQR(ctx, "s1"); ok {
		t.Fatal("QR outlived its TTL")
	}
	if got, ok, _ := c.GetStatus(ctx, "s1"); !ok || got != st {
		t.Fatalf("status gone before its TTL: %+v %v", got, ok)
	}
	clock.Advance(20 * time.Second)
	if _, ok, _ := c.GetStatus(ctx, "s1"); ok {
		t.Fatal("status outlived its TTL")
	}
	m := c.Metrics()
	if m.Hits != 2 || m.Misses != 2 || m.Sets != 2 || m.HitRate != 0.5 {
		t.Fatalf("metrics: %+v", m)
	}
}

func TestCacheInvalidate(t *testing.T) {
	ctx := context.Background()
	c := inmem.NewCache(nil)
	for _, id := range []string{"a", "b"} {
		_ = c.SetQR(ctx, service.QR{SessionID: id, Image: "x"}, time.Minute)
		_ = c.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusPending}, time.Minute)
	}
	if err := c.Invalidate(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.GetQR(ctx, "a"); ok {
		t.Fatal("QR of a survived Invalidate")
	}
	if _, ok, _ := c.GetStatus(ctx, "a"); ok {
		t.Fatal("status of a survived Invalidate")
	}
	if _, ok, _ := c.GetStatus(ctx, "b"); !ok {
		t.Fatal("Invalidate(a) dropped b")
	}
	if err := c.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 0 {
		t.Fatalf("%d entries after InvalidateAll", c.Len())
	}
	if m := c.Metrics(); m.Invalidations != 2 {
		t.Fatalf("invalidations: %d", m.Invalidations)
	}
}

func TestCacheRejectsBadSessionIDs(t *testing.T) {
	ctx := context.Background()
	c := inmem.NewCache(nil)
	if err := c.SetQR(ctx, service.QR{SessionID: "a b"}, time.Minute); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("SetQR: %v", err)
	}
	if _, _, err := c.GetStatus(ctx, ""); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("GetStatus: %v", err)
	}
	if m := c.Metrics(); m.Errors != 2 {
		t.Fatalf("errors: %d", m.Errors)
	}
}

func TestCacheIsBounded(t *testing.T) {
	tests := []struct {
		name    string
		expire  bool   // let the first entries expire before the cache fills
		evicted string // the entry that had to go
		kept    string
	}{
		{"oldest goes when all are live", false, "s0", "s3"},
		{"expired go before live ones", true, "s0", "s1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			c := inmem.NewCache(clock, inmem.WithMaxEntries(3))
			set := func(id string, ttl time.Duration) {
				if err := c.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusActive}, ttl); err != nil {
					t.Fatal(err)
				}
			}
			ttl := time.Hour
			if tt.expire {
				set("s0", time.Second) // expires first; s1, s2 live
				set("s1", ttl)
				set("s2", ttl)
				clock.Advance(2 * time.Second)
			} else {
				set("s0", ttl)
				set("s1", ttl)
				set("s2", ttl)
			}
			set("s3", ttl)
			if c.Len() != 3 {
				t.Fatalf("%d entries, max 3", c.Len())
			}
			if _, ok, _ := c.GetStatus(ctx, tt.evicted); ok {
				t.Fatalf("%s was not evicted", tt.evicted)
			}
			if _, ok, _ := c.GetStatus(ctx, tt.kept); !ok {
				t.Fatalf("%s was evicted", tt.kept)
			}
		})
	}
}

func TestCacheConcurrentUse(t *testing.T) {
	ctx := context.Background()
	c := inmem.NewCache(nil, inmem.WithMaxEntries(50))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprintf("s%d", (g*31+i)%80)
				_ = c.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusPending}, time.Minute)
				_, _, _ = c.GetStatus(ctx, id)
				if i%97 == 0 {
					_ = c.Invalidate(ctx, id)
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Fatalf("%d entries, max 50", c.Len())
	}
}

func TestCacheContract(t *testing.T) {
	cachetest.Run(t, func(*testing.T) service.Cache { return inmem.NewCache(newFakeClock()) })
}

// A TTL of 0 means no expiry; WithMaxEntries(0) keeps the default bound.
func TestCacheZeroTTLAndZeroMax(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := inmem.NewCache(clock, inmem.WithMaxEntries(0))
	st := service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0}
	if err := c.SetStatus(ctx, st, 0); err != nil {
		t.Fatal(err)
	}
	clock.Advance(1000 * time.Hour)
	if got, ok, err := c.GetStatus(ctx, "s1"); err != nil || !ok || got != st {
		t.Fatalf("GetStatus after a TTL of 0 = %+v, %v, %v; want it kept", got, ok, err)
	}
}

// When full, the once-a-second sweep of expired entries runs again exactly
// a second after the last one, and frees the slot a live entry would
// otherwise lose.
func TestCacheSweepsExpiredBeforeEvicting(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := inmem.NewCache(clock, inmem.WithMaxEntries(2))
	set := func(id string, ttl time.Duration) {
		t.Helper()
		if err := c.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusActive, UpdatedAt: clock.Now()}, ttl); err != nil {
			t.Fatal(err)
		}
	}
	set("a", time.Hour)
	set("b", 0)
	set("c", 500*time.Millisecond) // full: the first sweep finds nothing expired, a (oldest) goes
	clock.Advance(time.Second)     // c expired, a second since that sweep
	set("d", 0)                    // full: the sweep takes c, b stays
	for id, want := range map[string]bool{"a": false, "b": true, "c": false, "d": true} {
		if _, ok, _ := c.GetStatus(ctx, id); ok != want {
			t.Errorf("%s present %v, want %v", id, ok, want)
		}
	}
}
