package session

import (
	"context"
	"sort"
	"time"

	"wagateway/service"
)

// Session answers what the gateway knows about one session: the session
// running in this process first, then L1, then L2, then Laravel's GET
// status, filling the caches on the way. Source says which level answered;
// a session nobody knows is ENOTFOUND with SourceNone.
func (m *Manager) Session(ctx context.Context, id string) (service.Session, service.Source, error) {
	if err := service.ValidateSessionID(id); err != nil {
		return service.Session{}, service.SourceNone, err
	}
	m.mu.Lock()
	if s, ok := m.live[id]; ok {
		out := s.session(id)
		m.mu.Unlock()
		return out, service.SourceLive, nil
	}
	m.mu.Unlock()

	if out, ok := m.cached(ctx, m.deps.L1, id); ok {
		return out, service.SourceL1, nil
	}
	if m.deps.L2 != nil {
		if out, ok := m.cached(ctx, m.deps.L2, id); ok {
			m.fill(ctx, m.deps.L1, out, m.cfg.TTL.Status)
			return out, service.SourceL2, nil
		}
	}

	rec, err := m.deps.Laravel.SessionStatus(ctx, id)
	switch {
	case service.ErrorCode(err) == service.ENOTFOUND:
		return service.Session{ID: id}, service.SourceNone, service.Errorf(service.ENOTFOUND, "session %s not found", id)
	case err != nil:
		m.log.Warn("laravel status lookup", "session_id", id, "err", err)
		return service.Session{ID: id}, service.SourceNone, service.Errorf(service.EUNAVAILABLE, "cannot look up session %s: service.Laravel is unreachable", id)
	}
	out := service.Session{ID: id, Status: rec.Status, Reason: rec.Reason, UpdatedAt: rec.UpdatedAt}
	for _, c := range m.caches() {
		m.fill(ctx, c, out, m.cfg.TTL.Connection)
	}
	return out, service.SourceLaravel, nil
}

// IsSessionActive is the seed's isSessionActive: Session reduced to a yes/no.
// A session nobody knows is not active (SourceNone, no error).
func (m *Manager) IsSessionActive(ctx context.Context, id string) (bool, service.Source, error) {
	s, src, err := m.Session(ctx, id)
	switch {
	case service.ErrorCode(err) == service.ENOTFOUND:
		return false, service.SourceNone, nil
	case err != nil:
		return false, src, err
	}
	return s.Status == service.StatusActive, src, nil
}

// cached reads one cache level; an error counts as a miss (and is logged).
func (m *Manager) cached(ctx context.Context, c service.Cache, id string) (service.Session, bool) {
	rec, ok, err := c.GetStatus(ctx, id)
	if err != nil {
		m.log.Warn("cache status lookup", "session_id", id, "err", err)
		return service.Session{}, false
	}
	if !ok {
		return service.Session{}, false
	}
	out := service.Session{ID: id, Status: rec.Status, Reason: rec.Reason, UpdatedAt: rec.UpdatedAt}
	if rec.Status == service.StatusPending && m.keepsQRs(c) {
		if qr, ok, err := c.GetQR(ctx, id); err == nil && ok {
			out.QR = &qr
		}
	}
	return out, true
}

func (m *Manager) fill(ctx context.Context, c service.Cache, s service.Session, ttl time.Duration) {
	rec := service.StatusRecord{SessionID: s.ID, Status: s.Status, Reason: s.Reason, UpdatedAt: s.UpdatedAt}
	if err := c.SetStatus(ctx, rec, ttl); err != nil {
		m.log.Warn("cache fill", "session_id", s.ID, "err", err)
	}
	if s.QR != nil && m.keepsQRs(c) {
		// A code is short-lived: never cache it longer than CACHE_TTL_QR.
		if err := c.SetQR(ctx, *s.QR, min(ttl, m.cfg.TTL.QR)); err != nil {
			m.log.Warn("cache fill qr", "session_id", s.ID, "err", err)
		}
	}
}

// Local lists the sessions running in this process, by id: those holding
// their lease (a Start still waiting for it, or refused it, is not running).
func (m *Manager) Local() []service.Session {
	m.mu.Lock()
	out := make([]service.Session, 0, len(m.live))
	for id, s := range m.live {
		if s.lease.Valid() {
			out = append(out, s.session(id))
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Sessions lists the sessions running here and every registered one (of
// every instance sharing the lease store), by id.
// Sessions not running here show what the caches know (no Laravel call);
// Status is empty when they know nothing.
func (m *Manager) Sessions(ctx context.Context) ([]service.Session, error) {
	m.mu.Lock()
	out := make([]service.Session, 0, len(m.live))
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
	var elsewhere []string
	for _, id := range known {
		if !seen[id] {
			elsewhere = append(elsewhere, id)
		}
	}
	// Sessions other instances run: one read says which instance.
	owners := map[string]string{}
	if len(elsewhere) > 0 {
		if owners, err = m.deps.Leases.Owners(ctx, elsewhere); err != nil {
			m.log.Warn("owners of sessions", "err", err)
		}
	}
	for _, s := range m.cachedMany(ctx, elsewhere) {
		s.Instance = owners[s.ID]
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// cachedMany reads what the caches know of ids (L1, then L2), in ids'
// order; a session neither knows has only its ID. An L2 that reads in
// batches (service.StatusBatcher) answers all L1 misses in few round
// trips instead of one each.
func (m *Manager) cachedMany(ctx context.Context, ids []string) []service.Session {
	out := make([]service.Session, len(ids))
	var misses []int
	for i, id := range ids {
		s, ok := m.cached(ctx, m.deps.L1, id)
		if !ok {
			s = service.Session{ID: id}
			misses = append(misses, i)
		}
		out[i] = s
	}
	if m.deps.L2 == nil || len(misses) == 0 {
		return out
	}
	batch, ok := m.deps.L2.(service.StatusBatcher)
	if !ok {
		for _, i := range misses {
			if s, ok := m.cached(ctx, m.deps.L2, ids[i]); ok {
				out[i] = s
			}
		}
		return out
	}
	missed := make([]string, len(misses))
	for j, i := range misses {
		missed[j] = ids[i]
	}
	recs, err := batch.GetStatuses(ctx, missed)
	if err != nil {
		m.log.Warn("cache status lookup", "sessions", len(missed), "err", err)
	}
	for _, i := range misses {
		rec, ok := recs[ids[i]]
		if !ok {
			continue
		}
		s := service.Session{ID: ids[i], Status: rec.Status, Reason: rec.Reason, UpdatedAt: rec.UpdatedAt}
		if rec.Status == service.StatusPending && m.keepsQRs(m.deps.L2) {
			if qr, ok, err := m.deps.L2.GetQR(ctx, ids[i]); err == nil && ok {
				s.QR = &qr
			}
		}
		out[i] = s
	}
	return out
}
