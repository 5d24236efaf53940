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
// through the same interface, fencing tokens and orphans included.
type Leases struct {
	clock service.Clock

	mu      sync.Mutex
	leases  map[string]lease
	tokens  map[string]int64  // last token handed out per session
	running map[string]string // session → last owner, "" after a handover
	known   map[string]struct{}
}

type lease struct {
	service.Lease
	expires time.Time
}

// NewLeases returns Leases with nobody holding anything; a nil clock is the system clock.
func NewLeases(clock service.Clock) *Leases {
	return &Leases{
		clock:   clockOrSystem(clock),
		leases:  make(map[string]lease),
		tokens:  make(map[string]int64),
		running: make(map[string]string),
		known:   make(map[string]struct{}),
	}
}

var _ service.Leases = (*Leases)(nil)

// current returns the unexpired lease of id; call with l.mu held.
func (l *Leases) current(id string) (service.Lease, bool) {
	cur, ok := l.leases[id]
	if !ok {
		return service.Lease{}, false
	}
	if !l.clock.Now().Before(cur.expires) {
		delete(l.leases, id)
		return service.Lease{}, false
	}
	return cur.Lease, true
}

func (l *Leases) Take(ctx context.Context, sessionID, owner string, ttl time.Duration) (service.Lease, bool, error) {
	if err := service.ValidateLease(sessionID, owner, ttl); err != nil {
		return service.Lease{}, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, held := l.current(sessionID)
	if held && cur.Owner != owner {
		return cur, false, nil
	}
	if !held {
		l.tokens[sessionID]++
		cur = service.Lease{SessionID: sessionID, Owner: owner, Token: l.tokens[sessionID], TTL: ttl}
	}
	l.leases[sessionID] = lease{Lease: cur, expires: l.clock.Now().Add(ttl)}
	l.running[sessionID] = owner
	return cur, true, nil
}

func (l *Leases) Renew(ctx context.Context, ttl time.Duration, leases ...service.Lease) ([]bool, error) {
	for _, ls := range leases {
		if err := service.ValidateLease(ls.SessionID, ls.Owner, ttl); err != nil {
			return nil, err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	held := make([]bool, len(leases))
	for i, ls := range leases {
		cur, ok := l.current(ls.SessionID)
		// Free, nobody got a newer token since, and not given up (End
		// drops the running entry, Handover clears its owner): take it back.
		last, running := l.running[ls.SessionID]
		if ok && cur == ls || !ok && l.tokens[ls.SessionID] <= ls.Token && running && last == ls.Owner {
			l.leases[ls.SessionID] = lease{Lease: ls, expires: l.clock.Now().Add(ttl)}
			l.tokens[ls.SessionID] = max(l.tokens[ls.SessionID], ls.Token)
			l.running[ls.SessionID] = ls.Owner
			held[i] = true
		}
	}
	return held, nil
}

func (l *Leases) End(ctx context.Context, ls service.Lease) error { return l.giveUp(ls, true) }

func (l *Leases) Handover(ctx context.Context, ls service.Lease) error { return l.giveUp(ls, false) }

func (l *Leases) giveUp(ls service.Lease, end bool) error {
	if err := service.ValidateSessionID(ls.SessionID); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.current(ls.SessionID); !ok || cur != ls {
		return nil
	}
	delete(l.leases, ls.SessionID)
	if end {
		delete(l.running, ls.SessionID)
	} else {
		l.running[ls.SessionID] = ""
	}
	return nil
}

func (l *Leases) Orphans(ctx context.Context) (map[string]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for id, owner := range l.running {
		if _, ok := l.current(id); !ok {
			out[id] = owner
		}
	}
	return out, nil
}

func (l *Leases) Owner(ctx context.Context, sessionID string) (string, error) {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, _ := l.current(sessionID)
	return cur.Owner, nil
}

func (l *Leases) Owners(ctx context.Context, ids []string) (map[string]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if cur, ok := l.current(id); ok {
			out[id] = cur.Owner
		}
	}
	return out, nil
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

// Forget drops sessionID from the Known and the running set.
func (l *Leases) Forget(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	l.mu.Lock()
	delete(l.known, sessionID)
	delete(l.running, sessionID)
	l.mu.Unlock()
	return nil
}
