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
	behind *WriteBehind // nil: every change is written at once
	log    *slog.Logger
}

// HistoryOption configures a History.
type HistoryOption func(*History)

// HistoryWriteBehind queues the changes on w (see WriteBehind): Record
// returns before the change is in Redis; History in this process still
// shows it, on other instances it shows up to w's delay later. A change
// that fails to be written is logged on log.
func HistoryWriteBehind(w *WriteBehind, log *slog.Logger) HistoryOption {
	return func(h *History) {
		h.behind = w
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
	k := h.key(sessionID)
	if h.behind != nil {
		h.behind.add(ctx, queuedWrite{key: k, write: func(ctx context.Context, p goredis.Pipeliner) []goredis.Cmder {
			return h.push(ctx, p, k, b)
		}, done: logFailure(h.log, "status history not recorded", "session_id", sessionID)})
		return nil
	}
	_, err = h.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		h.push(ctx, p, k, b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis history: record %s: %w", sessionID, err)
	}
	return nil
}

// push adds a change to the list at k, trimmed and expiring. Behind, the
// three commands are not in a MULTI: a reader may catch the list one
// entry over its cap for an instant, which History's LRANGE bound hides.
func (h *History) push(ctx context.Context, p goredis.Pipeliner, k string, change []byte) []goredis.Cmder {
	return []goredis.Cmder{
		p.LPush(ctx, k, change),
		p.LTrim(ctx, k, 0, int64(h.max-1)),
		p.PExpire(ctx, k, h.maxAge),
	}
}

func (h *History) History(ctx context.Context, sessionID string, limit int) ([]service.StatusChange, error) {
	out := []service.StatusChange{}
	if limit <= 0 {
		return out, nil
	}
	if h.behind != nil {
		h.behind.flushIf(ctx, h.key(sessionID))
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
