package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"wagateway/service"
)

// Config tunes the session manager. It has no defaults of its own (they
// live in service/config); New rejects a config with a setting unset.
type Config struct {
	// Instance names this gateway in session leases (INSTANCE_ID).
	Instance string
	// QRThrottle: a repeated Start within it returns the current QR instead
	// of pairing again (QR_THROTTLE); 0 means no throttle, so only a still
	// valid code keeps a repeated Start from pairing again.
	QRThrottle time.Duration
	// QRExpires: a pairing not scanned within it is expired (QR_EXPIRES).
	QRExpires time.Duration
	TTL       CacheTTL
	// LeaseTTL is how long a session lease outlives this instance; the
	// manager renews its leases every LeaseTTL/3, and stops a session whose
	// renewal Redis has not confirmed for nearly LeaseTTL.
	LeaseTTL time.Duration
	// MaxSessions caps the sessions running here (MAX_SESSIONS); 0 = no cap.
	MaxSessions int
	// SharedL2 says other instances read L2 (Redis): pairing codes go
	// there too, since a code of a session running elsewhere can still be
	// scanned. An L2 of this process alone (the embedded store) keeps
	// statuses only: it outlives the process, and a code does not (it
	// belongs to the connection that showed it), so a restart would show
	// codes no phone can pair with.
	SharedL2 bool
	Clock    service.Clock // service.SystemClock when nil
}

// CacheTTL is how long each kind of cache entry lives (CACHE_TTL_*).
type CacheTTL struct {
	QR         time.Duration // a rendered QR code
	Status     time.Duration // a status this instance produced
	Connection time.Duration // a status Laravel told us (someone else's truth)
	Session    time.Duration // an active session's status: it changes rarely
}

// Validate reports the first unusable setting, naming it.
func (c Config) Validate() error {
	switch {
	case c.Instance == "":
		return service.Errorf(service.EINVALID, "session manager needs an instance name")
	case c.QRThrottle < 0:
		return service.Errorf(service.EINVALID, "QR throttle must not be negative, got %s", c.QRThrottle)
	case c.QRExpires <= 0:
		return service.Errorf(service.EINVALID, "QR expiry must be positive, got %s", c.QRExpires)
	case c.TTL.QR <= 0, c.TTL.Status <= 0, c.TTL.Connection <= 0, c.TTL.Session <= 0:
		return service.Errorf(service.EINVALID, "cache TTLs must be positive, got %+v", c.TTL)
	case c.LeaseTTL <= 0:
		return service.Errorf(service.EINVALID, "lease TTL must be positive, got %s", c.LeaseTTL)
	case c.MaxSessions < 0:
		return service.Errorf(service.EINVALID, "max sessions must not be negative, got %d", c.MaxSessions)
	}
	return nil
}

// Deps are the manager's collaborators.
type Deps struct {
	Driver    service.Driver
	L1        service.Cache
	L2        service.Cache // nil without Redis
	Publisher service.Publisher
	Laravel   service.Laravel
	Leases    service.Leases
	Render    service.QRRenderer
	Logger    *slog.Logger // discards when nil
}

// Manager runs the WhatsApp sessions of this instance: it starts them,
// turns driver events into cached statuses and outbox updates, expires
// unscanned QR codes and answers status questions through the cache levels.
// It is the Go rewrite of the seed's whatsappManager.
type Manager struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	mu   sync.Mutex
	live map[string]*managedSession
	// shown counts live by shownStatus, kept with every change of live or
	// of a status: a metrics scrape reads it instead of walking 10,000
	// sessions under mu.
	shown map[service.Status]int
	// ending holds the sessions taken out of live whose lease is still
	// being given up: a Start of the same id waits for it, or it would keep
	// that very lease (same owner, same token) and lose it to the End.
	ending map[string]*endingSession
	// pending queues the pairings by their first QR, for expireQRs.
	pending dueQueue
	// renewDue queues the leases held here by renewSent, for renewLeases;
	// guardDue by renewedAt, for the guard. Each holds one entry per
	// session: a renewal re-queues its session as it pops it, and the
	// guard re-queues a session renewed since its entry when it comes up.
	renewDue, guardDue dueQueue
	// marksRuns: the driver sends EventStarted first for every Start
	// (service.RunMarker), so a new run ignores the events before it.
	marksRuns bool
}

