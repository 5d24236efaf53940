package redis

import (
	"context"
	"log/slog"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultWriteBehind is how long the gateway lets cache and history writes
// wait for company before they go to Redis together.
const DefaultWriteBehind = 20 * time.Millisecond

// writeBehindMax starts a flush at once when that many writes wait.
const writeBehindMax = 256

// writeBehindTimeout bounds one flush started by the timer.
const writeBehindTimeout = 5 * time.Second

// WriteBehind queues writes that are not the durable record (the L2 cache,
// the status history) for the Cache and History given it: the caller
// returns at once and the queue goes to Redis in one pipeline delay after
// its first write, or as soon as writeBehindMax wait. A session event then
// costs one round trip of its own (the outbox add) instead of three or
// four. Writes keep their order, so the last write of a key wins as it did
// when each went alone. Reads in this process send the queue first when it
// holds their key; other instances see a write up to delay (plus a round
// trip) late. A failed write is only counted or logged, as a failed cache
// write always was: the outbox, not the cache, carries the update.
type WriteBehind struct {
	rdb   goredis.UniversalClient
	delay time.Duration

	mu       sync.Mutex
	queue    []queuedWrite
	inFlight []queuedWrite // the batch on its way to Redis
	armed    bool          // a timer will flush the queue
	closed   bool          // flush at once from now on

	sending sync.Mutex // held while a batch is on its way: flush waits for it
}

// queuedWrite is one write of key: its commands and what to do with its
// first error (nil on success).
type queuedWrite struct {
	key   string
	write func(ctx context.Context, p goredis.Pipeliner) []goredis.Cmder
	done  func(err error)
}

// NewWriteBehind returns a queue for writes to rdb sent delay after the
// first; Close sends what is left.
func NewWriteBehind(rdb goredis.UniversalClient, delay time.Duration) *WriteBehind {
	return &WriteBehind{rdb: rdb, delay: max(delay, time.Millisecond)}
}

// add queues w; it sends the queue at once when it is full or closed.
func (b *WriteBehind) add(ctx context.Context, w queuedWrite) {
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

func (b *WriteBehind) flushLater() {
	ctx, cancel := context.WithTimeout(context.Background(), writeBehindTimeout)
	defer cancel()
	b.flush(ctx)
}

// flush sends what is queued and returns once every write queued before
// the call is in Redis (or failed).
func (b *WriteBehind) flush(ctx context.Context) {
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

func (b *WriteBehind) send(ctx context.Context, batch []queuedWrite) {
	cmds := make([][]goredis.Cmder, len(batch))
	_, _ = b.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, w := range batch {
			cmds[i] = w.write(ctx, p)
		}
		return nil
	})
	for i, w := range batch {
		var err error
		for _, c := range cmds[i] {
			if err = c.Err(); err != nil {
				break
			}
		}
		w.done(err)
	}
}

// flushIf sends the queue when a write of key is queued or on its way, so
// a read in this process sees it; key "" matches any write.
func (b *WriteBehind) flushIf(ctx context.Context, key string) {
	b.mu.Lock()
	found := false
	for _, q := range [][]queuedWrite{b.queue, b.inFlight} {
		for _, w := range q {
			if key == "" || w.key == key {
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

// Close sends the queue; later writes go to Redis one batch each. The
// gateway calls it before it closes the Redis client.
func (b *WriteBehind) Close(ctx context.Context) {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.flush(ctx)
}

// logFailure returns a done func that logs a failed write on log.
func logFailure(log *slog.Logger, msg string, args ...any) func(error) {
	return func(err error) {
		if err != nil {
			log.Warn(msg, append(args, "err", err)...)
		}
	}
}
