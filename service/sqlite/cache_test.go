package sqlite_test

import (
	"context"
	"fmt"
	"runtime/metrics"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/cachetest"
	"wagateway/service/outboxtest"
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

func cacheRows(t *testing.T, db *sqlite.DB) int {
	t.Helper()
	var n int
	if err := rawQuery(t, db, "SELECT count(*) FROM cache", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An event's cache row is in the outbox log before its item: a crash
// right after the Add (the row not yet in the table) loses neither, and
// the reopen commits the row.
func TestCacheRowSurvivesACrashAfterTheAdd(t *testing.T) {
	ctx := context.Background()
	db := open(t, "", newClock())
	c, ob := sqlite.NewCache(db), newOutbox(t, db, sqlite.OutboxConfig{})
	if err := c.SetStatus(ctx, service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := c.GetStatus(ctx, "s1"); !ok || got.Status != service.StatusActive {
		t.Fatalf("a queued write is not read back: %+v, %v", got, ok)
	}
	if _, err := ob.Add(ctx, outboxtest.Status("s1", service.LaneHigh, t0)); err != nil {
		t.Fatal(err)
	}
	if n := cacheRows(t, db); n != 0 {
		t.Fatalf("cache rows in the table before the crash: %d; the test needs them queued", n)
	}
	if err := sqlite.Crash(db); err != nil {
		t.Fatal(err)
	}

	again := open(t, db.Dir(), newClock())
	if n := cacheRows(t, again); n != 1 {
		t.Fatalf("cache rows in the table after the reopen: %d, want 1", n)
	}
	if got, ok, err := sqlite.NewCache(again).GetStatus(ctx, "s1"); err != nil || !ok || got.Status != service.StatusActive {
		t.Fatalf("GetStatus after the crash = %+v, %v, %v", got, ok, err)
	}
}

// An event's cache row rides in its outbox item's write: one write system
// call per event, not two.
func TestCacheRowAndItemShareOneWrite(t *testing.T) {
	ctx := context.Background()
	db := open(t, "", newClock())
	c, ob := sqlite.NewCache(db), newOutbox(t, db, sqlite.OutboxConfig{})
	before := sqlite.LogWrites(db)
	if err := c.SetStatus(ctx, service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Add(ctx, outboxtest.Status("s1", service.LaneHigh, t0)); err != nil {
		t.Fatal(err)
	}
	// Past the lone write's delay: nothing was left for it.
	time.Sleep(sqlite.LoneCacheDelay * 3 / 2)
	if n := sqlite.LogWrites(db) - before; n != 1 {
		t.Fatalf("writes for a cache row and its item: %d, want 1", n)
	}
}

// A cache write no outbox record follows is written alone, soon: it too
// survives a crash.
func TestLoneCacheRowSurvivesACrash(t *testing.T) { loneCacheRowSurvivesACrash(t, false) }

// A lone cache write on a log whose last write could not be undone
// compacts it first, as every write does, and so still gets written.
func TestLoneCacheRowRepairsABrokenLog(t *testing.T) { loneCacheRowSurvivesACrash(t, true) }

func loneCacheRowSurvivesACrash(t *testing.T, brokenLog bool) {
	ctx := context.Background()
	db := open(t, "", newClock())
	if brokenLog {
		sqlite.BreakLog(db)
	}
	before := sqlite.LogWrites(db)
	if err := sqlite.NewCache(db).SetStatus(ctx, service.StatusRecord{SessionID: "s1", Status: service.StatusActive, UpdatedAt: t0}, time.Minute); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); sqlite.LogWrites(db) == before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a lone cache row (broken log: %v) was not written to the log within 5 s", brokenLog)
		}
	}
	if err := sqlite.Crash(db); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := sqlite.NewCache(open(t, db.Dir(), newClock())).GetStatus(ctx, "s1"); err != nil || !ok || got.Status != service.StatusActive {
		t.Fatalf("GetStatus after the crash = %+v, %v, %v", got, ok, err)
	}
}

// An invalidation is logged too: the row's older record does not bring it
// back after a crash.
func TestCacheInvalidationSurvivesACrash(t *testing.T) {
	ctx := context.Background()
	db := open(t, "", newClock())
	c := sqlite.NewCache(db)
	for _, id := range []string{"s1", "s2"} {
		if err := c.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusActive, UpdatedAt: t0}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Invalidate(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.Crash(db); err != nil {
		t.Fatal(err)
	}
	again := sqlite.NewCache(open(t, db.Dir(), newClock()))
	if _, ok, _ := again.GetStatus(ctx, "s1"); ok {
		t.Fatal("an invalidated row came back after a crash")
	}
	if _, ok, _ := again.GetStatus(ctx, "s2"); !ok {
		t.Fatal("the row beside it was lost")
	}
}

// A cache write no Add follows still reaches the file, by itself.
func TestCacheRowCommittedWithoutAnAdd(t *testing.T) {
	ctx := context.Background()
	db := open(t, "", newClock())
	c := sqlite.NewCache(db)
	if err := c.SetQR(ctx, service.QR{SessionID: "s1", Image: "data:image/png;base64,x"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second) // a hang guard: the flush comes after 1 s
	for cacheRows(t, db) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("a lone cache write never reached the file")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Newest wins between a stored row and a queued older write too, and
// when a reopen commits the older write from the log.
func TestCacheStoredNewerStatusBeatsAQueuedOlderOne(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	set := func(c *sqlite.Cache, st service.Status, at time.Time) {
		t.Helper()
		if err := c.SetStatus(ctx, service.StatusRecord{SessionID: "s1", Status: st, UpdatedAt: at}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	db := open(t, dir, newClock())
	set(sqlite.NewCache(db), service.StatusInactive, t0.Add(time.Second))
	if err := db.Close(); err != nil { // commits the row
		t.Fatal(err)
	}
	db = open(t, dir, newClock())
	c := sqlite.NewCache(db)
	set(c, service.StatusPending, t0) // older, queued
	if got, ok, _ := c.GetStatus(ctx, "s1"); !ok || got.Status != service.StatusInactive {
		t.Fatalf("GetStatus = %+v, %v; want the stored newer inactive", got, ok)
	}
	if err := sqlite.Crash(db); err != nil { // the reopen commits the queued one: the statement drops it
		t.Fatal(err)
	}
	db = open(t, dir, newClock())
	if got, ok, _ := sqlite.NewCache(db).GetStatus(ctx, "s1"); !ok || got.Status != service.StatusInactive {
		t.Fatalf("after reopen GetStatus = %+v, %v; want inactive", got, ok)
	}
}

// A commit of many cache rows starts no goroutine per row: the driver
// starts one for each statement whose context can end, which made the
// once-a-second commit of a storm's rows hundreds of goroutines.
func TestCacheCommitStartsNoGoroutinePerRow(t *testing.T) {
	ctx := context.Background()
	db := open(t, "", newClock())
	c := sqlite.NewCache(db)
	const rows = 200
	for i := range rows {
		rec := service.StatusRecord{SessionID: fmt.Sprintf("s%d", i), Status: service.StatusActive, UpdatedAt: t0}
		if err := c.SetStatus(ctx, rec, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	created := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(created)
	before := created[0].Value.Uint64()
	if err := sqlite.CommitCache(db); err != nil {
		t.Fatal(err)
	}
	metrics.Read(created)
	// A few for the transaction itself, and whatever else the test
	// process started meanwhile; one per row would be 200.
	if n := created[0].Value.Uint64() - before; n >= rows/4 {
		t.Fatalf("goroutines started by a commit of %d cache rows: %d", rows, n)
	}
	var n int
	if err := sqlite.RawQuery(ctx, db, `SELECT count(*) FROM cache`, &n); err != nil || n != rows {
		t.Fatalf("rows committed: %d (%v), want %d", n, err, rows)
	}
}
