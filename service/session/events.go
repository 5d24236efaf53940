package session

import (
	"context"
	"fmt"
	"sync"
	"time"

	"wagateway/service"
)

// Tick is how often Run checks QR expiry (more often when LeaseTTL/3 is
// shorter); a QR expires up to a Tick late. Leases have their own loops
// (ownership.go).
const Tick = time.Second

// Run consumes driver events and expires unscanned QR codes until ctx ends
// or the driver closes Events; beside it, two loops renew the leases of
// running sessions and stop those whose lease lapsed (ownership.go).
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); m.renewLoop(ctx) }()
	go func() { defer wg.Done(); m.guardLoop(ctx) }()

	events := m.deps.Driver.Events()
	tick := m.cfg.Clock.After(m.tickInterval())
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			m.handle(ctx, ev)
		case <-tick:
			m.expireQRs(ctx)
			tick = m.cfg.Clock.After(m.tickInterval())
		}
	}
}

func (m *Manager) tickInterval() time.Duration {
	return min(Tick, m.cfg.LeaseTTL/3)
}

// handle applies one driver event; it only does cache and outbox writes, so
// the driver's events keep flowing.
func (m *Manager) handle(ctx context.Context, ev service.DriverEvent) {
	if ev.At.IsZero() {
		ev.At = m.cfg.Clock.Now()
	}
	if m.earlierRun(ev) {
		return
	}
	switch ev.Type {
	case service.EventStarted:
		// A run already open, or a session not running here: nothing to do.
	case service.EventQR:
		m.onQR(ctx, ev)
	case service.EventConnected:
		m.transition(ctx, ev.SessionID, service.StatusActive, "", ev.At, false, func(s *managedSession) {
			s.jid, s.qr, s.pendingSince = ev.JID, nil, time.Time{}
		})
	case service.EventClosed:
		m.transition(ctx, ev.SessionID, service.StatusInactive, ev.Reason, ev.At, true, nil)
	case service.EventQRTimeout:
		reason := ev.Reason
		if reason == "" {
			reason = service.ReasonQRTimeout
		}
		m.transition(ctx, ev.SessionID, service.StatusExpired, reason, ev.At, true, nil)
	case service.EventReconnecting:
		// Laravel keeps "active": a short drop must not flap its status.
		m.log.Info("session reconnecting", "session_id", ev.SessionID, "detail", ev.Detail)
	default:
		m.log.Warn("unknown driver event ignored", "session_id", ev.SessionID, "event", string(ev.Type))
	}
}

// earlierRun reports whether ev is to be ignored because its session waits
// for the driver's EventStarted: an event queued before that marker belongs
// to the run before (the close of a pairing that raced its restart), and
// applied to the new run it would end it. The marker itself opens the run.
func (m *Manager) earlierRun(ev service.DriverEvent) bool {
	m.mu.Lock()
	s, ok := m.live[ev.SessionID]
	waiting := ok && s.awaitingRun
	if waiting && ev.Type == service.EventStarted {
		s.awaitingRun = false
	}
	m.mu.Unlock()
	if waiting && ev.Type != service.EventStarted {
		m.log.Debug("event of an earlier run ignored", "session_id", ev.SessionID, "event", string(ev.Type))
	}
	return waiting
}

func (m *Manager) onQR(ctx context.Context, ev service.DriverEvent) {
	id := ev.SessionID
	m.mu.Lock()
	s, ok := m.live[id]
	dup := ok && s.qr != nil && s.qr.Code == ev.Code
	m.mu.Unlock()
	switch {
	case !ok:
		m.log.Debug("qr for a session not running here ignored", "session_id", id)
		return
	case dup:
		m.log.Debug("identical qr ignored", "session_id", id)
		return
	}

	image, err := m.deps.Render(ev.Code)
	if err != nil {
		m.log.Error("render qr", "session_id", id, "err", err)
		return
	}
	qr := service.QR{SessionID: id, Code: ev.Code, Image: image, IssuedAt: ev.At, ExpiresAt: ev.ExpiresAt}

	m.mu.Lock()
	if m.live[id] != s { // stopped while rendering
		m.mu.Unlock()
		return
	}
	first := s.status != service.StatusPending
	s.qr = &qr
	if first {
		m.setStatus(s, service.StatusPending)
		s.reason, s.pendingSince, s.updatedAt = "", ev.At, ev.At
		m.pending.push(dueEntry{id: id, s: s, at: ev.At})
	}
	m.mu.Unlock()

	m.log.Info("qr generated", "session_id", id)
	for _, c := range m.qrCaches() {
		if err := c.SetQR(ctx, qr, m.cfg.TTL.QR); err != nil {
			m.log.Warn("cache qr", "session_id", id, "err", err)
		}
	}
	item := service.Update{Kind: service.KindQR, Lane: service.LaneFor(service.KindQR, ""), SessionID: id, QR: image, At: ev.At}
	if err := m.publish(ctx, item, s); err != nil {
		m.log.Error("publish qr", "session_id", id, "err", err)
	} else {
		m.log.Debug("qr added to batch", "session_id", id, "lane", string(item.Lane))
	}
	if first {
		_ = m.publishStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusPending, UpdatedAt: ev.At}, s)
	}
}

