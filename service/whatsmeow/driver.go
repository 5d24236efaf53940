// Package whatsmeow is the real WhatsApp driver: service.Driver and
// service.PhonePairer on go.mau.fi/whatsmeow, with devices in whatsmeow's SQL
// store (SQLite or Postgres) and our session_id → JID table beside them.
//
// It turns every outcome into a DriverEvent with a Reason a user can act on.
// It must never block inside a whatsmeow event handler, and never run two
// clients for one device (they would replace each other forever).
package whatsmeow

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"

	"wagateway/service"
)

var (
	_ service.Driver      = (*Driver)(nil)
	_ service.PhonePairer = (*Driver)(nil)
	_ service.RunMarker   = (*Driver)(nil)
)

// storeTimeout bounds database work done on whatsmeow's behalf, so Close
// never waits on a store that stopped answering.
const storeTimeout = 10 * time.Second

var errShutDown = service.Errorf(service.EUNAVAILABLE, "the WhatsApp driver is shut down")

// Driver runs many WhatsApp multi-device sessions in one process.
type Driver struct {
	log       *slog.Logger
	waLog     *slogLogger
	clock     service.Clock
	container *sqlstore.Container
	sessions  *sessionTable
	events    *emitter
	// connect dials WhatsApp; tests replace it to stay offline.
	connect func(ctx context.Context, cli *whatsmeow.Client) error
	// beforeLastEvent, when set, runs just before a run that ended on its
	// own sends its last event; tests hold it there.
	beforeLastEvent func(sessionID string)

	mu   sync.Mutex
	live map[string]*session
	// ending holds, per session, a run that ended on its own and has not
	// sent its last event yet; a Start of that session waits for it, so the
	// new run's EventStarted comes after every event of the run before.
	ending map[string]chan struct{}
	closed bool
	wg     sync.WaitGroup // connect, QR and clean-up goroutines
}

// session is one running client.
type session struct {
	id  string
	cli *whatsmeow.Client
	// ctx lives as long as the session: whatsmeow uses the context given to
	// ConnectContext as the socket's lifetime, so it must not carry a deadline.
	ctx    context.Context
	cancel context.CancelFunc
	// ended is set once the session's last event is decided; later whatsmeow
	// events (it keeps dispatching while it winds down) are ignored.
	ended atomic.Bool
	// pairing is closed when the first QR code arrives: WhatsApp is then
	// ready to pair, by QR or by phone number.
	pairing     chan struct{}
	pairingOnce sync.Once
}

// stop ends the client. Cancel first: a Connect in progress holds the lock
// Disconnect waits for, and gives it up only when its context ends.
func (s *session) stop() {
	s.cancel()
	s.cli.Disconnect()
}

// New opens the device store and returns a driver with no running session.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	cfg = cfg.withDefaults()
	if err := setWAVersion(cfg.Version); err != nil {
		return nil, err
	}
	wl := newWALogger(cfg.Logger, "whatsmeow").(*slogLogger)
	container, sessions, err := openStore(ctx, cfg.Store, wl.Sub("Store"))
	if err != nil {
		return nil, err
	}
	d := &Driver{
		log:       cfg.Logger,
		waLog:     wl,
		clock:     cfg.Clock,
		container: container,
		sessions:  sessions,
		events:    newEmitter(cfg.EventBuffer, cfg.Logger),
		connect:   func(ctx context.Context, cli *whatsmeow.Client) error { return cli.ConnectContext(ctx) },
		live:      map[string]*session{},
		ending:    map[string]chan struct{}{},
	}
	d.log.Info("whatsmeow driver ready", "store", redactStore(cfg.Store), "wa_version", waVersion())
	return d, nil
}

// Events delivers every event of every session; Close closes it.
func (d *Driver) Events() <-chan service.DriverEvent { return d.events.out }

// MarksRuns is true: Start sends EventStarted before any other event of the
// run it begins, also when the session was running already.
func (d *Driver) MarksRuns() bool { return true }

// Start pairs a new session (QR codes follow as events) or reconnects a
// paired one. It returns once the client exists; connecting happens in the
// background. Starting a running session does nothing but send
// EventStarted. A session whose run just ended waits until that run's last
// event is out.
func (d *Driver) Start(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	d.mu.Lock()
	for d.ending[sessionID] != nil && !d.closed {
		done := d.ending[sessionID]
		d.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("start session %s: wait for its last run to end: %w", sessionID, ctx.Err())
		}
		d.mu.Lock()
	}
	shut, running := d.closed, d.live[sessionID] != nil
	if running {
		d.markRun(sessionID)
	}
	d.mu.Unlock()
	switch {
	case shut:
		return errShutDown
	case running:
		return nil
	}
	dev, err := d.device(ctx, sessionID)
	if err != nil {
		return err
	}
	s := &session{id: sessionID, cli: whatsmeow.NewClient(dev, d.waLog.Sub(sessionID)), pairing: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var qr <-chan whatsmeow.QRChannelItem
	if dev.ID == nil {
		// Before Connect, or the first codes are missed.
		if qr, err = s.cli.GetQRChannel(s.ctx); err != nil {
			s.cancel()
			return fmt.Errorf("start pairing session %s: %w", sessionID, err)
		}
	}
	s.cli.AddEventHandler(func(evt any) { d.handle(s, evt) })

	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		s.cancel()
		return errShutDown
	case d.live[sessionID] != nil: // a concurrent Start won; ours never connected
		d.markRun(sessionID)
		d.mu.Unlock()
		s.cancel()
		return nil
	}
	d.live[sessionID] = s
	// Under d.mu and before the goroutines that send the run's events start,
	// so it is the run's first event.
	d.markRun(sessionID)
	d.wg.Add(1)
	if qr != nil {
		d.wg.Add(1)
		go d.drainQR(s, qr)
	}
	d.mu.Unlock()
	go d.run(s)
	d.log.Info("session starting", "session_id", sessionID, "paired", dev.ID != nil)
	return nil
}

