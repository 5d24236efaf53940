package session

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"wagateway/service"
)

// Ownership: every session runs on one instance, the holder of its lease.
// The lease is taken in Start, renewed in the background every LeaseTTL/3,
// and every update of the session carries it, so Redis refuses updates
// from an instance that lost it (a fenced write). An instance that cannot
// confirm a renewal for nearly LeaseTTL stops the session itself before
// anyone else may take it: a paused or cut-off instance never runs a
// session another instance runs.

// renewChunk bounds one renewal call: a pipeline of this many leases.
const renewChunk = 500

// lease takes the session's lease for s, or says who holds it.
func (m *Manager) lease(ctx context.Context, id string, s *managedSession) error {
	sent := m.cfg.Clock.Now()
	lease, ok, err := m.deps.Leases.Take(ctx, id, m.cfg.Instance, m.cfg.LeaseTTL)
	if err != nil {
		return fmt.Errorf("lease session %s: %w", id, err)
	}
	if !ok {
		owner := lease.Owner
		if owner == "" {
			owner = "another instance"
		}
		return service.Errorf(service.ECONFLICT, "session %s is run by %s", id, owner)
	}
	m.mu.Lock()
	s.lease, s.renewedAt, s.renewSent = lease, sent, sent
	// Pushed even if s stopped meanwhile: the ticks drop entries of
	// sessions no longer live.
	m.renewDue.push(dueEntry{id: id, s: s, at: sent})
	m.guardDue.push(dueEntry{id: id, s: s, at: sent})
	m.mu.Unlock()
	return nil
}

// end gives the lease of s up for good; s ended here.
func (m *Manager) end(ctx context.Context, s *managedSession) {
	if s == nil || !s.lease.Valid() {
		return
	}
	id := s.lease.SessionID
	defer func() {
		m.mu.Lock()
		if e := m.ending[id]; e != nil && e.s == s {
			close(e.done)
			delete(m.ending, id)
		}
		m.mu.Unlock()
	}()
	if err := m.deps.Leases.End(ctx, s.lease); err != nil {
		m.log.Warn("end lease", "session_id", id, "err", err)
	}
}

// publish hands u to the outbox fenced by the lease of s; a refusal
// (ECONFLICT: another instance holds the lease now) stops s here at once.
func (m *Manager) publish(ctx context.Context, u service.Update, s *managedSession) error {
	if s != nil && s.lease.Valid() {
		lease := s.lease
		u.Lease = &lease
	}
	err := m.deps.Publisher.Publish(ctx, u)
	if err != nil && s != nil && service.ErrorCode(err) == service.ECONFLICT {
		m.lost(ctx, u.SessionID, s, "the outbox refused an update: another instance holds the lease")
	}
	return err
}

// lost stops s here without a status (its new owner reports it) unless it
// is gone already.
func (m *Manager) lost(ctx context.Context, id string, s *managedSession, why string) {
	if m.dropLost(id, s, why) {
		m.stopDriver(ctx, id)
	}
}

// dropLost takes s out of the running sessions, unless it is gone already.
func (m *Manager) dropLost(id string, s *managedSession, why string) bool {
	if !m.drop(id, s) {
		return false
	}
	m.log.Warn("lease lost, session stopped here", "session_id", id, "why", why)
	return true
}

func (m *Manager) stopDriver(ctx context.Context, id string) {
	if err := m.deps.Driver.Stop(ctx, id); err != nil {
		m.log.Warn("stop session", "session_id", id, "err", err)
	}
}

// guardTick is how often the guard looks for lapsed leases: a tenth of the
// lease, at most a second.
func (m *Manager) guardTick() time.Duration { return min(time.Second, m.cfg.LeaseTTL/10) }

