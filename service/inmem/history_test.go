package inmem_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/historytest"
	"wagateway/service/inmem"
)

func TestHistoryContract(t *testing.T) {
	historytest.Run(t, func(t *testing.T, clock historytest.Clock, max int, maxAge time.Duration) service.StatusHistory {
		return inmem.NewHistory(clock, max, maxAge)
	}, func() historytest.Clock { return newFakeClock() })
}

// A Record does not walk every session: at 10,000 sessions that walk per
// status change was a third of the gateway's CPU. Sessions past maxAge are
// still forgotten, one sweep interval late at most.
func TestHistoryRecordDoesNotWalkEverySession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := newFakeClock()
	h := inmem.NewHistory(clock, 10, time.Hour)
	for i := range 1000 {
		id := fmt.Sprintf("s-%d", i)
		if err := h.Record(ctx, id, service.StatusChange{Status: service.StatusPending, At: clock.Now()}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	if n := inmem.HistorySweeps(h); n != 1 {
		t.Fatalf("1,000 records in one second walked the sessions %d times, want 1", n)
	}
	clock.Advance(time.Hour + time.Minute)
	if err := h.Record(ctx, "new", service.StatusChange{Status: service.StatusPending, At: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if n := inmem.HistorySessions(h); n != 1 {
		t.Fatalf("%d sessions held after maxAge and a sweep interval, want 1 (the new one)", n)
	}
}

// BenchmarkHistoryRecord10000 records status changes across 10,000
// sessions, as the gateway does at that size on the embedded store.
func BenchmarkHistoryRecord10000(b *testing.B) {
	ctx := context.Background()
	clock := newFakeClock()
	h := inmem.NewHistory(clock, 50, 24*time.Hour)
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = fmt.Sprintf("s-%d", i)
		_ = h.Record(ctx, ids[i], service.StatusChange{Status: service.StatusPending, At: clock.Now()})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		clock.Advance(time.Millisecond)
		_ = h.Record(ctx, ids[i%len(ids)], service.StatusChange{Status: service.StatusActive, At: clock.Now()})
	}
}
