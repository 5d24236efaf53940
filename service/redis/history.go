package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
)

// History is the service.StatusHistory in Redis: one list per session
// ({prefix}history:{id}), newest first, trimmed to max entries and expiring
// maxAge after its last change; older entries are filtered out on read.
type History struct {
	rdb    goredis.UniversalClient
	prefix string
	clock  service.Clock
	max    int
	maxAge time.Duration
	behind *writeBehind[historyWrite] // nil: every change is written at once
	log    *slog.Logger
}

// historyWrite is one change queued by write-behind.
type historyWrite struct {
	key   string
	value []byte
}

// HistoryOption configures a History.
type HistoryOption func(*History)

// HistoryWriteBehind queues the changes and writes them together delay
// after the first (see writeBehind): Record returns before the change is in
// Redis, History in this process still shows it, on other instances it
// shows up to delay later. A failed write is logged on log. Close writes
// what is queued.
func HistoryWriteBehind(delay time.Duration, log *slog.Logger) HistoryOption {
	return func(h *History) {
		if delay > 0 {
			h.behind = newWriteBehind(delay, h.sendBatch)
		}
		if log != nil {
			h.log = log
		}
	}
}

// NewHistory keeps at most max changes per session, none older than maxAge.
func NewHistory(rdb goredis.UniversalClient, prefix string, clock service.Clock, max int, maxAge time.Duration, opts ...HistoryOption) *History {
	if clock == nil {
		clock = service.SystemClock{}
	}
	h := &History{rdb: rdb, prefix: keyPrefix(prefix), clock: clock, max: max, maxAge: maxAge, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(h)
	}
	return h
}

var _ service.StatusHistory = (*History)(nil)

func (h *History) key(id string) string { return h.prefix + "history:" + id }

func (h *History) Record(ctx context.Context, sessionID string, c service.StatusChange) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("redis history: encode: %w", err)
	}
	w := historyWrite{key: h.key(sessionID), value: b}
	if h.behind != nil {
		h.behind.add(ctx, w)
		return nil
	}
	if err := h.write(ctx, []historyWrite{w}); err != nil {
		return fmt.Errorf("redis history: record %s: %w", sessionID, err)
	}
	return nil
}

// write records the changes in order, each list trimmed and expiring
// atomically with its push.
func (h *History) write(ctx context.Context, batch []historyWrite) error {
	_, err := h.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, w := range batch {
			p.LPush(ctx, w.key, w.value)
			p.LTrim(ctx, w.key, 0, int64(h.max-1))
			p.PExpire(ctx, w.key, h.maxAge)
		}
		return nil
	})
	return err
}

func (h *History) sendBatch(ctx context.Context, batch []historyWrite) {
	if err := h.write(ctx, batch); err != nil {
		h.log.WarnContext(ctx, "status history not recorded", "changes", len(batch), "err", err)
	}
}

// Close writes the queued changes; later ones are written one by one. The
// gateway calls it before it closes the Redis client.
func (h *History) Close(ctx context.Context) {
	if h.behind != nil {
		h.behind.close(ctx)
	}
}

func (h *History) History(ctx context.Context, sessionID string, limit int) ([]service.StatusChange, error) {
	out := []service.StatusChange{}
	if limit <= 0 {
		return out, nil
	}
	if h.behind != nil {
		k := h.key(sessionID)
		h.behind.flushIf(ctx, func(w historyWrite) bool { return w.key == k })
	}
	raw, err := h.rdb.LRange(ctx, h.key(sessionID), 0, int64(min(limit, h.max)-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis history: read %s: %w", sessionID, err)
	}
	cutoff := h.clock.Now().Add(-h.maxAge)
	for _, s := range raw {
		var c service.StatusChange
		if json.Unmarshal([]byte(s), &c) == nil && !c.At.Before(cutoff) {
			out = append(out, c)
		}
	}
	return out, nil
}
