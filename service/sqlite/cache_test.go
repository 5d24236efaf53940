package sqlite_test

import (
	"context"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/cachetest"
	"wagateway/service/sqlite"
)

func TestCacheContract(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) service.Cache { return sqlite.NewCache(open(t, "", newClock())) })
}

func TestCacheTTLAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	db := open(t, dir, clock)
	c := sqlite.NewCache(db)
	qr := service.QR{SessionID: "s1", Code: "2@abc", Image: "data:image/png;base64,xx", IssuedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := c.SetQR(ctx, qr, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.SetStatus(ctx, service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0}, 0); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := c.GetQR(ctx, "s1"); err != nil || !ok || got.Code != qr.Code || !got.IssuedAt.Equal(t0) {
		t.Fatalf("GetQR = %+v, %v, %v", got, ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	c = sqlite.NewCache(open(t, dir, clock))
	if _, ok, _ := c.GetQR(ctx, "s1"); !ok {
		t.Fatal("QR lost by the reopen")
	}
	clock.Advance(20 * time.Second)
	if _, ok, err := c.GetQR(ctx, "s1"); ok || err != nil {
		t.Fatalf("QR after its TTL: %v, %v", ok, err)
	}
	if got, ok, _ := c.GetStatus(ctx, "s1"); !ok || got.Status != service.StatusActive {
		t.Fatalf("status without TTL: %+v, %v", got, ok)
	}
	// An expired newer status does not block an older one.
	if err := c.SetStatus(ctx, service.StatusRecord{SessionID: "s2", Status: service.StatusActive, UpdatedAt: t0.Add(time.Hour)}, time.Second); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	if err := c.SetStatus(ctx, service.StatusRecord{SessionID: "s2", Status: service.StatusPending, UpdatedAt: t0}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := c.GetStatus(ctx, "s2"); !ok || got.Status != service.StatusPending {
		t.Fatalf("status over an expired one: %+v, %v", got, ok)
	}
	if err := c.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.GetStatus(ctx, "s1"); ok {
		t.Fatal("status after InvalidateAll")
	}
	m := c.Metrics()
	if m.Hits != 3 || m.Misses != 2 || m.Sets != 2 || m.Invalidations != 1 || m.Errors != 0 {
		t.Fatalf("metrics: %+v", m)
	}
}
