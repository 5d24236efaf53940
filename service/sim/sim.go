// Package sim is a service.Driver of simulated phones, for the demo, e2e and
// load tests: each session shows QR codes on whatsmeow's schedule and is
// scanned (or not) at random, or on command (Scan, CloseSession, Disconnect).
//
// It must never talk to WhatsApp, and it must never lose a connected or
// closed event while the driver is open.
package sim

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"wagateway/service"
)

// whatsmeow's pairing schedule: six codes, the first valid 60 s, the rest 20 s.
const (
	firstCodeValidity = 60 * time.Second
	nextCodeValidity  = 20 * time.Second
	codesPerPairing   = 6
	// reconnectDelay is how long a Disconnect takes to come back online.
	reconnectDelay = 2 * time.Second
)

// Config tunes the simulated phones.
type Config struct {
	// TimeScale divides every simulated duration (10 → ten times faster);
	// values below 1 mean 1.
	TimeScale float64
	// ScanProbability is the chance that a pairing session is scanned by
	// itself, after a random delay up to ScanDelay (scaled).
	ScanProbability float64
	ScanDelay       time.Duration
	// BufferSize is the capacity of Events (default 1024).
	BufferSize int
	Clock      service.Clock // default service.SystemClock
	Seed       uint64        // seeds the random codes, scans and delays
	Logger     *slog.Logger
	// Devices keeps paired devices where every gateway instance sees them
	// (Redis when REDIS_URL is set), so another instance can take a
	// session over without a new QR; nil keeps them in this process.
	Devices Devices
	// MarkRuns sends service.EventStarted first for every Start (see
	// service.RunMarker); the gateway sets it, tests that read Events
	// directly mostly do not.
	MarkRuns bool
}

// Devices stores the simulated phones' paired devices: session id → JID.
type Devices interface {
	Device(ctx context.Context, sessionID string) (jid string, ok bool, err error)
	SaveDevice(ctx context.Context, sessionID, jid string) error
	DeleteDevice(ctx context.Context, sessionID string) error
	Devices(ctx context.Context) ([]string, error)
}

// deviceTimeout bounds one call to the shared device store.
const deviceTimeout = 3 * time.Second

// Driver simulates one phone per session. Events go on a buffered channel;
// when it is full the session's producer blocks until the consumer takes
// the event or the session (or the driver) is stopped, so an event is only
// ever dropped for a session that is being stopped anyway.
type Driver struct {
	cfg    Config
	log    *slog.Logger
	events chan service.DriverEvent

	randMu sync.Mutex
	rand   *rand.Rand

	mu       sync.Mutex
	phones   map[string]*phone
	paired   map[string]string // session id → JID, remembered across Start/Stop
	nextJID  int
	closed   bool
	begins   sync.WaitGroup // phones showing their first code (or reconnecting)
	shutdown chan struct{}
}

var (
	_ service.Driver      = (*Driver)(nil)
	_ service.PhonePairer = (*Driver)(nil)
)

// New returns a driver with no sessions.
func New(cfg Config) *Driver {
	if cfg.TimeScale < 1 {
		cfg.TimeScale = 1
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = 1024
	}
	if cfg.Clock == nil {
		cfg.Clock = service.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Driver{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "sim"),
		events:   make(chan service.DriverEvent, cfg.BufferSize),
		rand:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)),
		phones:   map[string]*phone{},
		paired:   map[string]string{},
		shutdown: make(chan struct{}),
	}
}

// Events delivers every event of every session; Close closes it.
func (d *Driver) Events() <-chan service.DriverEvent { return d.events }

// MarksRuns says whether Start sends service.EventStarted first (MarkRuns).
func (d *Driver) MarksRuns() bool { return d.cfg.MarkRuns }

