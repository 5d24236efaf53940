package service

import (
	"context"
	"time"
)

// Driver is the narrow interface to WhatsApp: whatsmeow (real phones) or sim
// (simulated phones). It emits plain events and knows nothing of Redis or Laravel.
type Driver interface {
	// Start begins pairing (QR codes follow as events) or reconnects a
	// paired session. It returns promptly; outcomes arrive as events.
	Start(ctx context.Context, sessionID string) error
	// Stop disconnects a session and keeps its device for a later Start.
	Stop(ctx context.Context, sessionID string) error
	// Logout unlinks the device from the phone and forgets it.
	Logout(ctx context.Context, sessionID string) error
	// Paired lists sessions with a stored device, to restore at start-up.
	Paired(ctx context.Context) ([]string, error)
	// Events delivers every event of every session; it is closed by Close.
	Events() <-chan DriverEvent
	// Close stops every session (keeping devices) and closes Events.
	Close() error
}

// PhonePairer is implemented by drivers that can pair with a phone number
// instead of a QR code.
type PhonePairer interface {
	// PairPhone returns the 8-character code the user types on the phone.
	PairPhone(ctx context.Context, sessionID, phone string) (string, error)
}

// EventType says what happened to a session.
type EventType string

const (
	EventQR           EventType = "qr"           // a new pairing code: Code, ExpiresAt
	EventConnected    EventType = "connected"    // paired and online → active (JID set)
	EventReconnecting EventType = "reconnecting" // transient drop, reconnecting: status unchanged
	EventClosed       EventType = "closed"       // closed for good → inactive (Reason says why)
	EventQRTimeout    EventType = "qr_timeout"   // no code was scanned → expired
	// EventStarted opens a run: a RunMarker driver sends it first for every
	// Start, so late events of the run before (a close that raced a
	// restart) are told apart from the new run's.
	EventStarted EventType = "started"
)

// RunMarker is implemented by drivers that send EventStarted for every
// Start before any other event of the run it begins. The session manager
// then ignores a restarted session's events until that marker: the ones
// before it belong to an earlier run.
type RunMarker interface {
	MarksRuns() bool
}

// Reasons a session closed, stable strings a user (and Laravel) can act on.
const (
	ReasonLoggedOut      = "logged_out"      // unlinked from the phone (401/403)
	ReasonBanned         = "banned"          // account banned (406)
	ReasonTemporaryBan   = "temporary_ban"   // Detail says until when
	ReasonReplaced       = "stream_replaced" // another client took over the device
	ReasonClientOutdated = "client_outdated" // 405: WA web version too old (WA_VERSION)
	ReasonQRTimeout      = "qr_timeout"      // no QR scanned in time
	ReasonQRExpired      = "qr_expired"      // QR_EXPIRES elapsed
	ReasonPairError      = "pair_error"      // pairing failed after the scan
	ReasonNetwork        = "network"         // could not reach WhatsApp
	ReasonStopped        = "stopped"         // stopped by the API or shutdown
	ReasonLogout         = "logout"          // logged out by the API
)

// DriverEvent is one thing that happened to one session.
type DriverEvent struct {
	SessionID string
	Type      EventType
	Code      string    // EventQR: raw pairing code (render it; never log it)
	ExpiresAt time.Time // EventQR: when the code stops being valid
	JID       string    // EventConnected: the linked phone
	Reason    string    // EventClosed/EventQRTimeout: one of the Reason* constants
	Detail    string    // human-readable detail
	At        time.Time
}
