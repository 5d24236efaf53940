// Package service is the domain of wagateway: the plain types (sessions,
// statuses, QR codes, outbox items) and the interfaces the outside world is
// reached through (Driver, Cache, Outbox, Laravel), plus the logic that only
// needs those interfaces (the session manager and the flusher).
//
// It must never import an outside dependency: Redis, HTTP, whatsmeow and
// Laravel live in subpackages that import this one.
package service

import (
	"fmt"
	"regexp"
	"time"
)

// Status is a session's pairing state, the `estado_qr` Laravel stores.
type Status string

const (
	StatusPending  Status = "pending"  // QR shown, waiting for a scan
	StatusActive   Status = "active"   // paired and connected
	StatusInactive Status = "inactive" // closed, logged out, replaced, banned
	StatusExpired  Status = "expired"  // QR not scanned in time
)

// Statuses lists every valid Status, in a stable order.
var Statuses = []Status{StatusPending, StatusActive, StatusInactive, StatusExpired}

// Valid reports whether s is one of the four known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusActive, StatusInactive, StatusExpired:
		return true
	}
	return false
}

// sessionIDPattern keeps session ids safe in Redis keys, file names and URLs.
var sessionIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidateSessionID returns an EINVALID error unless id matches [A-Za-z0-9_-]{1,64}.
func ValidateSessionID(id string) error {
	if !sessionIDPattern.MatchString(id) {
		return Errorf(EINVALID, "session_id must match [A-Za-z0-9_-]{1,64}, got %q", truncate(id, 80))
	}
	return nil
}

// UserSessionID is the session id used when a client gives only a user id.
func UserSessionID(userID int64) string { return fmt.Sprintf("user_%d", userID) }

// QR is one pairing code shown to the phone.
type QR struct {
	SessionID string    `json:"session_id"`
	Code      string    `json:"-"`  // raw code from WhatsApp; never logged
	Image     string    `json:"qr"` // data:image/png;base64,… rendered from Code
	IssuedAt  time.Time `json:"generated_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Session is what the gateway knows about one WhatsApp session.
type Session struct {
	ID        string    `json:"session_id"`
	Status    Status    `json:"estado_qr"`
	Reason    string    `json:"reason,omitempty"` // why it is inactive/expired, for humans
	QR        *QR       `json:"-"`
	JID       string    `json:"jid,omitempty"` // the linked phone, once paired
	UpdatedAt time.Time `json:"updated_at"`
}

// Source names the level that answered a status question.
type Source string

const (
	SourceLive    Source = "live"    // the running session in this process
	SourceL1      Source = "l1"      // in-process cache
	SourceL2      Source = "l2"      // Redis
	SourceLaravel Source = "laravel" // GET /api/whatsapp/status/{id}
	SourceNone    Source = "none"    // nobody knows the session
)

// StatusRecord is a status with the time it took effect; newest wins.
type StatusRecord struct {
	SessionID string    `json:"session_id"`
	Status    Status    `json:"estado_qr"`
	Reason    string    `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