// Start begins pairing, or reconnects a paired session. Starting a running
// session does nothing.
func (d *Driver) Start(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return service.Errorf(service.EUNAVAILABLE, "sim driver is closed")
	}
	if p, ok := d.phones[sessionID]; ok {
		if d.cfg.MarkRuns {
			// The manager started a run on a phone it had let go of: what
			// the phone sends from here on belongs to that run.
			d.begins.Add(1)
			go func() {
				defer d.begins.Done()
				p.mark()
			}()
		}
		return nil
	}
	if _, ok := d.paired[sessionID]; !ok && d.cfg.Devices != nil {
		jid, ok, err := d.cfg.Devices.Device(ctx, sessionID)
		if err != nil {
			return fmt.Errorf("sim: device of %s: %w", sessionID, err)
		}
		if ok {
			d.paired[sessionID] = jid
		}
	}
	p := &phone{d: d, id: sessionID, jid: d.paired[sessionID], stop: make(chan struct{})}
	d.phones[sessionID] = p
	d.begins.Add(1)
	go func() {
		defer d.begins.Done()
		p.begin()
	}()
	return nil
}

// Stop disconnects a session and keeps its device. It emits no event: the
// caller knows why it stopped the session.
func (d *Driver) Stop(ctx context.Context, sessionID string) error {
	d.mu.Lock()
	p, ok := d.phones[sessionID]
	d.mu.Unlock()
	if !ok {
		return nil
	}
	p.halt()
	return nil
}

// Logout stops the session and forgets its device. Like Stop, it emits no event.
func (d *Driver) Logout(ctx context.Context, sessionID string) error {
	if err := d.Stop(ctx, sessionID); err != nil {
		return err
	}
	d.forget(sessionID)
	return nil
}

// Paired lists the sessions with a remembered device.
func (d *Driver) Paired(ctx context.Context) ([]string, error) {
	if d.cfg.Devices != nil {
		ids, err := d.cfg.Devices.Devices(ctx)
		if err != nil {
			return nil, fmt.Errorf("sim: paired devices: %w", err)
		}
		return ids, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]string, 0, len(d.paired))
	for id := range d.paired {
		ids = append(ids, id)
	}
	return ids, nil
}

// PairPhone returns a fake 8-character linking code for a running session
// that is not paired yet; the phone still has to "enter" it (Scan).
func (d *Driver) PairPhone(ctx context.Context, sessionID, phone string) (string, error) {
	d.mu.Lock()
	_, running := d.phones[sessionID]
	_, paired := d.paired[sessionID]
	d.mu.Unlock()
	if !paired && d.cfg.Devices != nil {
		var err error
		if _, paired, err = d.cfg.Devices.Device(ctx, sessionID); err != nil {
			return "", fmt.Errorf("sim: device of %s: %w", sessionID, err)
		}
	}
	switch {
	case !running:
		return "", service.Errorf(service.ENOTFOUND, "session %s is not running", sessionID)
	case paired:
		return "", service.Errorf(service.ECONFLICT, "session %s is already paired", sessionID)
	}
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTVWXYZ" // whatsmeow's linking code alphabet
	code := make([]byte, 8)
	d.randMu.Lock()
	for i := range code {
		code[i] = alphabet[d.rand.IntN(len(alphabet))]
	}
	d.randMu.Unlock()
	return string(code), nil
}

// Scan makes the phone scan the current QR code: the session connects.
func (d *Driver) Scan(ctx context.Context, sessionID string) error {
	return d.command(ctx, sessionID, command{kind: cmdScan})
}

// CloseSession closes a session for good with reason (one of service.Reason*):
// EventClosed follows. A logged-out or banned device is forgotten.
func (d *Driver) CloseSession(ctx context.Context, sessionID, reason string) error {
	if reason == "" {
		reason = service.ReasonLoggedOut
	}
	return d.command(ctx, sessionID, command{kind: cmdClose, reason: reason})
}

// Disconnect drops a connected session's link for a moment:
// EventReconnecting, then EventConnected again.
func (d *Driver) Disconnect(ctx context.Context, sessionID string) error {
	return d.command(ctx, sessionID, command{kind: cmdDisconnect})
}

