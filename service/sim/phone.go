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
	result chan error
}

// phone is one simulated session; its goroutine is the only producer of the
// session's events, so they arrive in order.
type phone struct {
	d    *Driver
	id   string
	jid  string // set once paired
	cmds chan command
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// halt stops the goroutine and waits for it.
func (p *phone) halt() {
	p.once.Do(func() { close(p.stop) })
	<-p.done
}

func (p *phone) run() {
	defer p.d.wg.Done()
	defer close(p.done)
	defer p.d.remove(p)

	if p.jid == "" {
		if !p.pairing() {
			return
		}
	} else if !p.emit(service.DriverEvent{Type: service.EventConnected, JID: p.jid}) {
		return
	}
	p.serve()
}

// pairing shows codes until a scan (true) or the end of the session (false).
func (p *phone) pairing() bool {
	var scanAt <-chan time.Time
	if delay, ok := p.d.scanDelay(); ok {
		scanAt = p.d.cfg.Clock.After(delay)
	}
	// Keys stay the same for the whole pairing, the reference changes per code.
	keys := "," + p.d.randomBase64(32) + "," + p.d.randomBase64(32) + "," + p.d.randomBase64(32)
	for i := 0; i < codesPerPairing; i++ {
		validity := nextCodeValidity
		if i == 0 {
			validity = firstCodeValidity
		}
		validity = p.d.scaled(validity)
		now := p.d.cfg.Clock.Now()
		code := "2@" + p.d.randomBase64(60) + keys
		if !p.emit(service.DriverEvent{Type: service.EventQR, Code: code, ExpiresAt: now.Add(validity), At: now}) {
			return false
		}
		expired := p.d.cfg.Clock.After(validity)
	wait:
		for {
			select {
			case <-p.stop:
				return false
			case <-p.d.shutdown:
				return false
			case <-scanAt:
				return p.connect()
			case c := <-p.cmds:
				switch c.kind {
				case cmdScan:
					c.result <- nil
					return p.connect()
				case cmdClose:
					c.result <- nil
					p.close(c.reason)
					return false
				default:
					c.result <- service.Errorf(service.ECONFLICT, "session %s is not connected", p.id)
				}
			case <-expired:
				break wait
			}
		}
	}
	p.emit(service.DriverEvent{Type: service.EventQRTimeout, Reason: service.ReasonQRTimeout, Detail: "no QR code was scanned"})
	return false
}

func (p *phone) connect() bool {
	p.jid = p.d.pair(p.id)
	return p.emit(service.DriverEvent{Type: service.EventConnected, JID: p.jid})
}

// serve keeps a paired session connected until it is stopped or closed.
func (p *phone) serve() {
	var back <-chan time.Time // set while reconnecting
	for {
		select {
		case <-p.stop:
			return
		case <-p.d.shutdown:
			return
		case <-back:
			back = nil
			if !p.emit(service.DriverEvent{Type: service.EventConnected, JID: p.jid}) {
				return
			}
		case c := <-p.cmds:
			switch c.kind {
			case cmdScan:
				c.result <- service.Errorf(service.ECONFLICT, "session %s is already paired", p.id)
			case cmdClose:
				c.result <- nil
				p.close(c.reason)
				return
			case cmdDisconnect:
				c.result <- nil
				if back == nil {
					if !p.emit(service.DriverEvent{Type: service.EventReconnecting, Detail: "connection dropped"}) {
						return
					}
					back = p.d.cfg.Clock.After(p.d.scaled(reconnectDelay))
				}
			}
		}
	}
}

// close ends the session with reason; a logged-out or banned device is gone.
func (p *phone) close(reason string) {
	switch reason {
	case service.ReasonLoggedOut, service.ReasonBanned, service.ReasonReplaced:
		p.d.forget(p.id)
	}
	p.emit(service.DriverEvent{Type: service.EventClosed, Reason: reason, Detail: "closed by the simulator"})
}

// emit waits for room on Events; it gives up only when the session or the
// driver is stopping, and says so in the log.
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
