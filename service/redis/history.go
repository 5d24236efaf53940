package redis

import (
	"context"
	"encoding/json"
	"fmt"
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
}

// NewHistory keeps at most max changes per session, none older than maxAge.
func NewHistory(rdb goredis.UniversalClient, prefix string, clock service.Clock, max int, maxAge time.Duration) *History {
	if clock == nil {
		clock = service.SystemClock{}
	}
	return &History{rdb: rdb, prefix: keyPrefix(prefix), clock: clock, max: max, maxAge: maxAge}
}

var _ service.StatusHistory = (*History)(nil)

func (h *History) key(id string) string { return h.prefix + "history:" + id }

func (h *History) Record(ctx context.Context, sessionID string, c service.StatusChange) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("redis history: encode: %w", err)
	}
	k := h.key(sessionID)
	_, err = h.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.LPush(ctx, k, b)
		p.LTrim(ctx, k, 0, int64(h.max-1))
		p.PExpire(ctx, k, h.maxAge)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis history: record %s: %w", sessionID, err)
	}
	return nil
}

func (h *History) History(ctx context.Context, sessionID string, limit int) ([]service.StatusChange, error) {
	out := []service.StatusChange{}
	if limit <= 0 {
		return out, nil
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