func (d *Driver) command(ctx context.Context, sessionID string, c command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	p, ok := d.phones[sessionID]
	d.mu.Unlock()
	if !ok {
		return service.Errorf(service.ENOTFOUND, "session %s is not running", sessionID)
	}
	return p.command(c)
}

// Close stops every session (keeping devices) and closes Events.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.shutdown)
	phones := make([]*phone, 0, len(d.phones))
	for _, p := range d.phones {
		phones = append(phones, p)
	}
	d.mu.Unlock()
	d.begins.Wait() // each had its try at the first event, as a goroutine per phone did
	for _, p := range phones {
		p.halt() // after this none of them sends on events
	}
	close(d.events)
	return nil
}

// scaled divides a simulated duration by TimeScale.
func (d *Driver) scaled(v time.Duration) time.Duration {
	return time.Duration(float64(v) / d.cfg.TimeScale)
}

// pair remembers a device and returns its JID. With a shared store the
// JID is derived from the session id, so instances never hand out the same
// one; a store that fails is logged and the session connects anyway (a real
// phone would not wait for our store either).
func (d *Driver) pair(sessionID string) string {
	d.mu.Lock()
	jid, ok := d.paired[sessionID]
	if !ok {
		d.nextJID++
		jid = fmt.Sprintf("55119999%05d@s.whatsapp.net", d.nextJID)
		if d.cfg.Devices != nil {
			h := fnv.New32a()
			_, _ = h.Write([]byte(sessionID))
			jid = fmt.Sprintf("5511%010d@s.whatsapp.net", h.Sum32())
		}
		d.paired[sessionID] = jid
	}
	d.mu.Unlock()
	if !ok && d.cfg.Devices != nil {
		ctx, cancel := context.WithTimeout(context.Background(), deviceTimeout)
		defer cancel()
		if err := d.cfg.Devices.SaveDevice(ctx, sessionID, jid); err != nil {
			d.log.Error("save paired device", "session_id", sessionID, "err", err)
		}
	}
	return jid
}

func (d *Driver) forget(sessionID string) {
	d.mu.Lock()
	delete(d.paired, sessionID)
	d.mu.Unlock()
	if d.cfg.Devices != nil {
		ctx, cancel := context.WithTimeout(context.Background(), deviceTimeout)
		defer cancel()
		if err := d.cfg.Devices.DeleteDevice(ctx, sessionID); err != nil {
			d.log.Error("forget paired device", "session_id", sessionID, "err", err)
		}
	}
}

// remove drops p from the running sessions, unless a newer phone replaced it.
func (d *Driver) remove(p *phone) {
	d.mu.Lock()
	if d.phones[p.id] == p {
		delete(d.phones, p.id)
	}
	d.mu.Unlock()
}

// scanDelay decides whether a pairing session scans by itself, and when.
func (d *Driver) scanDelay() (time.Duration, bool) {
	d.randMu.Lock()
	defer d.randMu.Unlock()
	if d.cfg.ScanProbability <= 0 || d.rand.Float64() >= d.cfg.ScanProbability {
		return 0, false
	}
	delay := time.Duration(0)
	if d.cfg.ScanDelay > 0 {
		delay = time.Duration(d.rand.Int64N(int64(d.cfg.ScanDelay)))
	}
	return d.scaled(delay), true
}

// randomBase64 returns n random bytes in standard base64, like whatsmeow's keys.
// Eight bytes a draw: a draw per byte was half the cost of showing a code.
func (d *Driver) randomBase64(n int) string {
	var buf [64]byte
	b := buf[:0]
	if n > len(buf) {
		b = make([]byte, 0, n+7)
	}
	d.randMu.Lock()
	for len(b) < n {
		b = binary.LittleEndian.AppendUint64(b, d.rand.Uint64())
	}
	d.randMu.Unlock()
	return base64.StdEncoding.EncodeToString(b[:n])
}
