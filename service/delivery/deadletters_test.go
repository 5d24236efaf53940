package delivery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/delivery"
	"wagateway/service/inmem"
)

type handledCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *handledCounts) DeadLettersHandled(outcome string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = map[string]int{}
	}
	h.n[outcome] += n
}

func (h *handledCounts) get(outcome string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[outcome]
}

type outboxPublisher struct {
	ob  service.Outbox
	err error
}

func (p *outboxPublisher) Publish(ctx context.Context, it service.Update) error {
	if p.err != nil {
		return p.err
	}
	_, err := p.ob.Add(ctx, it)
	return err
}

var dlT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// refuse adds a status update for each session and dead-letters it, dead at
// dlT0 + i minutes.
func refuse(t *testing.T, ob service.Outbox, sessions ...string) {
	t.Helper()
	ctx := context.Background()
	for i, id := range sessions {
		it, err := ob.Add(ctx, service.Update{Kind: service.KindStatus, Lane: service.LaneNormal, SessionID: id,
			Status: service.StatusExpired, At: dlT0.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ob.Claim(ctx, service.LaneNormal, 10); err != nil {
			t.Fatal(err)
		}
		dl := service.DeadLetter{Item: it, Reason: "422 statuses.0.session_id", At: dlT0.Add(time.Duration(i) * time.Minute)}
		if err := ob.DeadLetter(ctx, service.LaneNormal, []service.DeadLetter{dl}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeadLetterReplayPutsItemsBackWithTheirEventTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ob := inmem.NewOutbox(clocktest.New(dlT0))
	refuse(t, ob, "a", "b", "a", "c")
	obs := &handledCounts{}
	pub := &outboxPublisher{ob: ob}
	dls := delivery.NewDeadLetters(delivery.DeadLetterConfig{Observer: obs}, ob, pub, nil)

	res, err := dls.Replay(ctx, service.DeadLetterQuery{SessionID: "a"})
	if err != nil || res.Replayed != 2 || res.Failed != 0 || len(res.IDs) != 2 {
		t.Fatalf("replay of a = %+v, %v; want 2 replayed", res, err)
	}
	// Both went back with their own event times, so the outbox's superseding
	// keeps only the newer one: newest-wins holds through a replay.
	back, _ := ob.Claim(ctx, service.LaneNormal, 10)
	if len(back) != 1 || back[0].SessionID != "a" || !back[0].At.Equal(dlT0.Add(2*time.Second)) {
		t.Fatalf("outbox after replay: %+v, want only a's newer item, with its own event time", back)
	}
	left, _ := dls.List(ctx, service.DeadLetterQuery{})
	if len(left) != 2 || left[0].Item.SessionID != "c" || left[1].Item.SessionID != "b" {
		t.Fatalf("dead letters left: %+v", left)
	}

	// A failing publish keeps the dead letter.
	pub.err = service.Errorf(service.EUNAVAILABLE, "outbox full")
	res, err = dls.Replay(ctx, service.DeadLetterQuery{IDs: []string{left[0].ID}})
	if err != nil || res.Replayed != 0 || res.Failed != 1 {
		t.Fatalf("failing replay = %+v, %v", res, err)
	}
	if still, _ := dls.List(ctx, service.DeadLetterQuery{IDs: []string{left[0].ID}}); len(still) != 1 {
		t.Fatal("a dead letter that failed to replay is gone")
	}
	pub.err = nil
	res, err = dls.Replay(ctx, service.DeadLetterQuery{IDs: []string{left[0].ID}})
	if err != nil || res.Replayed != 1 || res.IDs[0] != left[0].ID {
		t.Fatalf("replay by id = %+v, %v", res, err)
	}

	if err := dls.Delete(ctx, left[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := dls.Delete(ctx, left[1].ID); service.ErrorCode(err) != service.ENOTFOUND {
		t.Fatalf("second delete: %v, want ENOTFOUND", err)
	}
	if obs.get(service.DeadLetterReplayed) != 3 || obs.get(service.DeadLetterDeleted) != 1 {
		t.Fatalf("counted %+v, want 3 replayed, 1 deleted", obs.n)
	}
}

// Replaying all walks every page, not only the first.
func TestDeadLetterReplayAllPages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ob := inmem.NewOutbox(clocktest.New(dlT0))
	const n = 450 // over two replay steps of 200
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "s" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	refuse(t, ob, ids...)
	res, err := delivery.NewDeadLetters(delivery.DeadLetterConfig{}, ob, &outboxPublisher{ob: ob}, nil).Replay(ctx, service.DeadLetterQuery{})
	if err != nil || res.Replayed != n {
		t.Fatalf("replay all = %d replayed, %v; want %d", res.Replayed, err, n)
	}
	if st, _ := ob.Stats(ctx); st.DeadLettered != 0 || st.Depth[service.LaneNormal] != n {
		t.Fatalf("stats after replay all: %+v", st)
	}
}

func TestDeadLetterPruneByCapAndAge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clocktest.New(dlT0)
	ob := inmem.NewOutbox(clock)
	refuse(t, ob, "a", "b", "c", "d", "e") // dead at +0 … +4 min
	obs := &handledCounts{}
	dls := delivery.NewDeadLetters(delivery.DeadLetterConfig{Keep: 4, MaxAge: time.Hour, PruneEvery: time.Minute, Clock: clock, Observer: obs},
		ob, &outboxPublisher{ob: ob}, nil)

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- dls.Run(runCtx) }()
	clock.WaitTimers(t, 1) // the first prune ran and Run waits for the next
	if got := obs.get(service.DeadLetterEvicted); got != 1 {
		t.Fatalf("evicted %d over the cap of 4, want 1", got)
	}
	// b (dead at +1 min) and c (+2 min) are over an hour old at +62m30s.
	clock.Advance(62*time.Minute + 30*time.Second)
	clock.WaitTimers(t, 1)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := obs.get(service.DeadLetterExpired); got != 2 {
		t.Fatalf("expired %d, want 2", got)
	}
	left, _ := ob.DeadLetters(ctx, service.DeadLetterQuery{})
	if len(left) != 2 || left[0].Item.SessionID != "e" || left[1].Item.SessionID != "d" {
		t.Fatalf("left: %+v", left)
	}
}