// transition moves a live session to status; end removes it from this
// instance (it is over) and releases its lease. A session already in status
// publishes nothing.
func (m *Manager) transition(ctx context.Context, id string, status service.Status, reason string, at time.Time, end bool, update func(*managedSession)) {
	m.mu.Lock()
	s, ok := m.live[id]
	if !ok {
		m.mu.Unlock()
		m.log.Debug("event for a session not running here ignored", "session_id", id, "estado_qr", string(status))
		return
	}
	if update != nil {
		update(s)
	}
	changed := s.status != status
	if changed {
		at = afterPrevious(s.updatedAt, at)
		m.setStatus(s, status)
		s.reason, s.updatedAt = reason, at
	}
	if end {
		m.retire(id, s)
	}
	m.mu.Unlock()

	if changed {
		_ = m.publishStatus(ctx, service.StatusRecord{SessionID: id, Status: status, Reason: reason, UpdatedAt: at}, s)
	}
	if end {
		m.end(ctx, s)
	}
}

// afterPrevious returns at, moved to the millisecond after prev when it is
// not later at millisecond precision (the precision Laravel stores). A session's
// changes can happen within one millisecond (a fast scan after the first QR);
// with equal times newest-wins could not order them, and Laravel could keep
// the older one since the two go on different lanes.
func afterPrevious(prev, at time.Time) time.Time {
	if prev.IsZero() {
		return at
	}
	floor := prev.Truncate(time.Millisecond).Add(time.Millisecond)
	if at.Before(floor) {
		return floor
	}
	return at
}

// expireQRs expires pairings nobody scanned within QR_EXPIRES and stops them;
// it pops only the due ones off m.pending, not every live session each tick.
func (m *Manager) expireQRs(ctx context.Context) {
	now := m.cfg.Clock.Now()
	expired := map[string]*managedSession{}
	m.mu.Lock()
	for {
		e, ok := m.pending.popDue(now.Add(-m.cfg.QRExpires))
		if !ok {
			break
		}
		s := e.s
		// A session that connected, stopped or paired again since it was
		// queued is not due (a new pairing has its own entry).
		if m.live[e.id] == s && s.status == service.StatusPending && s.pendingSince.Equal(e.at) {
			expired[e.id] = s
			m.retire(e.id, s)
		}
	}
	m.mu.Unlock()
	for id, s := range expired {
		if err := m.deps.Driver.Stop(ctx, id); err != nil {
			m.log.Warn("stop expired session", "session_id", id, "err", err)
		}
		_ = m.publishStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusExpired, Reason: service.ReasonQRExpired, UpdatedAt: now}, s)
		m.end(ctx, s)
	}
}

// publishStatus caches a status and hands it to the outbox, fenced by the
// lease of s (nil: a session not running here).
func (m *Manager) publishStatus(ctx context.Context, rec service.StatusRecord, s *managedSession) error {
	ttl := m.cfg.TTL.Status
	if rec.Status == service.StatusActive {
		ttl = m.cfg.TTL.Session
	}
	for _, c := range m.caches() {
		if err := c.SetStatus(ctx, rec, ttl); err != nil {
			m.log.Warn("cache status", "session_id", rec.SessionID, "err", err)
		}
	}
	item := service.Update{Kind: service.KindStatus, Lane: service.LaneFor(service.KindStatus, rec.Status), SessionID: rec.SessionID,
		Status: rec.Status, Reason: rec.Reason, At: rec.UpdatedAt}
	m.log.Info("status changed", "session_id", rec.SessionID, "estado_qr", string(rec.Status), "reason", rec.Reason)
	if err := m.publish(ctx, item, s); err != nil {
		m.log.Error("publish status", "session_id", rec.SessionID, "err", err)
		return fmt.Errorf("publish status of %s: %w", rec.SessionID, err)
	}
	return nil
}
