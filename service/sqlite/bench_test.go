package sqlite_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/sqlite"
)

// benchItem is a QR item of real size: a rendered code is a data URL of
// about 1.9 KB of base64.
func benchItem(i int) service.Update {
	return service.Update{Kind: service.KindQR, Lane: service.LaneHigh, SessionID: "user_" + strconv.Itoa(i%1000),
		QR: "data:image/png;base64," + strings.Repeat("iVBORw0KGgo", 173), At: time.Now()}
}

func reportEventsPerSecond(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkOutboxAdd is the event → outbox path as the session manager
// drives it: one event at a time, each Add committed before the next.
func BenchmarkOutboxAdd(b *testing.B) {
	ctx := context.Background()
	ob := newOutbox(b, open(b, "", nil), sqlite.OutboxConfig{})
	i := 0
	for b.Loop() {
		if _, err := ob.Add(ctx, benchItem(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportEventsPerSecond(b)
}

// BenchmarkOutboxAddParallel is many callers at once (HTTP starts and
// stops beside the event loop): group commit shares transactions.
func BenchmarkOutboxAddParallel(b *testing.B) {
	ctx := context.Background()
	ob := newOutbox(b, open(b, "", nil), sqlite.OutboxConfig{})
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := ob.Add(ctx, benchItem(i)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	reportEventsPerSecond(b)
}

// One flush of a full batch: Claim 50 items, then Ack them.
func BenchmarkOutboxClaimAck50(b *testing.B) {
	ctx := context.Background()
	ob := newOutbox(b, open(b, "", nil), sqlite.OutboxConfig{})
	for b.Loop() {
		b.StopTimer()
		for i := range 50 {
			if _, err := ob.Add(ctx, benchItem(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		got, err := ob.Claim(ctx, service.LaneHigh, 50)
		if err != nil || len(got) != 50 {
			b.Fatalf("Claim: %d items, %v", len(got), err)
		}
		ids := make([]string, len(got))
		for i, it := range got {
			ids[i] = it.ID
		}
		if err := ob.Ack(ctx, service.LaneHigh, ids...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventQRToCacheAndOutbox is everything the session manager
// writes to the embedded store for one QR event: the L2 cache entry, then
// the outbox item, one event after the other.
func BenchmarkEventQRToCacheAndOutbox(b *testing.B) {
	ctx := context.Background()
	db := open(b, "", nil)
	ob := newOutbox(b, db, sqlite.OutboxConfig{})
	cache := sqlite.NewCache(db)
	i := 0
	for b.Loop() {
		it := benchItem(i)
		qr := service.QR{SessionID: it.SessionID, Code: "2@code", Image: it.QR, IssuedAt: it.At, ExpiresAt: it.At.Add(time.Minute)}
		if err := cache.SetQR(ctx, qr, 2*time.Minute); err != nil {
			b.Fatal(err)
		}
		if _, err := ob.Add(ctx, it); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportEventsPerSecond(b)
}

// BenchmarkLeasesRenew100 renews 100 held leases in one call, as the
// session manager's renewal loop does in chunks.
func BenchmarkLeasesRenew100(b *testing.B) {
	ctx := context.Background()
	l := sqlite.NewLeases(open(b, "", nil))
	leases := make([]service.Lease, 100)
	for i := range leases {
		ls, ok, err := l.Take(ctx, "user_"+strconv.Itoa(i), "gw", time.Minute)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		leases[i] = ls
	}
	b.ReportAllocs()
	for b.Loop() {
		held, err := l.Renew(ctx, time.Minute, leases...)
		if err != nil || !held[len(held)-1] {
			b.Fatal(held, err)
		}
	}
}

// BenchmarkLeasesTakeEnd is a session's start and close as the session
// manager drives them: Take a lease, then End it, across 10,000 sessions.
func BenchmarkLeasesTakeEnd(b *testing.B) {
	ctx := context.Background()
	l := sqlite.NewLeases(open(b, "", nil))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ls, ok, err := l.Take(ctx, "user_"+strconv.Itoa(i%10_000), "gw", time.Minute)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if err := l.End(ctx, ls); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEventMix10000 is the embedded store's share of a 10,000-session
// storm: per event the L2 cache row and then the outbox item, QR codes and
// statuses in turn, with a flush (Claim 50, Ack) after every 50 events.
func BenchmarkEventMix10000(b *testing.B) {
	ctx := context.Background()
	db := open(b, "", nil)
	ob := newOutbox(b, db, sqlite.OutboxConfig{})
	cache := sqlite.NewCache(db)
	i := 0
	for b.Loop() {
		id := stormID(i)
		now := time.Now()
		var it service.Update
		if i%2 == 0 {
			it = service.Update{Kind: service.KindQR, Lane: service.LaneNormal, SessionID: id, QR: stormImage, At: now}
			if err := cache.SetQR(ctx, stormQR(id, now), 2*time.Minute); err != nil {
				b.Fatal(err)
			}
		} else {
			it = service.Update{Kind: service.KindStatus, Lane: service.LaneHigh, SessionID: id, Status: service.StatusActive, At: now}
			if err := cache.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusActive, UpdatedAt: now}, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := ob.Add(ctx, it); err != nil {
			b.Fatal(err)
		}
		i++
		if i%50 == 0 {
			for _, lane := range []service.Lane{service.LaneHigh, service.LaneNormal} {
				got, err := ob.Claim(ctx, lane, 50)
				if err != nil {
					b.Fatal(err)
				}
				ids := make([]string, len(got))
				for j, g := range got {
					ids[j] = g.ID
				}
				if err := ob.Ack(ctx, lane, ids...); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	reportEventsPerSecond(b)
}

// BenchmarkCacheCommit200 is the write-behind's commit of one second of a
// 10,000-session storm: 200 QR rows of random sessions; per row.
func BenchmarkCacheCommit200(b *testing.B) {
	ctx := context.Background()
	db := open(b, "", nil)
	cache := sqlite.NewCache(db)
	i := 0
	for b.Loop() {
		if err := cache.SetQR(ctx, stormQR(stormID(i), time.Now()), 2*time.Minute); err != nil {
			b.Fatal(err)
		}
		i++
		if i%200 == 0 {
			if err := sqlite.CommitCache(db); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// stormID is the session of event i in a 10,000-session storm: a stride
// prime to 10,000 spreads consecutive events over all of them.
func stormID(i int) string { return "user_" + strconv.Itoa((i*7919)%10000) }

// stormImage is a rendered code's data URL of real size, about 1.9 KB.
var stormImage = "data:image/png;base64," + strings.Repeat("iVBORw0KGgo", 173)

// stormQR is a QR of real size (a ~230-character code, stormImage) for id.
func stormQR(id string, now time.Time) service.QR {
	return service.QR{SessionID: id, Code: strings.Repeat("2@code,", 33), Image: stormImage, IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
}
