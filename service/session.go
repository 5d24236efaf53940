package service

import (
	"fmt"
	"regexp"
	"time"
)

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

// Session is what the gateway knows about one WhatsApp session.
type Session struct {
	ID        string    `json:"session_id"`
	Status    Status    `json:"estado_qr"`
	Reason    string    `json:"reason,omitempty"` // why it is inactive/expired, for humans
	QR        *QR       `json:"-"`
	JID       string    `json:"jid,omitempty"` // the linked phone, once paired
	UpdatedAt time.Time `json:"updated_at"`
	// Instance names the gateway instance running the session ("" when none does).
	Instance string `json:"instance,omitempty"`
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
