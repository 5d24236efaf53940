package notify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/notify"
)

type sent struct {
	mu      sync.Mutex
	notices []service.Notice
	block   chan struct{} // when set, SendNotice waits on it
	got     chan struct{}
}

func newSent() *sent { return &sent{got: make(chan struct{}, 100)} }

func (s *sent) SendNotice(ctx context.Context, n service.Notice) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	s.notices = append(s.notices, n)
	s.mu.Unlock()
	s.got <- struct{}{}
	return nil
}

func (s *sent) wait(t *testing.T, n int) []service.Notice {
	t.Helper()
	for {
		s.mu.Lock()
		if len(s.notices) >= n {
			out := append([]service.Notice(nil), s.notices...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d notices sent", len(s.notices), n)
		}
	}
}

func (s *sent) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.notices)
}

type depth struct {
	mu sync.Mutex
	n  map[service.Lane]int
}

func (d *depth) set(l service.Lane, n int) {
	d.mu.Lock()
	d.n[l] = n
	d.mu.Unlock()
}

func (d *depth) Stats(context.Context) (service.OutboxStats, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := service.OutboxStats{Depth: map[service.Lane]int{}}
	for l, n := range d.n {
		st.Depth[l] = n
	}
	return st, nil
}

type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) Notice(kind, outcome string) {
	c.mu.Lock()
	c.n[kind+"/"+outcome]++
	c.mu.Unlock()
}

