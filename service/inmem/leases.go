package inmem

import (
	"context"
	"slices"
	"sync"
	"time"

	"wagateway/service"
)

// Leases is service.Leases within one process: with the embedded storage
// there is only one gateway instance, but the session manager still works
// through the same interface.
type Leases struct {
	clock service.Clock

	mu     sync.Mutex
	leases map[string]lease
	known  map[string]struct{}
}

type lease struct {
	owner   string
	expires time.Time
}

// NewLeases returns Leases with nobody holding anything; a nil clock is the system clock.
func NewLeases(clock service.Clock) *Leases {
	return &Leases{
		clock:  clockOrSystem(clock),
		leases: make(map[string]lease),
		known:  make(map[string]struct{}),
	}
}

var _ service.Leases = (*Leases)(nil)

func (l *Leases) Acquire(ctx context.Context, sessionID, owner string, ttl time.Duration) (bool, error) {
	if err := service.ValidateLease(sessionID, owner, ttl); err != nil {
		return false, err
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.leases[sessionID]
	if ok && cur.owner != owner && now.Before(cur.expires) {
		return false, nil
	}
	l.leases[sessionID] = lease{owner: owner, expires: now.Add(ttl)}
	return true, nil
}

func (l *Leases) Release(ctx context.Context, sessionID, owner string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.leases[sessionID]; ok && cur.owner == owner {
		delete(l.leases, sessionID)
	}
	return nil
}

func (l *Leases) Owner(ctx context.Context, sessionID string) (string, error) {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.leases[sessionID]
	if !ok || !now.Before(cur.expires) {
		delete(l.leases, sessionID)
		return "", nil
	}
	return cur.owner, nil
}

func (l *Leases) Known(ctx context.Context) ([]string, error) {
	l.mu.Lock()
	ids := make([]string, 0, len(l.known))
	for id := range l.known {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	slices.Sort(ids)
	return ids, nil
}

func (l *Leases) Register(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	l.mu.Lock()
	l.known[sessionID] = struct{}{}
	l.mu.Unlock()
	return nil
}

func (l *Leases) Forget(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	l.mu.Lock()
	delete(l.known, sessionID)
	l.mu.Unlock()
	return nil
}