// endingSession is a session between leaving live and the end of its lease.
type endingSession struct {
	s    *managedSession
	done chan struct{} // closed once its lease is given up
}

// managedSession is a session driven by this process.
type managedSession struct {
	status       service.Status // "" until the first QR or connection
	reason       string
	jid          string
	qr           *service.QR
	startedAt    time.Time // last pairing start, for QR_THROTTLE
	pendingSince time.Time // first QR of this pairing, for QR_EXPIRES
	updatedAt    time.Time
	lease        service.Lease // this instance's hold on the session
	renewedAt    time.Time     // when the last confirmed renewal was sent
	renewSent    time.Time     // when the last renewal (or the Take) was sent
	awaitingRun  bool          // until the driver's EventStarted: events are an earlier run's
}

// New returns a manager; call Run to consume driver events. It fails when
// cfg is not valid (see Config.Validate).
func New(cfg Config, deps Deps) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("session manager config: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = service.SystemClock{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	rm, marks := deps.Driver.(service.RunMarker)
	return &Manager{
		cfg:       cfg,
		deps:      deps,
		log:       deps.Logger.With("component", "manager"),
		live:      map[string]*managedSession{},
		shown:     map[service.Status]int{},
		ending:    map[string]*endingSession{},
		marksRuns: marks && rm.MarksRuns(),
	}, nil
}

// Start starts pairing (or reconnects a paired device) and returns the
// session as it is now. It is idempotent: a session already running here
// is returned as it is, without pairing again.
func (m *Manager) Start(ctx context.Context, id string) (service.Session, error) {
	if err := service.ValidateSessionID(id); err != nil {
		return service.Session{}, err
	}
	now := m.cfg.Clock.Now()

	m.mu.Lock()
	if s, ok := m.live[id]; ok {
		fresh := now.Sub(s.startedAt) < m.cfg.QRThrottle || (s.qr != nil && s.qr.ExpiresAt.After(now))
		if s.status == service.StatusActive || fresh {
			snap := s.session(id)
			m.mu.Unlock()
			if snap.Status != service.StatusActive { // not s.status: the event loop writes it under m.mu
				m.log.Info("duplicate start ignored", "session_id", id, "estado_qr", string(snap.Status))
			}
			return snap, nil
		}
		// The pairing went stale (no valid code after the throttle): pair again.
		m.unlive(id)
		m.mu.Unlock()
		if err := m.deps.Driver.Stop(ctx, id); err != nil {
			m.log.Warn("stop stale pairing", "session_id", id, "err", err)
		}
		m.mu.Lock()
	}
	for e := m.ending[id]; e != nil; e = m.ending[id] {
		m.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return service.Session{}, fmt.Errorf("start session %s: wait for its previous run to end: %w", id, ctx.Err())
		}
		m.mu.Lock()
	}
	if _, ok := m.live[id]; ok { // another Start won the race while unlocked
		snap := m.live[id].session(id)
		m.mu.Unlock()
		m.log.Info("duplicate start ignored", "session_id", id, "estado_qr", string(snap.Status))
		return snap, nil
	}
	if m.cfg.MaxSessions > 0 && len(m.live) >= m.cfg.MaxSessions {
		m.mu.Unlock()
		return service.Session{}, service.Errorf(service.EUNAVAILABLE,
			"this instance runs MAX_SESSIONS (%d) sessions already", m.cfg.MaxSessions)
	}
	s := &managedSession{startedAt: now, updatedAt: now, awaitingRun: m.marksRuns}
	m.setLive(id, s) // reserved, so a concurrent Start is a duplicate
	m.mu.Unlock()

	if err := m.lease(ctx, id, s); err != nil {
		m.drop(id, s)
		return service.Session{}, err
	}
	if err := m.deps.Leases.Register(ctx, id); err != nil {
		m.log.Warn("register session", "session_id", id, "err", err)
	}
	if err := m.deps.Driver.Start(ctx, id); err != nil {
		m.drop(id, s)
		m.end(ctx, s)
		return service.Session{}, fmt.Errorf("start session %s: %w", id, err)
	}
	m.mu.Lock()
	closed := m.live[id] != s
	m.mu.Unlock()
	if closed {
		// Close (or a Stop) took the reservation while the lease was on its
		// way: this instance is leaving, so hand the session to the others.
		if err := m.deps.Driver.Stop(ctx, id); err != nil {
			m.log.Warn("stop session", "session_id", id, "err", err)
		}
		if err := m.deps.Leases.Handover(ctx, s.lease); err != nil {
			m.log.Warn("hand session over", "session_id", id, "err", err)
		}
		return service.Session{}, service.Errorf(service.EUNAVAILABLE, "instance %s is stopping; retry", m.cfg.Instance)
	}
	m.log.Info("session started", "session_id", id)
	m.mu.Lock()
	snap := s.session(id)
	m.mu.Unlock()
	return snap, nil
}

