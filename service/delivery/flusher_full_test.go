package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/inmem"
	"wagateway/service/mock"
)

// expectBatch makes lv take exactly one batch request of kind with n items.
func expectBatch(lv *mock.Laravel, kind service.Kind, n int) {
	ok := service.BatchResult{Success: true, Updated: n}
	if kind == service.KindQR {
		lv.EXPECT().PostQRBatch(tmock.Anything, tmock.Anything, tmock.MatchedBy(func(q []service.QRUpdate) bool { return len(q) == n })).
			Return(ok, nil).Once()
		return
	}
	lv.EXPECT().PostStatusBatch(tmock.Anything, tmock.Anything, tmock.MatchedBy(func(s []service.StatusUpdate) bool { return len(s) == n })).
		Return(ok, nil).Once()
}

// An early flush (one kind filled a request before the interval) sends full
// requests only: the other kind's few items and the filling kind's
// remainder wait for the interval instead of each costing a request. Under
// a storm that is the difference between 1.26× the fewest requests and ~1×.
func TestEarlyFlushSendsOnlyFullRequests(t *testing.T) {
	d := config.Default()
	// Each phase expects exactly its requests: one more, or one of another
	// size, is a call the mock does not expect and fails the test.
	lv := mock.NewLaravel(t)
	expectBatch(lv, service.KindQR, 3)
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
	lv.AssertExpectations(t) // the early flush sent one full QR request
	if st, _ := ob.Stats(ctx); st.Depth[service.LaneHigh] != 2 {
		t.Fatalf("after the early flush %d items wait, want the QR remainder and the status (2)", st.Depth[service.LaneHigh])
	}

	expectBatch(lv, service.KindQR, 1)
	expectBatch(lv, service.KindStatus, 1)
	if err := f.flushLane(ctx, lane, flushDue); err != nil {
		t.Fatal(err)
	}
	lv.AssertExpectations(t) // the interval's flush sent the rest: qr:1 and status:1
	if st, _ := ob.Stats(ctx); st.Depth[service.LaneHigh] != 0 {
		t.Fatalf("%d items left after the interval's flush", st.Depth[service.LaneHigh])
	}
}

// Run makes a wake an early flush (full requests only), not an interval's:
// the QR code left over and the lone status wait for the next tick.
func TestRunFlushesFullRequestsOnAWake(t *testing.T) {
	d := config.Default()
	lv := mock.NewLaravel(t) // any request but the one full QR batch fails the test
	sent := make(chan struct{})
	lv.EXPECT().PostQRBatch(tmock.Anything, tmock.Anything, tmock.MatchedBy(func(q []service.QRUpdate) bool { return len(q) == 3 })).
		RunAndReturn(func(context.Context, string, []service.QRUpdate) (service.BatchResult, error) {
			close(sent)
			return service.BatchResult{Success: true, Updated: 3}, nil
		}).Once()
	ob := inmem.NewOutbox(nil)
	// Intervals of an hour: no tick comes during the test, only the wake.
	f, err := New(Config{Mode: service.DeliveryModeBatch, BatchSize: 3, BatchInterval: time.Hour, PriorityInterval: time.Hour,
		BackoffBase: d.BackoffBase, BackoffMax: d.BackoffMax}, ob, lv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	if err := f.Publish(ctx, service.Update{Kind: service.KindStatus, SessionID: "s0", Status: service.StatusActive, At: at}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := f.Publish(ctx, service.Update{Kind: service.KindQR, SessionID: fmt.Sprintf("q%d", i), QR: "data:image/png;base64,AA==", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-sent:
	case <-ctx.Done():
		t.Fatal("3 QR codes of a batch size of 3 were not sent early")
	}
	for {
		st, _ := ob.Stats(ctx)
		if st.Depth[service.LaneHigh] == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d items wait after the early flush, want the QR remainder and the status (2)", st.Depth[service.LaneHigh])
		case <-time.After(5 * time.Millisecond):
		}
	}
	// An interval's flush would send qr:1 and status:1 at once now: give it
	// a moment to show (never a failure on a slow machine, only a miss).
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
}
