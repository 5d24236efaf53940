package service

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"
)

// wakeTestOutbox accepts every Add; the wake-up rule needs nothing else.
type wakeTestOutbox struct{ n int }

func (o *wakeTestOutbox) Add(_ context.Context, it Update) (Update, error) {
	o.n++
	it.ID = strconv.Itoa(o.n)
	return it, nil
}
func (o *wakeTestOutbox) Claim(context.Context, Lane, int) ([]Update, error)       { return nil, nil }
func (o *wakeTestOutbox) Ack(context.Context, Lane, ...string) error             { return nil }
func (o *wakeTestOutbox) DeadLetter(context.Context, Lane, []DeadLetter) error   { return nil }
func (o *wakeTestOutbox) DeadLetters(context.Context, int) ([]DeadLetter, error) { return nil, nil }
func (o *wakeTestOutbox) Stats(context.Context) (OutboxStats, error)             { return OutboxStats{}, nil }
func (o *wakeTestOutbox) Durable() bool                                          { return false }

// A lane wakes early only when one kind has a full request's worth: a request
// carries one kind, so BatchSize items split between QR codes and statuses
// would only make part-filled requests of both.
func TestFlusherWakesWhenOneKindFillsARequest(t *testing.T) {
	f := NewFlusher(FlusherConfig{BatchSize: 3}, &wakeTestOutbox{}, nil, slog.New(slog.DiscardHandler))
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	publish := func(it Update) {
		t.Helper()
		if err := f.Publish(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	woken := func() bool {
		select {
		case <-f.lanes[LaneHigh].wake:
			return true
		default:
			return false
		}
	}
	publish(Update{Kind: KindQR, SessionID: "a", QR: "data:image/png;base64,AA==", At: at})
	publish(Update{Kind: KindQR, SessionID: "b", QR: "data:image/png;base64,AA==", At: at})
	publish(Update{Kind: KindStatus, SessionID: "c", Status: StatusActive, At: at})
	publish(Update{Kind: KindStatus, SessionID: "d", Status: StatusActive, At: at})
	if woken() {
		t.Fatal("4 HIGH items, 2 of each kind, woke the lane: no kind fills a request of 3")
	}
	publish(Update{Kind: KindQR, SessionID: "e", QR: "data:image/png;base64,AA==", At: at})
	if !woken() {
		t.Fatal("the third QR code did not wake the HIGH lane")
	}
}