// drop forgets s unless a newer entry replaced it; it reports whether it did.
func (m *Manager) drop(id string, s *managedSession) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live[id] != s {
		return false
	}
	m.unlive(id)
	return true
}

// take removes and returns the live session id, nil when not running here;
// the caller ends its lease (end).
func (m *Manager) take(id string) *managedSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.live[id]
	if s != nil {
		m.retire(id, s)
	}
	return s
}

// retire takes s out of live until end gives its lease up; m.mu is held.
func (m *Manager) retire(id string, s *managedSession) {
	m.unlive(id)
	if s.lease.Valid() {
		m.ending[id] = &endingSession{s: s, done: make(chan struct{})}
	}
}

// Stop disconnects a running session and keeps its device: status inactive
// (reason stopped).
func (m *Manager) Stop(ctx context.Context, id string) error {
	if err := service.ValidateSessionID(id); err != nil {
		return err
	}
	s := m.take(id)
	if s == nil {
		return service.Errorf(service.ENOTFOUND, "session %s is not running here", id)
	}
	return m.stop(ctx, id, s, service.ReasonStopped)
}

// stop disconnects s (already taken from live), publishes its inactive
// status while its lease still fences the write, then ends the lease.
func (m *Manager) stop(ctx context.Context, id string, s *managedSession, reason string) error {
	err := m.deps.Driver.Stop(ctx, id)
	if err != nil {
		err = fmt.Errorf("stop session %s: %w", id, err)
	}
	rec := service.StatusRecord{SessionID: id, Status: service.StatusInactive, Reason: reason, UpdatedAt: afterPrevious(s.updatedAt, m.cfg.Clock.Now())}
	err = errors.Join(err, m.publishStatus(ctx, rec, s))
	m.end(ctx, s)
	return err
}

// Logout unlinks the device from the phone and forgets the session: status
// inactive (reason logout) published and cached, lease released.
func (m *Manager) Logout(ctx context.Context, id string) error {
	if err := m.known(ctx, id); err != nil {
		return err
	}
	s := m.take(id)
	if err := m.deps.Driver.Logout(ctx, id); err != nil {
		if s != nil {
			m.end(ctx, s)
		}
		return fmt.Errorf("logout session %s: %w", id, err)
	}
	// Forget before publishing: publishStatus caches the final status, so a
	// lookup answers inactive instead of asking Laravel (which may not have it
	// yet) and caching its older answer.
	m.forget(ctx, id)
	rec := service.StatusRecord{SessionID: id, Status: service.StatusInactive, Reason: service.ReasonLogout, UpdatedAt: m.cfg.Clock.Now()}
	err := m.publishStatus(ctx, rec, s)
	m.end(ctx, s)
	m.log.Info("session logged out", "session_id", id)
	return err
}

// Delete stops the session, unlinks its device (or Restore would bring it
// back at the next start-up) and forgets it.
func (m *Manager) Delete(ctx context.Context, id string) error {
	if err := m.known(ctx, id); err != nil {
		return err
	}
	s := m.take(id)
	m.forget(ctx, id) // before stop caches the final status, as in Logout
	var err error
	if s != nil {
		err = m.stop(ctx, id, s, service.ReasonStopped)
	}
	if lerr := m.deps.Driver.Logout(ctx, id); lerr != nil {
		err = errors.Join(err, fmt.Errorf("unlink session %s: %w", id, lerr))
	}
	m.log.Info("session deleted", "session_id", id)
	return err
}

