package whatsmeow

import (
	"context"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"wagateway/service"
)

// handle receives every whatsmeow event of s. whatsmeow calls it
// synchronously from its own loops: it must only map and emit, never block.
func (d *Driver) handle(s *session, evt any) {
	if s.ended.Load() {
		return
	}
	switch evt := evt.(type) {
	case *events.Connected:
		d.emit(s.id, service.DriverEvent{Type: service.EventConnected, JID: s.cli.Store.GetJID().String()})
	case *events.Disconnected:
		// While pairing, the QR channel reports this as a timeout.
		if s.cli.Store.ID != nil {
			d.emit(s.id, service.DriverEvent{Type: service.EventReconnecting,
				Detail: "connection to WhatsApp lost; reconnecting by itself"})
		}
	case *events.PairSuccess:
		d.log.Info("session paired", "session_id", s.id, "jid", evt.ID.String(), "platform", evt.Platform)
	case *events.QRScannedWithoutMultidevice:
		d.log.Warn("QR scanned by a phone without multi-device; waiting for another scan", "session_id", s.id)
	case *events.KeepAliveTimeout:
		d.log.Warn("WhatsApp keep-alive failing", "session_id", s.id, "errors", evt.ErrorCount)
	default:
		if e, ok := endingOf(evt, d.clock.Now()); ok {
			d.finish(s, e)
		}
	}
}

// drainQR turns the QR channel of an unpaired session into events. whatsmeow
// stops issuing codes if the channel is full, so it is always drained.
func (d *Driver) drainQR(s *session, qr <-chan whatsmeow.QRChannelItem) {
	defer d.wg.Done()
	for {
		select {
		case <-s.ctx.Done(): // whatsmeow doesn't close qr if no code was issued yet
			return
		case item, ok := <-qr:
			if !ok {
				return
			}
			d.onQR(s, item)
		}
	}
}

func (d *Driver) onQR(s *session, item whatsmeow.QRChannelItem) {
	if s.ended.Load() {
		return
	}
	if item.Event == whatsmeow.QRChannelSuccess.Event {
		d.remember(s)
		return
	}
	ev, final, ok := qrOutcome(item, d.clock.Now())
	switch {
	case !ok:
		d.log.Debug("QR channel item left to the event handler", "session_id", s.id, "event", item.Event)
	case final:
		d.finish(s, ending{ev: ev})
	default:
		d.emit(s.id, ev)
		s.pairingOnce.Do(func() { close(s.pairing) })
	}
}

// remember stores session_id → JID once pairing succeeded; EventConnected
// follows when whatsmeow has reconnected with the new credentials.
func (d *Driver) remember(s *session) {
	jid := s.cli.Store.GetJID()
	if jid.IsEmpty() {
		d.log.Error("pair success without a device id", "session_id", s.id)
		return
	}
	// Not s.ctx: the row must be written even if the session is stopped now.
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := d.sessions.put(ctx, s.id, jid.String()); err != nil {
		// The phone is linked but we can't find it after a restart: say so loudly.
		d.log.Error("paired device not recorded; it will need pairing again after a restart",
			"session_id", s.id, "jid", jid.String(), "err", err)
	}
}
