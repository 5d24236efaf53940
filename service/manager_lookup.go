package service

import (
	"context"
	"sort"
	"time"
)

// Session answers what the gateway knows about one session: the session
// running in this process first, then L1, then L2, then Laravel's GET
// status, filling the caches on the way. Source says which level answered;
// a session nobody knows is ENOTFOUND with SourceNone.
func (m *Manager) Session(ctx context.Context, id string) (Session, Source, error) {
	if err := ValidateSessionID(id); err != nil {
		return Session{}, SourceNone, err
	}
	m.mu.Lock()
	if s, ok := m.live[id]; ok {
		out := s.session(id)
		m.mu.Unlock()
		return out, SourceLive, nil
	}
	m.mu.Unlock()

	if out, ok := m.cached(ctx, m.deps.L1, id); ok {
		return out, SourceL1, nil
	}
	if m.deps.L2 != nil {
		if out, ok := m.cached(ctx, m.deps.L2, id); ok {
			m.fill(ctx, m.deps.L1, out, m.cfg.TTL.Status)
			return out, SourceL2, nil
		}
	}

	rec, err := m.deps.Laravel.SessionStatus(ctx, id)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return Session{ID: id}, SourceNone, Errorf(ENOTFOUND, "session %s not found", id)
	case err != nil:
		m.log.Warn("laravel status lookup", "session_id", id, "err", err)
		return Session{ID: id}, SourceNone, Errorf(EUNAVAILABLE, "cannot look up session %s: Laravel is unreachable", id)
	}
	out := Session{ID: id, Status: rec.Status, Reason: rec.Reason, UpdatedAt: rec.UpdatedAt}
	for _, c := range m.caches() {
		m.fill(ctx, c, out, m.cfg.TTL.Connection)
	}
	return out, SourceLaravel, nil
}

// IsSessionActive is the seed's isSessionActive: Session reduced to a yes/no.
// A session nobody knows is not active (SourceNone, no error).
func (m *Manager) IsSessionActive(ctx context.Context, id string) (bool, Source, error) {
	s, src, err := m.Session(ctx, id)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return false, SourceNone, nil
	case err != nil:
		return false, src, err
	}
	return s.Status == StatusActive, src, nil
}

// cached reads one cache level; an error counts as a miss (and is logged).
func (m *Manager) cached(ctx context.Context, c Cache, id string) (Session, bool) {
	rec, ok, err := c.GetStatus(ctx, id)
	if err != nil {
		m.log.Warn("cache status lookup", "session_id", id, "err", err)
		return Session{}, false
	}
	if !ok {
		return Session{}, false
	}
	out := Session{ID: id, Status: rec.Status, Reason: rec.Reason, UpdatedAt: rec.UpdatedAt}
	if rec.Status == StatusPending {
		if qr, ok, err := c.GetQR(ctx, id); err == nil && ok {
			out.QR = &qr
		}
	}
	return out, true
}

func (m *Manager) fill(ctx context.Context, c Cache, s Session, ttl time.Duration) {
	rec := StatusRecord{SessionID: s.ID, Status: s.Status, Reason: s.Reason, UpdatedAt: s.UpdatedAt}
	if err := c.SetStatus(ctx, rec, ttl); err != nil {
		m.log.Warn("cache fill", "session_id", s.ID, "err", err)
	}
	if s.QR != nil {
		// A code is short-lived: never cache it longer than CACHE_TTL_QR.
		if err := c.SetQR(ctx, *s.QR, min(ttl, m.cfg.TTL.QR)); err != nil {
			m.log.Warn("cache fill qr", "session_id", s.ID, "err", err)
		}
	}
}

// Sessions lists the sessions running here and every registered one, by id.
// Sessions not running here show what the caches know (no Laravel call);
// Status is empty when they know nothing.
func (m *Manager) Sessions(ctx context.Context) ([]Session, error) {
	m.mu.Lock()
	out := make([]Session, 0, len(m.live))
	seen := make(map[string]bool, len(m.live))
	for id, s := range m.live {
		out = append(out, s.session(id))
		seen[id] = true
	}
	m.mu.Unlock()

	known, err := m.deps.Leases.Known(ctx)
	if err != nil {
		m.log.Warn("list known sessions", "err", err)
	}
	for _, id := range known {
		if seen[id] {
			continue
		}
		seen[id] = true
		s, ok := m.cached(ctx, m.deps.L1, id)
		if !ok && m.deps.L2 != nil {
			s, ok = m.cached(ctx, m.deps.L2, id)
		}
		if !ok {
			s = Session{ID: id}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
