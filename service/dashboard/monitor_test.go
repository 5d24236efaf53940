package dashboard_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/dashboard"
)

type publisherFunc func(context.Context, service.Update) error

func (f publisherFunc) Publish(ctx context.Context, it service.Update) error { return f(ctx, it) }

// Every published item reaches the outbox unchanged and wakes every
// subscriber with its session id; changes are merged, never dropped, and a
// cancelled subscriber hears nothing more.
func TestMonitorFeedsSubscribers(t *testing.T) {
	m := dashboard.NewMonitor(clocktest.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)))
	var got []service.Update
	full := errors.New("outbox full")
	pub := m.Publisher(publisherFunc(func(_ context.Context, it service.Update) error {
		got = append(got, it)
		if it.SessionID == "c" {
			return full
		}
		return nil
	}))
	wakeA, changedA, cancelA := m.Subscribe()
	wakeB, changedB, cancelB := m.Subscribe()
	defer cancelB()

	ctx := context.Background()
	for _, id := range []string{"a", "b", "a"} {
		if err := pub.Publish(ctx, service.Update{Kind: service.KindQR, SessionID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx, service.Update{Kind: service.KindStatus, SessionID: "c"}); !errors.Is(err, full) {
		t.Fatalf("the outbox's error was not returned: %v", err)
	}
	if len(got) != 4 {
		t.Fatalf("%d items reached the outbox, want 4", len(got))
	}
	for name, sub := range map[string]struct {
		wake    <-chan struct{}
		changed func() []string
	}{"A": {wakeA, changedA}, "B": {wakeB, changedB}} {
		select {
		case <-sub.wake:
		default:
			t.Fatalf("subscriber %s not woken", name)
		}
		ids := sub.changed()
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"a", "b", "c"}) {
			t.Errorf("subscriber %s: changed %v, want [a b c] once each", name, ids)
		}
		if again := sub.changed(); len(again) != 0 {
			t.Errorf("subscriber %s: %v again", name, again)
		}
	}
	cancelA()
	cancelA() // twice is harmless
	_ = pub.Publish(ctx, service.Update{SessionID: "d"})
	if ids := changedA(); len(ids) != 0 {
		t.Errorf("a cancelled subscriber heard %v", ids)
	}
	if ids := changedB(); !slices.Equal(ids, []string{"d"}) {
		t.Errorf("subscriber B: %v, want [d]", ids)
	}
}

// A slow subscriber never blocks the publisher.
func TestMonitorNeverBlocks(t *testing.T) {
	m := dashboard.NewMonitor(nil)
	_, _, cancel := m.Subscribe() // never read
	defer cancel()
	pub := m.Publisher(publisherFunc(func(context.Context, service.Update) error { return nil }))
	done := make(chan struct{})
	go func() {
		for i := range 10000 {
			_ = pub.Publish(context.Background(), service.Update{SessionID: string(rune('a' + i%26))})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publishing blocked on a subscriber that does not read")
	}
}

// Laravel's answers are counted by status code, and requests and events
// per minute, minutes without traffic as zeros, the oldest dropped.
func TestMonitorTraffic(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
	clock := clocktest.New(start)
	m := dashboard.NewMonitor(clock)
	pub := m.Publisher(publisherFunc(func(context.Context, service.Update) error { return nil }))
	ctx := context.Background()

	if tr := m.Traffic(); len(tr.PerMinute) != 0 || len(tr.StatusCodes) != 0 {
		t.Fatalf("traffic before anything: %+v", tr)
	}
	for range 5 {
		_ = pub.Publish(ctx, service.Update{SessionID: "s"})
	}
	m.OnBatch(service.BatchReport{Items: 5})
	m.OnBatch(service.BatchReport{Items: 2, StatusCode: 422, Err: errors.New("refused")})
	clock.Advance(2 * time.Minute) // 10:02: one empty minute between
	m.OnBatch(service.BatchReport{Items: 1, Err: errors.New("dial tcp: refused")})
	_ = pub.Publish(ctx, service.Update{SessionID: "s"})

	tr := m.Traffic()
	if want := map[string]int64{"2xx": 1, "422": 1, "none": 1}; !equalCounts(tr.StatusCodes, want) {
		t.Errorf("status codes %v, want %v", tr.StatusCodes, want)
	}
	want := []service.TrafficMinute{
		{Start: start.Truncate(time.Minute), Requests: 2, Events: 5},
		{Start: start.Truncate(time.Minute).Add(time.Minute)},
		{Start: start.Truncate(time.Minute).Add(2 * time.Minute), Requests: 1, Events: 1},
	}
	if !slices.Equal(tr.PerMinute, want) {
		t.Errorf("per minute %+v, want %+v", tr.PerMinute, want)
	}

	// An hour later the chart keeps its last 30 minutes: the old traffic is gone.
	clock.Advance(time.Hour)
	m.OnBatch(service.BatchReport{Items: 1})
	tr = m.Traffic()
	if len(tr.PerMinute) != 30 {
		t.Fatalf("%d minutes, want 30", len(tr.PerMinute))
	}
	var requests, events int64
	for _, mi := range tr.PerMinute {
		requests += mi.Requests
		events += mi.Events
	}
	if requests != 1 || events != 0 || !tr.PerMinute[29].Start.Equal(clock.Now().Truncate(time.Minute)) {
		t.Errorf("after an hour: %d requests, %d events, last minute %v", requests, events, tr.PerMinute[29].Start)
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
