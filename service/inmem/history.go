package inmem

import (
	"context"
	"sync"
	"time"

	"wagateway/service"
)

// History is a service.StatusHistory in process memory.
type History struct {
	clock  service.Clock
	max    int
	maxAge time.Duration

	mu       sync.Mutex
	sessions map[string][]service.StatusChange // oldest first, at most max
	// nextSweep: when Record next walks the map for sessions past maxAge.
	// A walk per Record cost O(sessions) each, a third of the gateway's CPU
	// at 10,000 sessions on the embedded store.
	nextSweep time.Time
	sweeps    int // walks so far (tests)
}

// sweepEvery bounds how long a session past maxAge stays in memory; reads
// never show it (History filters by age).
func (h *History) sweepEvery() time.Duration { return min(h.maxAge, time.Minute) }

// NewHistory keeps at most max changes per session, none older than maxAge.
func NewHistory(clock service.Clock, max int, maxAge time.Duration) *History {
	return &History{clock: clockOrSystem(clock), max: max, maxAge: maxAge, sessions: map[string][]service.StatusChange{}}
}

var _ service.StatusHistory = (*History)(nil)

func (h *History) Record(ctx context.Context, sessionID string, c service.StatusChange) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := append(h.sessions[sessionID], c)
	if over := len(l) - h.max; over > 0 {
		l = append(l[:0:0], l[over:]...)
	}
	h.sessions[sessionID] = l
	if now := h.clock.Now(); !now.Before(h.nextSweep) {
		h.dropOld(now)
		h.nextSweep = now.Add(h.sweepEvery())
	}
	return nil
}

func (h *History) History(ctx context.Context, sessionID string, limit int) ([]service.StatusChange, error) {
	cutoff := h.clock.Now().Add(-h.maxAge)
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.sessions[sessionID]
	out := []service.StatusChange{}
	for i := len(l) - 1; i >= 0 && len(out) < limit; i-- {
		if !l[i].At.Before(cutoff) {
			out = append(out, l[i])
		}
	}
	return out, nil
}

// dropOld forgets sessions whose newest change is past maxAge, so the map
// does not grow with every session ever seen.
func (h *History) dropOld(now time.Time) {
	h.sweeps++
	cutoff := now.Add(-h.maxAge)
	for id, l := range h.sessions {
		if len(l) > 0 && l[len(l)-1].At.Before(cutoff) {
			delete(h.sessions, id)
		}
	}
}
