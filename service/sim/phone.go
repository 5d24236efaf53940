package sim

import (
	"sync"
	"time"

	"wagateway/service"
)

type commandKind int

const (
	cmdScan commandKind = iota
	cmdClose
	cmdDisconnect
)

type command struct {
	kind   commandKind
	reason string
}

type phoneState int

const (
	statePairing phoneState = iota
	stateConnected
	stateReconnecting
	stateDone
)

// phone is one simulated session. It has no goroutine of its own: timers
// and commands move it from state to state under mu, and it emits its
// events while holding mu, so they arrive in order. (A goroutine per phone
// cost about 4 KB of stack each: 40 MB at 10,000 sessions.)
type phone struct {
	d    *Driver
	id   string
	stop chan struct{} // closed by halt: an emit blocked on a full buffer gives up
	once sync.Once

	mu     sync.Mutex
	state  phoneState
	jid    string         // set once paired
	keys   string         // the pairing's keys: the same for every code
	shown  int            // codes shown in this pairing
	timers [2]func() bool // stop the scan and the code expiry (or reconnect) timers
}

// begin shows the first code, or reconnects a paired device. It runs on its
// own short-lived goroutine: Start must not wait for room on Events.
func (p *phone) begin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == stateDone {
		return
	}
	if p.d.cfg.MarkRuns && !p.emit(service.DriverEvent{Type: service.EventStarted}) {
		p.end()
		return
	}
	if p.jid != "" {
		p.state = stateConnected
		if !p.emit(service.DriverEvent{Type: service.EventConnected, JID: p.jid}) {
			p.end()
		}
		return
	}
	if delay, ok := p.d.scanDelay(); ok {
		p.timers[0] = p.d.after(delay, p.scanned)
	}
	// Keys stay the same for the whole pairing, the reference changes per code.
	p.keys = "," + p.d.randomBase64(32) + "," + p.d.randomBase64(32) + "," + p.d.randomBase64(32)
	p.showCode()
}

// mark sends EventStarted for a Start that found this phone running.
func (p *phone) mark() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateDone {
		p.emit(service.DriverEvent{Type: service.EventStarted})
	}
}

// showCode emits the next code and arms its expiry; the caller holds mu.
func (p *phone) showCode() {
	validity := nextCodeValidity
	if p.shown == 0 {
		validity = firstCodeValidity
	}
	validity = p.d.scaled(validity)
	now := p.d.cfg.Clock.Now()
	code := "2@" + p.d.randomBase64(60) + p.keys
	p.shown++
	if !p.emit(service.DriverEvent{Type: service.EventQR, Code: code, ExpiresAt: now.Add(validity), At: now}) {
		p.end()
		return
	}
	shown := p.shown
	p.timers[1] = p.d.after(validity, func() { p.expired(shown) })
}

// expired ends the code shown-th: the next one, or the pairing times out.
func (p *phone) expired(shown int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != statePairing || p.shown != shown {
		return // scanned, stopped, or a stale timer
	}
	if p.shown < codesPerPairing {
		p.showCode()
		return
	}
	p.emit(service.DriverEvent{Type: service.EventQRTimeout, Reason: service.ReasonQRTimeout, Detail: "no QR code was scanned"})
	p.end()
}

// scanned is the phone scanning by itself.
func (p *phone) scanned() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == statePairing {
		p.connect()
	}
}

// connect pairs the phone; the caller holds mu.
func (p *phone) connect() {
	p.stopTimers()
	p.jid = p.d.pair(p.id)
	p.state = stateConnected
	if !p.emit(service.DriverEvent{Type: service.EventConnected, JID: p.jid}) {
		p.end()
	}
}

// reconnected brings a dropped link back.
func (p *phone) reconnected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateReconnecting {
		return
	}
	p.state = stateConnected
	if !p.emit(service.DriverEvent{Type: service.EventConnected, JID: p.jid}) {
		p.end()
	}
}

// command runs a Scan, CloseSession or Disconnect.
func (p *phone) command(c command) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.state == stateDone:
		return service.Errorf(service.ENOTFOUND, "session %s is not running", p.id)
	case c.kind == cmdClose:
		p.close(c.reason)
		return nil
	case c.kind == cmdScan && p.state == statePairing:
		p.connect()
		return nil
	case c.kind == cmdScan:
		return service.Errorf(service.ECONFLICT, "session %s is already paired", p.id)
	case p.state == statePairing: // disconnect
		return service.Errorf(service.ECONFLICT, "session %s is not connected", p.id)
	case p.state == stateConnected:
		if !p.emit(service.DriverEvent{Type: service.EventReconnecting, Detail: "connection dropped"}) {
			p.end()
			return nil
		}
		p.state = stateReconnecting
		p.timers[1] = p.d.after(p.d.scaled(reconnectDelay), p.reconnected)
	}
	return nil
}

// close ends the session with reason; a logged-out or banned device is
// gone. The caller holds mu.
func (p *phone) close(reason string) {
	switch reason {
	case service.ReasonLoggedOut, service.ReasonBanned, service.ReasonReplaced:
		p.d.forget(p.id)
	}
	p.emit(service.DriverEvent{Type: service.EventClosed, Reason: reason, Detail: "closed by the simulator"})
	p.end()
}

// halt stops the phone; once it returns the phone emits nothing more.
func (p *phone) halt() {
	p.once.Do(func() { close(p.stop) }) // first, so a blocked emit lets go of mu
	p.mu.Lock()
	defer p.mu.Unlock()
	p.end()
}

// end makes the phone done and forgets it; the caller holds mu.
func (p *phone) end() {
	if p.state == stateDone {
		return
	}
	p.state = stateDone
	p.stopTimers()
	p.d.remove(p)
}

func (p *phone) stopTimers() {
	for i, stop := range p.timers {
		if stop != nil {
			stop()
			p.timers[i] = nil
		}
	}
}

// emit waits for room on Events; it gives up only when the session or the
// driver is stopping, and says so in the log. The caller holds mu.
func (p *phone) emit(ev service.DriverEvent) bool {
	ev.SessionID = p.id
	if ev.At.IsZero() {
		ev.At = p.d.cfg.Clock.Now()
	}
	select {
	case p.d.events <- ev:
		return true
	default:
	}
	select {
	case p.d.events <- ev:
		return true
	case <-p.stop:
	case <-p.d.shutdown:
	}
	p.d.log.Warn("event dropped: session stopping", "session_id", p.id, "event", string(ev.Type))
	return false
}

// after calls f once d has passed on the driver's clock; the returned func
// cancels it. The system clock needs no goroutine for that; another clock
// (a test's) gets one per timer.
func (d *Driver) after(dur time.Duration, f func()) func() bool {
	if _, ok := d.cfg.Clock.(service.SystemClock); ok {
		return time.AfterFunc(dur, f).Stop
	}
	fired := d.cfg.Clock.After(dur)
	cancel := make(chan struct{})
	var once sync.Once
	go func() {
		select {
		case <-fired:
			f()
		case <-cancel:
		case <-d.shutdown:
		}
	}()
	return func() bool {
		once.Do(func() { close(cancel) })
		return true
	}
}
