package inmem_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/inmem"
	"wagateway/service/outboxtest"
)

func TestOutboxContract(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) service.Outbox { return inmem.NewOutbox(newFakeClock()) })
}

func TestOutboxNotDurable(t *testing.T) {
	if inmem.NewOutbox(nil).Durable() {
		t.Fatal("an in-memory outbox claims to be durable")
	}
}

func TestOutboxOldestAgeOnClock(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	ob := inmem.NewOutbox(clock)
	outboxtest.AddN(t, ob, service.LaneHigh, 1)
	clock.Advance(3 * time.Second)
	outboxtest.AddN(t, ob, service.LaneHigh, 1)
	clock.Advance(2 * time.Second)
	st, err := ob.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OldestAge[service.LaneHigh] != 5*time.Second || st.OldestAge[service.LaneNormal] != 0 {
		t.Fatalf("oldest ages: %v", st.OldestAge)
	}
}

// Many producers and one consumer: every item is delivered exactly once.
func TestOutboxConcurrentProducers(t *testing.T) {
	ctx := context.Background()
	ob := inmem.NewOutbox(nil)
	const producers, each = 8, 200
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				it := outboxtest.Status(fmt.Sprintf("p%d_%d", p, i), service.LaneNormal, time.Now())
				if _, err := ob.Add(ctx, it); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[string]bool{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		got, err := ob.Claim(ctx, service.LaneNormal, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range got {
			if seen[it.ID] {
				t.Fatalf("%s delivered twice", it.ID)
			}
			seen[it.ID] = true
		}
		if err := ob.Ack(ctx, service.LaneNormal, outboxtest.IDs(got)...); err != nil {
			t.Fatal(err)
		}
		if finished && len(got) == 0 {
			break
		}
	}
	if len(seen) != producers*each {
		t.Fatalf("delivered %d items, want %d", len(seen), producers*each)
	}
}

func TestOutboxDeadLettersAreBounded(t *testing.T) {
	ctx := context.Background()
	ob := inmem.NewOutbox(nil)
	dead := make([]service.DeadLetter, inmem.DefaultDeadLetterCap+5)
	for i := range dead {
		dead[i] = service.DeadLetter{Item: service.Update{ID: fmt.Sprint(i)}, Reason: "bad"}
	}
	if err := ob.DeadLetter(ctx, service.LaneHigh, dead); err != nil {
		t.Fatal(err)
	}
	st, _ := ob.Stats(ctx)
	if st.DeadLettered != inmem.DefaultDeadLetterCap {
		t.Fatalf("dead letters kept: %d", st.DeadLettered)
	}
	newest, _ := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 1})
	if newest[0].Item.ID != fmt.Sprint(len(dead)-1) || newest[0].At.IsZero() {
		t.Fatalf("newest dead letter: %+v", newest[0])
	}
}
