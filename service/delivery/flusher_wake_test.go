package delivery

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/inmem"
	"wagateway/service/mock"
)

// A lane wakes early only when one kind has a full request's worth: a request
// carries one kind, so BatchSize items split between QR codes and statuses
// would only make part-filled requests of both.
func TestFlusherWakesWhenOneKindFillsARequest(t *testing.T) {
	d := config.Default()
	f, err := New(Config{Mode: d.DeliveryMode, BatchSize: 3, BatchInterval: d.BatchInterval, PriorityInterval: d.PriorityInterval,
		BackoffBase: d.BackoffBase, BackoffMax: d.BackoffMax}, inmem.NewOutbox(nil), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	publish := func(it service.Update) {
		t.Helper()
		if err := f.Publish(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	woken := func() bool {
		select {
		case <-f.lanes[service.LaneHigh].wake:
			return true
		default:
			return false
		}
	}
	publish(service.Update{Kind: service.KindQR, SessionID: "a", QR: "data:image/png;base64,AA==", At: at})
	publish(service.Update{Kind: service.KindQR, SessionID: "b", QR: "data:image/png;base64,AA==", At: at})
	publish(service.Update{Kind: service.KindStatus, SessionID: "c", Status: service.StatusActive, At: at})
	publish(service.Update{Kind: service.KindStatus, SessionID: "d", Status: service.StatusActive, At: at})
	if woken() {
		t.Fatal("4 HIGH items, 2 of each kind, woke the lane: no kind fills a request of 3")
	}
	publish(service.Update{Kind: service.KindQR, SessionID: "e", QR: "data:image/png;base64,AA==", At: at})
	if !woken() {
		t.Fatal("the third service.QR code did not wake the HIGH lane")
	}
}

// Items published while a flush claims are not in that claim: they count
// toward the next early wake-up. Resetting the counters after Claim lost
// them, so a full request's worth waited for the interval.
func TestFlusherItemsPublishedDuringClaimKeepTheirWake(t *testing.T) {
	d := config.Default()
	// The outbox checks its calls: the three Adds, and the one Claim, which
	// waits for release and tells claiming when it started.
	claiming, release := make(chan struct{}, 1), make(chan struct{})
	ob := mock.NewOutbox(t)
	var n int
	ob.EXPECT().Add(tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, it service.Update) (service.Update, error) {
		n++ // Publish runs on the test's goroutine
		it.ID = strconv.Itoa(n)
		return it, nil
	}).Times(3)
	ob.EXPECT().Claim(tmock.Anything, service.LaneHigh, tmock.Anything).RunAndReturn(func(context.Context, service.Lane, int) ([]service.Update, error) {
		claiming <- struct{}{}
		<-release
		return nil, nil
	}).Once()
	f, err := New(Config{Mode: d.DeliveryMode, BatchSize: 3, BatchInterval: d.BatchInterval, PriorityInterval: d.PriorityInterval,
		BackoffBase: d.BackoffBase, BackoffMax: d.BackoffMax}, ob, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	publish := func(id string) {
		t.Helper()
		if err := f.Publish(ctx, service.Update{Kind: service.KindQR, SessionID: id, QR: "data:image/png;base64,AA==", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	lane := f.lanes[service.LaneHigh]
	flushed := make(chan error, 1)
	go func() { flushed <- f.flushLane(ctx, lane, flushDue) }()
	select {
	case <-claiming:
	case <-ctx.Done():
		t.Fatal("flush never claimed")
	}
	publish("a") // during the claim
	publish("b")
	close(release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	select {
	case <-lane.wake:
		t.Fatal("2 QR codes woke the lane: a request holds 3")
	default:
	}
	publish("c")
	select {
	case <-lane.wake:
	default:
		t.Fatal("the third QR code since the claim did not wake the lane: the two published during the claim were forgotten")
	}
}