// known returns ENOTFOUND unless id runs here, is registered, or has a device.
func (m *Manager) known(ctx context.Context, id string) error {
	if err := service.ValidateSessionID(id); err != nil {
		return err
	}
	m.mu.Lock()
	_, ok := m.live[id]
	m.mu.Unlock()
	if ok {
		return nil
	}
	ids, err := m.deps.Leases.Known(ctx)
	if err != nil {
		return fmt.Errorf("list known sessions: %w", err)
	}
	paired, err := m.deps.Driver.Paired(ctx)
	if err != nil {
		return fmt.Errorf("list paired sessions: %w", err)
	}
	for _, k := range append(ids, paired...) {
		if k == id {
			return nil
		}
	}
	return service.Errorf(service.ENOTFOUND, "session %s not found", id)
}

// forget drops every trace of id: caches, the Known and the running set
// (the caller ends the lease once its last update is published).
func (m *Manager) forget(ctx context.Context, id string) {
	for _, c := range m.caches() {
		if err := c.Invalidate(ctx, id); err != nil {
			m.log.Warn("invalidate cache", "session_id", id, "err", err)
		}
	}
	if err := m.deps.Leases.Forget(ctx, id); err != nil {
		m.log.Warn("forget session", "session_id", id, "err", err)
	}
}

// Restore restarts, at start-up, every paired session this instance can
// lease; sessions another instance runs are left to it. It returns how many
// sessions it started.
func (m *Manager) Restore(ctx context.Context) (int, error) {
	ids, err := m.deps.Driver.Paired(ctx)
	if err != nil {
		return 0, fmt.Errorf("list paired sessions: %w", err)
	}
	sort.Strings(ids)
	n := 0
	var errs []error
	for _, id := range ids {
		_, err := m.Start(ctx, id)
		switch {
		case err == nil:
			n++
		case service.ErrorCode(err) == service.ECONFLICT:
			m.log.Info("session left to its owner", "session_id", id, "err", err)
		case service.ErrorCode(err) == service.EUNAVAILABLE && m.cfg.MaxSessions > 0:
			// Full (MAX_SESSIONS): the others take the rest over.
			m.log.Info("sessions left to other instances", "session_id", id, "err", err)
			m.log.Info("sessions restored", "restored", n, "paired", len(ids))
			return n, errors.Join(errs...)
		default:
			errs = append(errs, err)
		}
	}
	m.log.Info("sessions restored", "restored", n, "paired", len(ids))
	return n, errors.Join(errs...)
}

// closeParallel is how many sessions Close stops or hands over at once.
const closeParallel = 16

// Close stops every session of this instance (keeping devices). With
// handover (other instances are alive) it publishes nothing and hands each
// lease over, so the others take the sessions at once and Laravel sees no
// inactive flap; otherwise (the last instance standing) it publishes their
// inactive status (reason stopped) and ends their leases. The driver stays
// open.
func (m *Manager) Close(ctx context.Context, handover bool) error {
	m.mu.Lock()
	taken := m.live
	m.live, m.shown = map[string]*managedSession{}, map[service.Status]int{}
	m.mu.Unlock()
	ids := make([]string, 0, len(taken))
	for id := range taken {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// A few sessions at once: each is a driver stop and a Redis round trip
	// or two, an instance may hold tens of thousands, and all of it must
	// fit in SHUTDOWN_TIMEOUT (one at a time, what it missed would wait
	// for its lease to lapse instead of moving at once).
	errs := make([]error, len(ids))
	slots := make(chan struct{}, closeParallel)
	var wg sync.WaitGroup
	for i, id := range ids {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[i] = m.leave(ctx, id, taken[id], handover)
		})
	}
	wg.Wait()
	if handover {
		m.log.Info("sessions handed over", "count", len(ids))
	} else {
		m.log.Info("sessions stopped", "count", len(ids))
	}
	return errors.Join(errs...)
}

