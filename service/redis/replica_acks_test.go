package redis_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/redis"
)

// waitCounter is a go-redis hook counting the WAIT commands sent in pipelines.
type waitCounter struct {
	mu sync.Mutex
	n  int
}

func (w *waitCounter) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (w *waitCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }
func (w *waitCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		w.mu.Lock()
		for _, c := range cmds {
			if strings.EqualFold(c.Name(), "wait") {
				w.n++
			}
		}
		w.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (w *waitCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// With ReplicaAcks an Add waits for a replica (WAIT); when none confirmed
// it (this Redis has none) the next second's Adds do not wait. Without
// ReplicaAcks no Add waits.
func TestAddWaitsForReplicasOnlyWhenAsked(t *testing.T) {
	rdb := redistest.Start(t)
	w := &waitCounter{}
	rdb.AddHook(w)
	plain := newOutbox(t, rdb, redis.OutboxConfig{Consumer: "plain"})
	outboxtest.AddN(t, plain, service.LaneHigh, 2)
	if n := w.count(); n != 0 {
		t.Fatalf("%d WAITs without ReplicaAcks", n)
	}
	acked := newOutbox(t, rdb, redis.OutboxConfig{Consumer: "acked", ReplicaAcks: 1})
	outboxtest.AddN(t, acked, service.LaneHigh, 1)
	if n := w.count(); n != 1 {
		t.Fatalf("%d WAITs after an Add with ReplicaAcks 1, want 1", n)
	}
	outboxtest.AddN(t, acked, service.LaneHigh, 2) // no replica answered: skip WAIT for a second
	if n := w.count(); n != 1 {
		t.Fatalf("%d WAITs right after a WAIT no replica confirmed, want still 1", n)
	}
}

// Without a replica to confirm them, added items stay unconfirmed, the
// newest of each key only; writing them again on Claim adds no second copy
// of an item still pending, and an acknowledged (delivered) item is no
// longer kept.
func TestUnconfirmedItemsKeptUntilDelivered(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	w := &waitCounter{}
	rdb.AddHook(w)
	ob := newOutbox(t, rdb, redis.OutboxConfig{ReplicaAcks: 1})
	at := time.Now()
	for i, id := range []string{"a", "a", "b"} {
		if _, err := ob.Add(ctx, outboxtest.Status(id, service.LaneHigh, at.Add(time.Duration(i)*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}
	if n := ob.Unconfirmed(); n != 2 {
		t.Fatalf("%d unconfirmed after adds of a, a (newer), b with no replica, want 2", n)
	}
	time.Sleep(1100 * time.Millisecond) // past the second that skips WAIT: Claim writes them again
	waits := w.count()
	items := outboxtest.MustClaim(t, ob, service.LaneHigh, 10)
	if w.count() == waits {
		t.Fatal("Claim did not write the unconfirmed items again with WAIT")
	}
	if len(items) != 2 {
		t.Fatalf("claimed %v after writing the unconfirmed items again, want one item each of a and b", outboxtest.IDs(items))
	}
	if n := ob.Unconfirmed(); n != 2 {
		t.Fatalf("%d unconfirmed after a Claim no replica confirmed, want still 2", n)
	}
	if err := ob.Ack(ctx, service.LaneHigh, items[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := ob.Unconfirmed(); n != 1 {
		t.Fatalf("%d unconfirmed after one of the two was delivered, want 1", n)
	}
}