// device loads the session's stored device, or a fresh one to pair.
func (d *Driver) device(ctx context.Context, sessionID string) (*store.Device, error) {
	raw, err := d.sessions.get(ctx, sessionID)
	if err != nil || raw == "" {
		return d.container.NewDevice(), err
	}
	jid, err := types.ParseJID(raw)
	if err != nil {
		return nil, fmt.Errorf("session %s has a bad stored jid %q: %w", sessionID, raw, err)
	}
	dev, err := d.container.GetDevice(ctx, jid)
	if err != nil {
		return nil, fmt.Errorf("load device of session %s: %w", sessionID, err)
	}
	if dev == nil { // unlinked while we were away: pair again
		d.log.Info("stored device is gone, pairing again", "session_id", sessionID)
		return d.container.NewDevice(), d.sessions.delete(ctx, sessionID)
	}
	return dev, nil
}

// run connects the client. Offline this fails within milliseconds (DNS).
func (d *Driver) run(s *session) {
	defer d.wg.Done()
	err := d.connect(s.ctx, s.cli)
	if err == nil || s.ctx.Err() != nil { // stopped while dialling: not a failure
		return
	}
	d.finish(s, ending{ev: closed(service.ReasonNetwork, fmt.Sprintf("could not reach WhatsApp: %v", err))})
}

// finish ends a session for good with e. Called from whatsmeow handlers too,
// so the slow part (disconnect, database) runs in a goroutine.
func (d *Driver) finish(s *session, e ending) {
	if !s.ended.CompareAndSwap(false, true) {
		return
	}
	d.mu.Lock()
	if d.live[s.id] == s {
		delete(d.live, s.id)
	}
	shuttingDown := d.closed // then Close disconnects s and waits for nobody new
	var done chan struct{}
	if !shuttingDown {
		done = make(chan struct{})
		d.wg.Add(1)
		d.ending[s.id] = done
	}
	d.mu.Unlock()
	if shuttingDown {
		d.emit(s.id, e.ev)
		return
	}
	go func() {
		defer d.wg.Done()
		defer func() {
			d.mu.Lock()
			if d.ending[s.id] == done {
				delete(d.ending, s.id)
			}
			d.mu.Unlock()
			close(done)
		}()
		// Forget the row before telling anyone, so a Start prompted by the
		// event can't race with it.
		if e.deviceIsGone {
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			defer cancel()
			if err := d.sessions.delete(ctx, s.id); err != nil {
				d.log.Error("forget unlinked session", "session_id", s.id, "err", err)
			}
		}
		if d.beforeLastEvent != nil {
			d.beforeLastEvent(s.id)
		}
		d.emit(s.id, e.ev)
		s.stop()
	}()
	d.log.Info("session closed", "session_id", s.id, "reason", e.ev.Reason, "detail", e.ev.Detail)
}

// markRun sends EventStarted (service.RunMarker); the caller holds d.mu,
// so no event of the run it opens can come first.
func (d *Driver) markRun(sessionID string) {
	d.emit(sessionID, service.DriverEvent{Type: service.EventStarted})
}

func (d *Driver) emit(sessionID string, ev service.DriverEvent) {
	ev.SessionID = sessionID
	if ev.At.IsZero() {
		ev.At = d.clock.Now()
	}
	d.events.emit(ev)
}

func (d *Driver) running(sessionID string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live[sessionID] != nil
}

// take removes a running session from the driver, nil if none.
func (d *Driver) take(sessionID string) *session {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.live[sessionID]
	delete(d.live, sessionID)
	return s
}

// Stop disconnects a session and keeps its device for a later Start. Like
// Logout it emits no event: the caller knows, and publishes the status.
func (d *Driver) Stop(_ context.Context, sessionID string) error {
	s := d.take(sessionID)
	if s == nil || !s.ended.CompareAndSwap(false, true) {
		return nil // not running, or already ending with its own reason
	}
	s.stop()
	d.log.Info("session stopped", "session_id", sessionID)
	return nil
}

// Paired lists the sessions whose device is still stored, sorted.
func (d *Driver) Paired(ctx context.Context) ([]string, error) {
	rows, err := d.sessions.all(ctx)
	if err != nil {
		return nil, err
	}
	devices, err := d.container.GetAllDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	stored := make(map[string]bool, len(devices))
	for _, dev := range devices {
		stored[dev.ID.String()] = true
	}
	ids := make([]string, 0, len(rows))
	for id, jid := range rows {
		if stored[jid] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Close disconnects every session (keeping devices), waits for the driver's
// goroutines, closes Events and the store.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	live := d.live
	d.live = map[string]*session{}
	d.mu.Unlock()
	for _, s := range live {
		s.ended.Store(true)
		s.stop()
	}
	d.wg.Wait()
	d.events.close()
	if err := d.container.Close(); err != nil {
		return fmt.Errorf("close whatsmeow store: %w", err)
	}
	return nil
}