// leave takes one session off this instance for Close: stopped with its
// inactive status, or with handover, stopped silently and its lease handed
// over.
func (m *Manager) leave(ctx context.Context, id string, s *managedSession, handover bool) error {
	if !handover {
		return m.stop(ctx, id, s, service.ReasonStopped)
	}
	var errs []error
	if err := m.deps.Driver.Stop(ctx, id); err != nil {
		errs = append(errs, fmt.Errorf("stop session %s: %w", id, err))
	}
	if s.lease.Valid() {
		if err := m.deps.Leases.Handover(ctx, s.lease); err != nil {
			errs = append(errs, fmt.Errorf("hand session %s over: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// PairPhone starts the session if needed and returns the code the user
// types on the phone, when the driver can pair by phone number.
func (m *Manager) PairPhone(ctx context.Context, id, phone string) (string, error) {
	pairer, ok := m.deps.Driver.(service.PhonePairer)
	if !ok {
		return "", service.Errorf(service.EINVALID, "this driver cannot pair by phone number")
	}
	if !validPhone(phone) {
		return "", service.Errorf(service.EINVALID, "phone must be 7 to 15 digits with country code, got %q", truncate(phone, 20))
	}
	if _, err := m.Start(ctx, id); err != nil {
		return "", err
	}
	code, err := pairer.PairPhone(ctx, id, phone)
	if err != nil {
		return "", fmt.Errorf("pair session %s by phone: %w", id, err)
	}
	return code, nil
}

// CanPairPhone reports whether the driver pairs by phone number.
func (m *Manager) CanPairPhone() bool {
	_, ok := m.deps.Driver.(service.PhonePairer)
	return ok
}

func validPhone(p string) bool {
	if len(p) < 7 || len(p) > 15 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Running counts the sessions running here (any status).
func (m *Manager) Running() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live)
}

// IsRunning reports whether id runs here.
func (m *Manager) IsRunning(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.live[id]
	return ok
}

// ActiveSessions counts the sessions connected through this instance.
func (m *Manager) ActiveSessions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.live {
		if s.status == service.StatusActive {
			n++
		}
	}
	return n
}

// setLive adds s to live as id; m.mu is held.
func (m *Manager) setLive(id string, s *managedSession) {
	m.live[id] = s
	m.shown[s.shownStatus()]++
}

// unlive takes id out of live; m.mu is held.
func (m *Manager) unlive(id string) {
	if s, ok := m.live[id]; ok {
		m.shown[s.shownStatus()]--
		delete(m.live, id)
	}
}

// setStatus changes the status of s, which is live; m.mu is held.
func (m *Manager) setStatus(s *managedSession, status service.Status) {
	m.shown[s.shownStatus()]--
	s.status = status
	m.shown[s.shownStatus()]++
}

// shownStatus is the status s shows; call with m.mu held.
func (s *managedSession) shownStatus() service.Status {
	if s.status == "" {
		return service.StatusPending // starting: the first QR is on its way
	}
	return s.status
}

// session is the public view of s; call with m.mu held.
func (s *managedSession) session(id string) service.Session {
	st := s.shownStatus()
	out := service.Session{ID: id, Status: st, Reason: s.reason, JID: s.jid, UpdatedAt: s.updatedAt, Instance: s.lease.Owner}
	if s.qr != nil && st == service.StatusPending {
		qr := *s.qr
		out.QR = &qr
	}
	return out
}

func (m *Manager) caches() []service.Cache {
	if m.deps.L2 == nil {
		return []service.Cache{m.deps.L1}
	}
	return []service.Cache{m.deps.L1, m.deps.L2}
}

// qrCaches are the caches that keep pairing codes (see Config.SharedL2).
func (m *Manager) qrCaches() []service.Cache {
	if !m.keepsQRs(m.deps.L2) {
		return []service.Cache{m.deps.L1}
	}
	return m.caches()
}

// keepsQRs reports whether c keeps pairing codes.
func (m *Manager) keepsQRs(c service.Cache) bool { return c != m.deps.L2 || m.cfg.SharedL2 }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
