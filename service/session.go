package service

import (
	"fmt"
	"time"
)

// maxSessionIDLen bounds session ids, which end up in Redis keys, file names and URLs.
const maxSessionIDLen = 64

// ValidateSessionID returns an EINVALID error unless id matches [A-Za-z0-9_-]{1,64}.
// It runs on every request and every store call, so it loops over bytes instead of
// running a regexp (the fuzz test checks both accept the same ids).
func ValidateSessionID(id string) error {
	if !validSessionID(id) {
		return Errorf(EINVALID, "session_id must match [A-Za-z0-9_-]{1,64}, got %q", truncate(id, 80))
	}
	return nil
}

func validSessionID(id string) bool {
	if len(id) == 0 || len(id) > maxSessionIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
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
