package sqlite

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"wagateway/service"
)

// Leases is service.Leases of the embedded store: the lease rows and the
// known sessions live in the DB's log state (memory, each change appended
// to outbox.log before it counts). With the embedded store one process
// owns the data directory, so a lease only matters to that process's
// session manager. Keeping the rows in the log keeps the known sessions
// (which Restore starts), the fencing tokens (they never go down, not
// even across a restart) and the running set (Orphans) across a restart.
//
// A lease's expiry only matters while this process lives: the directory
// lock proves that the process before it is gone. So a renewal of a lease
// still held changes memory only; the log keeps the expiry of its Take
// until a compaction writes the row again. At 10,000 sessions that saves
// 1,000 records a second. After a crash the rows read as expired up to
// one LEASE_TTL sooner than they would have, which only lets Restore
// start sooner.
type Leases struct {
	db *DB
	st *logState
}

// NewLeases returns the Leases of db.
func NewLeases(db *DB) *Leases { return &Leases{db: db, st: db.state} }

var _ service.Leases = (*Leases)(nil)

// row is sessionID's lease row, the zero row when it has none; the
// caller holds st.mu.
func (l *Leases) row(sessionID string) leaseRow {
	if r, ok := l.st.leases[sessionID]; ok {
		return *r
	}
	return leaseRow{}
}

func (l *Leases) now() int64 { return l.db.clock.Now().UnixNano() }

func (l *Leases) Take(ctx context.Context, sessionID, owner string, ttl time.Duration) (service.Lease, bool, error) {
	if err := service.ValidateLease(sessionID, owner, ttl); err != nil {
		return service.Lease{}, false, err
	}
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	now := l.now()
	r := l.row(sessionID)
	holder := r.holder(now)
	if holder != "" && holder != owner {
		return service.Lease{SessionID: sessionID, Owner: holder, Token: r.token}, false, nil
	}
	token := r.token
	if holder == "" {
		token++ // a new holder: a new fencing token
	}
	next := leaseRow{token: token, owner: owner, expiresNs: now + ttl.Nanoseconds(), running: true, last: owner}
	if err := l.st.setLease(sessionID, next); err != nil {
		return service.Lease{}, false, fmt.Errorf("sqlite leases: take %s: %w", sessionID, err)
	}
	return service.Lease{SessionID: sessionID, Owner: owner, Token: token, TTL: ttl}, true, nil
}

// Renew holds each lease again while it is still held (in memory only),
// or while it is free with no newer token and was not given up (End
// clears running, Handover the last owner): then the row is written.
func (l *Leases) Renew(ctx context.Context, ttl time.Duration, leases ...service.Lease) ([]bool, error) {
	for _, ls := range leases {
		if err := service.ValidateLease(ls.SessionID, ls.Owner, ttl); err != nil {
			return nil, err
		}
	}
	held := make([]bool, len(leases))
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	now := l.now()
	until := now + ttl.Nanoseconds()
	for i, ls := range leases {
		r, ok := l.st.leases[ls.SessionID]
		switch {
		case !ok:
		case r.owner == ls.Owner && r.token == ls.Token && r.expiresNs > now:
			r.expiresNs, held[i] = until, true
		case (r.owner == "" || r.expiresNs <= now) && r.token <= ls.Token && r.running && r.last == ls.Owner:
			next := leaseRow{token: ls.Token, owner: ls.Owner, expiresNs: until, running: true, last: ls.Owner}
			if err := l.st.setLease(ls.SessionID, next); err != nil {
				return nil, fmt.Errorf("sqlite leases: renew %s: %w", ls.SessionID, err)
			}
			held[i] = true
		}
	}
	return held, nil
}

func (l *Leases) End(ctx context.Context, ls service.Lease) error { return l.giveUp(ls, true) }

func (l *Leases) Handover(ctx context.Context, ls service.Lease) error {
	return l.giveUp(ls, false)
}

// giveUp frees ls if it is the current lease: for good (not running any
// more) or for another instance (running, with no last owner).
func (l *Leases) giveUp(ls service.Lease, end bool) error {
	if err := service.ValidateSessionID(ls.SessionID); err != nil {
		return err
	}
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	r := l.row(ls.SessionID)
	if holder := r.holder(l.now()); holder == "" || holder != ls.Owner || r.token != ls.Token {
		return nil
	}
	if err := l.st.setLease(ls.SessionID, leaseRow{token: r.token, running: !end}); err != nil {
		return fmt.Errorf("sqlite leases: give up %s: %w", ls.SessionID, err)
	}
	return nil
}

func (l *Leases) Orphans(ctx context.Context) (map[string]string, error) {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	now := l.now()
	out := map[string]string{}
	for id, r := range l.st.leases {
		if r.running && r.holder(now) == "" {
			out[id] = r.last
		}
	}
	return out, nil
}

func (l *Leases) Owner(ctx context.Context, sessionID string) (string, error) {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	return l.row(sessionID).holder(l.now()), nil
}

func (l *Leases) Owners(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	now := l.now()
	for _, id := range ids {
		if holder := l.row(id).holder(now); holder != "" {
			out[id] = holder
		}
	}
	return out, nil
}

func (l *Leases) Known(ctx context.Context) ([]string, error) {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	return slices.Sorted(maps.Keys(l.st.known)), nil
}

func (l *Leases) Register(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	if _, ok := l.st.known[sessionID]; ok {
		return nil
	}
	if err := l.st.write(func(e *encoder) { e.byte(recKnown); e.string(sessionID) }); err != nil {
		return fmt.Errorf("sqlite leases: register %s: %w", sessionID, err)
	}
	l.st.known[sessionID] = struct{}{}
	return nil
}

// Forget drops sessionID from the Known and the running set; its token
// stays, so a later holder still gets a greater one.
func (l *Leases) Forget(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	if err := l.st.write(func(e *encoder) { e.byte(recForget); e.string(sessionID) }); err != nil {
		return fmt.Errorf("sqlite leases: forget %s: %w", sessionID, err)
	}
	l.st.forget(sessionID)
	return nil
}
