package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/inmem"
)

// countingLaravel accepts everything and notes each request's kind and size.
type countingLaravel struct {
	mu       sync.Mutex
	requests []string // "qr:3", "status:1"
}

func (l *countingLaravel) note(kind string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, fmt.Sprintf("%s:%d", kind, n))
}

func (l *countingLaravel) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.requests
	l.requests = nil
	return out
}

func (l *countingLaravel) PostQRBatch(_ context.Context, _ string, qrs []service.QRUpdate) (service.BatchResult, error) {
	l.note("qr", len(qrs))
	return service.BatchResult{Success: true, Updated: len(qrs)}, nil
}

func (l *countingLaravel) PostStatusBatch(_ context.Context, _ string, st []service.StatusUpdate) (service.BatchResult, error) {
	l.note("status", len(st))
	return service.BatchResult{Success: true, Updated: len(st)}, nil
}

func (l *countingLaravel) PostQR(context.Context, string, service.QRUpdate) error {
	l.note("qr", 1)
	return nil
}

func (l *countingLaravel) PostStatus(context.Context, string, service.StatusUpdate) error {
	l.note("status", 1)
	return nil
}

func (l *countingLaravel) SessionStatus(context.Context, string) (service.StatusRecord, error) {
	return service.StatusRecord{}, service.Errorf(service.ENOTFOUND, "no status")
}

// An early flush (one kind filled a request before the interval) sends full
// requests only: the other kind's few items and the filling kind's
// remainder wait for the interval instead of each costing a request. Under
// a storm that is the difference between 1.26× the fewest requests and ~1×.
func TestEarlyFlushSendsOnlyFullRequests(t *testing.T) {
	d := config.Default()
	lv := &countingLaravel{}
	ob := inmem.NewOutbox(nil)
	f, err := New(Config{Mode: service.DeliveryModeBatch, BatchSize: 3, BatchInterval: d.BatchInterval, PriorityInterval: d.PriorityInterval,
		BackoffBase: d.BackoffBase, BackoffMax: d.BackoffMax}, ob, lv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		if err := f.Publish(ctx, service.Update{Kind: service.KindQR, SessionID: fmt.Sprintf("q%d", i), QR: "data:image/png;base64,AA==", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Publish(ctx, service.Update{Kind: service.KindStatus, SessionID: "s0", Status: service.StatusActive, At: at}); err != nil {
		t.Fatal(err)
	}
	lane := f.lanes[service.LaneHigh]
	select {
	case <-lane.wake:
	default:
		t.Fatal("3 QR codes of a batch size of 3 did not wake the lane")
	}

	if err := f.flushLane(ctx, lane, flushFull); err != nil {
		t.Fatal(err)
	}
	if got := lv.take(); fmt.Sprint(got) != "[qr:3]" {
		t.Fatalf("early flush sent %v, want one full QR request [qr:3]", got)
	}
	if st, _ := ob.Stats(ctx); st.Depth[service.LaneHigh] != 2 {
		t.Fatalf("after the early flush %d items wait, want the QR remainder and the status (2)", st.Depth[service.LaneHigh])
	}

	if err := f.flushLane(ctx, lane, flushDue); err != nil {
		t.Fatal(err)
	}
	if got := lv.take(); fmt.Sprint(got) != "[qr:1 status:1]" {
		t.Fatalf("the interval's flush sent %v, want the rest [qr:1 status:1]", got)
	}
	if st, _ := ob.Stats(ctx); st.Depth[service.LaneHigh] != 0 {
		t.Fatalf("%d items left after the interval's flush", st.Depth[service.LaneHigh])
	}
}
