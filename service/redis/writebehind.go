package redis

import (
	"context"
	"sync"
	"time"
)

// DefaultWriteBehind is how long the gateway lets cache and history writes
// wait for company before they go to Redis together.
const DefaultWriteBehind = 10 * time.Millisecond

// writeBehindMax starts a flush at once when that many writes wait.
const writeBehindMax = 256

// writeBehindTimeout bounds one flush started by the timer.
const writeBehindTimeout = 5 * time.Second

// writeBehind queues writes that are not the durable record (the L2 cache,
// the status history): the caller returns at once and the queue goes to
// Redis in one pipeline delay after its first write, or as soon as
// writeBehindMax wait. A session event then costs one round trip of its own
// (the outbox add) instead of three or four. Writes keep their order, so the
// last write of a key wins as it did when each went alone. Readers of this
// process call flush first when a key they read may be waiting; other
// instances see a write up to delay (plus one round trip) late.
type writeBehind[T any] struct {
	delay time.Duration
	send  func(ctx context.Context, batch []T) // one pipeline; reports its own errors

	mu       sync.Mutex
	queue    []T
	inFlight []T  // the batch on its way to Redis
	armed    bool // a timer will flush the queue
	closed   bool // flush synchronously from now on

	sending sync.Mutex // held while a batch is on its way: flush waits for it
}

func newWriteBehind[T any](delay time.Duration, send func(context.Context, []T)) *writeBehind[T] {
	return &writeBehind[T]{delay: delay, send: send}
}

// add queues w; it sends it at once when the queue is full or closed.
func (b *writeBehind[T]) add(ctx context.Context, w T) {
	b.mu.Lock()
	b.queue = append(b.queue, w)
	full := len(b.queue) >= writeBehindMax || b.closed
	if !full && !b.armed {
		b.armed = true
		time.AfterFunc(b.delay, b.flushLater)
	}
	b.mu.Unlock()
	if full {
		b.flush(context.WithoutCancel(ctx))
	}
}

func (b *writeBehind[T]) flushLater() {
	ctx, cancel := context.WithTimeout(context.Background(), writeBehindTimeout)
	defer cancel()
	b.flush(ctx)
}

// flush sends what is queued and returns once every write queued before
// the call is in Redis (or failed).
func (b *writeBehind[T]) flush(ctx context.Context) {
	b.sending.Lock()
	defer b.sending.Unlock()
	b.mu.Lock()
	batch := b.queue
	b.queue, b.inFlight, b.armed = nil, batch, false
	b.mu.Unlock()
	if len(batch) > 0 {
		b.send(ctx, batch)
	}
	b.mu.Lock()
	b.inFlight = nil
	b.mu.Unlock()
}

// flushIf flushes when a write that matches is queued or on its way, so
// a read in this process sees it; match nil matches any write.
func (b *writeBehind[T]) flushIf(ctx context.Context, match func(T) bool) {
	b.mu.Lock()
	found := false
	for _, q := range [][]T{b.queue, b.inFlight} {
		for _, w := range q {
			if match == nil || match(w) {
				found = true
				break
			}
		}
	}
	b.mu.Unlock()
	if found {
		b.flush(ctx)
	}
}

// close flushes the queue; later writes go to Redis one by one.
func (b *writeBehind[T]) close(ctx context.Context) {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.flush(ctx)
}
