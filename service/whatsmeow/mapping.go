package whatsmeow

import (
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"wagateway/service"
)

// ending is how a session ends for good: the event to emit and whether the
// device is gone (so our session_id → JID row goes too).
type ending struct {
	ev           service.DriverEvent
	deviceIsGone bool
}

func closed(reason, detail string) service.DriverEvent {
	return service.DriverEvent{Type: service.EventClosed, Reason: reason, Detail: detail}
}

// clientOutdated tells the operator what to do: whatsmeow can't be upgraded
// here, but the advertised version can.
func clientOutdated() service.DriverEvent {
	return closed(service.ReasonClientOutdated, fmt.Sprintf(
		"WhatsApp rejected client version %s as outdated (405): set WA_VERSION to the current WhatsApp Web version and restart",
		waVersion()))
}

func pairError(err error) service.DriverEvent {
	return closed(service.ReasonPairError, fmt.Sprintf("pairing failed after the scan: %v; start the session again for a new QR code", err))
}

// endingOf maps a whatsmeow event that closes a session for good; ok is
// false for every other event. now dates a temporary ban's end.
func endingOf(evt any, now time.Time) (e ending, ok bool) {
	switch evt := evt.(type) {
	case *events.LoggedOut:
		// whatsmeow has already deleted the device.
		if evt.Reason == events.ConnectFailureUnknownLogout {
			return ending{closed(service.ReasonBanned,
				"WhatsApp banned this account (406); the number must be reviewed with WhatsApp before it can be linked again"), true}, true
		}
		return ending{closed(service.ReasonLoggedOut, fmt.Sprintf(
			"the device was unlinked (%d %s); scan a new QR code to link it again", int(evt.Reason), evt.Reason)), true}, true
	case *events.TemporaryBan:
		detail := fmt.Sprintf("WhatsApp temporarily banned this account (%d: %s)", int(evt.Code), evt.Code)
		if evt.Expire > 0 {
			detail += fmt.Sprintf(" until %s (for %s); start the session again after that",
				now.Add(evt.Expire).UTC().Format(time.RFC3339), evt.Expire)
		}
		return ending{ev: closed(service.ReasonTemporaryBan, detail)}, true
	case *events.StreamReplaced:
		return ending{ev: closed(service.ReasonReplaced,
			"another client connected with this device; only one may run, so this one stopped")}, true
	case *events.ClientOutdated:
		return ending{ev: clientOutdated()}, true
	case *events.PairError:
		return ending{ev: pairError(evt.Error)}, true
	case *events.ConnectFailure:
		if evt.Reason == events.ConnectFailureBadUserAgent {
			return ending{ev: clientOutdated()}, true
		}
		return ending{ev: closed(service.ReasonNetwork, fmt.Sprintf(
			"WhatsApp refused the connection (%d %s %s); start the session again later", int(evt.Reason), evt.Reason, evt.Message))}, true
	case events.PermanentDisconnect: // anything newer that stops whatsmeow's auto-reconnect
		return ending{ev: closed(service.ReasonNetwork, "WhatsApp closed the connection: "+evt.PermanentDisconnectDescription())}, true
	}
	return ending{}, false
}

// qrOutcome maps an item of whatsmeow's QR channel. Items the event handler
// reports more precisely (unexpected state: the cause arrives as an event)
// and the pair success (stored by the caller) map to nothing.
func qrOutcome(item whatsmeow.QRChannelItem, now time.Time) (ev service.DriverEvent, final, ok bool) {
	switch item.Event {
	case whatsmeow.QRChannelEventCode:
		return service.DriverEvent{Type: service.EventQR, Code: item.Code, ExpiresAt: now.Add(item.Timeout), At: now}, false, true
	case whatsmeow.QRChannelTimeout.Event:
		return service.DriverEvent{Type: service.EventQRTimeout, Reason: service.ReasonQRTimeout,
			Detail: "no QR code was scanned before WhatsApp stopped issuing codes; start the session again", At: now}, true, true
	case whatsmeow.QRChannelEventError:
		ev := pairError(item.Error)
		ev.At = now
		return ev, true, true
	case whatsmeow.QRChannelClientOutdated.Event:
		ev := clientOutdated()
		ev.At = now
		return ev, true, true
	}
	return service.DriverEvent{}, false, false
}