func (c *counts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// waitFor waits up to 5 s for count k to reach want: a notice is counted
// just after the sender returns, so a test that saw it sent may be early.
func (c *counts) waitFor(t *testing.T, k string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.get(k) < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := c.get(k); got != want {
		t.Fatalf("count %s = %d, want %d (all: %v)", k, got, want, c.n)
	}
}

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func start(t *testing.T, cfg notify.Config, s *sent, d *depth) (*notify.Notifier, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(t0)
	cfg.Clock, cfg.Instance = clock, "gw-1"
	n := notify.New(cfg, s, d, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	clock.WaitTimers(t, 1)
	return n, clock
}

func dead(session, reason string) service.DeadLetter {
	return service.DeadLetter{Item: service.Update{Kind: service.KindStatus, Lane: service.LaneNormal, SessionID: session}, Reason: reason, At: t0}
}

func TestDeadLetterNoticesAreCoalescedAndDeduplicated(t *testing.T) {
	s, c := newSent(), &counts{n: map[string]int{}}
	n, clock := start(t, notify.Config{After: time.Minute, DeadLetterGap: time.Minute, Observer: c}, s, &depth{n: map[service.Lane]int{}})

	n.OnDeadLettered(dead("s1", "422 bad"))
	first := s.wait(t, 1)[0]
	if first.Type != service.NoticeDeadLetter || first.DeadLetters != 1 || first.Instance != "gw-1" || first.ID == "" {
		t.Fatalf("first notice: %+v", first)
	}
	// Within the gap: held, then sent as one, one sample per session and reason.
	for range 3 {
		n.OnDeadLettered(dead("s2", "422 bad"))
	}
	n.OnDeadLettered(dead("s3", "422 other"))
	clock.Advance(15 * time.Second) // a check, still inside the gap
	clock.WaitTimers(t, 1)
	if s.count() != 1 {
		t.Fatalf("%d notices inside the gap, want 1", s.count())
	}
	clock.Advance(50 * time.Second)
	second := s.wait(t, 2)[1]
	if second.DeadLetters != 4 || len(second.Samples) != 2 || second.Samples[0].SessionID != "s2" || second.Samples[1].Reason != "422 other" {
		t.Fatalf("second notice: %+v", second)
	}
	c.waitFor(t, "dead_letter/sent", 2)
}

func TestLaneStalledThenRecovered(t *testing.T) {
	s := newSent()
	d := &depth{n: map[service.Lane]int{}}
	n, clock := start(t, notify.Config{After: time.Minute, CheckEvery: 10 * time.Second}, s, d)

	// Idle lanes never stall, however old their last delivery.
	for range 12 {
		clock.Advance(10 * time.Second)
		clock.WaitTimers(t, 1)
	}
	if s.count() != 0 {
		t.Fatalf("notices for idle lanes: %+v", s.wait(t, 1))
	}
	n.OnBatch(service.BatchReport{Lane: service.LaneNormal}) // delivered at t0+2m
	d.set(service.LaneNormal, 7)
	for range 5 { // 50 s: under ALERT_AFTER
		clock.Advance(10 * time.Second)
		clock.WaitTimers(t, 1)
	}
	// An item arriving on a lane idle for long is no stall: the wait counts
	// from when it was first seen.
	d.set(service.LaneHigh, 1)
	clock.Advance(10 * time.Second)
	clock.WaitTimers(t, 1)
	d.set(service.LaneHigh, 0)
	// Failed requests are no delivery.
	n.OnBatch(service.BatchReport{Lane: service.LaneNormal, Err: &service.DeliveryError{StatusCode: 503}})
	if s.count() != 0 {
		t.Fatal("stalled before ALERT_AFTER")
	}
	clock.Advance(10 * time.Second)
	stalled := s.wait(t, 1)[0]
	if stalled.Type != service.NoticeLaneStalled || stalled.Lane != service.LaneNormal || stalled.Waiting != 7 || stalled.StalledS < 60 {
		t.Fatalf("stalled notice: %+v", stalled)
	}
	// Still stalled: no repeat.
	for range 6 {
		clock.WaitTimers(t, 1)
		clock.Advance(10 * time.Second)
	}
	clock.WaitTimers(t, 1)
	if s.count() != 1 {
		t.Fatalf("%d notices while still stalled, want 1", s.count())
	}
	n.OnBatch(service.BatchReport{Lane: service.LaneNormal})
	clock.Advance(10 * time.Second)
	rec := s.wait(t, 2)[1]
	if rec.Type != service.NoticeLaneRecovered || rec.Lane != service.LaneNormal {
		t.Fatalf("recovery notice: %+v", rec)
	}
}

func TestRateLimitSuppresses(t *testing.T) {
	s, c := newSent(), &counts{n: map[string]int{}}
	n, clock := start(t, notify.Config{DeadLetterGap: time.Second, CheckEvery: time.Second, MaxPerHour: 2, Observer: c}, s, &depth{n: map[service.Lane]int{}})
	for i := range 4 {
		n.OnDeadLettered(dead("s1", "422"))
		if i < 2 {
			s.wait(t, i+1)
		}
		clock.WaitTimers(t, 1)
		clock.Advance(2 * time.Second)
	}
	clock.WaitTimers(t, 1)
	for c.get("dead_letter/suppressed") < 1 {
		clock.Advance(2 * time.Second)
		clock.WaitTimers(t, 1)
	}
	if s.count() != 2 {
		t.Fatalf("%d notices sent with MaxPerHour 2", s.count())
	}
}

// A webhook that hangs never holds the flusher up: OnDeadLettered returns
// at once and what the queue cannot take is dropped and counted.
func TestNeverBlocksTheFlusher(t *testing.T) {
	s, c := newSent(), &counts{n: map[string]int{}}
	s.block = make(chan struct{})
	defer close(s.block)
	n, _ := start(t, notify.Config{QueueSize: 8, Observer: c}, s, &depth{n: map[service.Lane]int{}})
	begin := time.Now()
	const calls = 10_000
	for range calls {
		n.OnDeadLettered(dead("s1", "422"))
	}
	took := time.Since(begin)
	dropped := c.get("dead_letter/dropped")
	// The queue (8) and what the loop drained before the send hung got
	// through; everything else was dropped rather than waited for.
	if dropped < calls*9/10 {
		t.Fatalf("dropped %d of %d with a queue of 8", dropped, calls)
	}
	t.Logf("%d calls against a hung webhook took %s, %d dropped", calls, took, dropped)
}