// renewLoop renews, every guardTick until ctx ends, the leases whose last
// renewal went out about LeaseTTL/3 ago. Each lease keeps the phase of its
// Take: renewed all together, an instance's leases would all lapse in the
// same second when it dies, and the survivors would have to restart every
// one of its sessions at once (9.8 s past LEASE_TTL for 17,659 sessions on
// 3 survivors); spread, they lapse over LeaseTTL/3 and are restarted as
// they do.
func (m *Manager) renewLoop(ctx context.Context) {
	tick := m.guardTick()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.cfg.Clock.After(tick):
			m.renewLeases(ctx, tick)
		}
	}
}

// renewLeases renews the leases due by the next tick, in a few round trips;
// a session whose lease another instance took is stopped here. A failed
// call (Redis away) changes nothing: the lease is due again LeaseTTL/3
// later, and the guard stops the session if the outage lasts.
func (m *Manager) renewLeases(ctx context.Context, tick time.Duration) {
	type held struct {
		id string
		s  *managedSession
	}
	now := m.cfg.Clock.Now()
	// Due: now - renewSent + tick > LeaseTTL/3.
	cutoff := now.Add(tick - m.cfg.LeaseTTL/3 - time.Nanosecond)
	m.mu.Lock()
	var all []held
	for {
		e, ok := m.renewDue.popDue(cutoff)
		if !ok {
			break
		}
		if s := e.s; m.live[e.id] == s && s.lease.Valid() && s.renewSent.Equal(e.at) {
			s.renewSent = now
			m.renewDue.push(dueEntry{id: e.id, s: s, at: now})
			all = append(all, held{e.id, s})
		}
	}
	m.mu.Unlock()
	for chunk := range slices.Chunk(all, renewChunk) {
		leases := make([]service.Lease, len(chunk))
		for i, h := range chunk {
			leases[i] = h.s.lease
		}
		sent := m.cfg.Clock.Now()
		rctx, cancel := context.WithTimeout(ctx, m.cfg.LeaseTTL/3)
		ok, err := m.deps.Leases.Renew(rctx, m.cfg.LeaseTTL, leases...)
		cancel()
		if err != nil {
			m.log.Warn("renew leases", "sessions", len(chunk), "err", err)
			continue
		}
		m.mu.Lock()
		for i, h := range chunk {
			if ok[i] && m.live[h.id] == h.s {
				h.s.renewedAt = sent // its guard entry moves when it comes up
			}
		}
		m.mu.Unlock()
		for i, h := range chunk {
			if !ok[i] {
				m.lost(ctx, h.id, h.s, "another instance holds the lease")
			}
		}
	}
}

// guardLoop stops, every guardTick, the sessions whose last confirmed
// renewal is so old that the lease may lapse before the next check: they
// stop here before another instance can take them over.
//
// Each lapsed session leaves the running ones on the tick, and its driver
// stops apart: a driver's Stop may wait on the very outage that lapsed the
// lease (the simulator saves its devices in Redis), and must not hold up
// the guard's next ticks for the other sessions (the e2e partition scenario
// saw a session outlive its lease by 2 s behind such a Stop).
func (m *Manager) guardLoop(ctx context.Context) {
	var stopping sync.WaitGroup
	defer stopping.Wait()
	tick := m.guardTick()
	limit := m.cfg.LeaseTTL - 2*tick
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-m.cfg.Clock.After(tick):
			type lapsed struct {
				id string
				s  *managedSession
			}
			var out []lapsed
			m.mu.Lock()
			for {
				// Lapsed: now - renewedAt >= limit.
				e, ok := m.guardDue.popDue(now.Add(-limit))
				if !ok {
					break
				}
				s := e.s
				switch {
				case m.live[e.id] != s || !s.lease.Valid():
				case s.renewedAt.After(e.at): // renewed since: due later
					m.guardDue.push(dueEntry{id: e.id, s: s, at: s.renewedAt})
				default:
					out = append(out, lapsed{e.id, s})
				}
			}
			m.mu.Unlock()
			for _, l := range out {
				if m.dropLost(l.id, l.s, "no renewal confirmed within LEASE_TTL: the lease may have lapsed") {
					stopping.Go(func() { m.stopDriver(ctx, l.id) })
				}
			}
		}
	}
}
