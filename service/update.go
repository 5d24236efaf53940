package service

import (
	"fmt"
	"time"
)

// TimeFormat is how every event time travels to Laravel: RFC 3339 with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Kind says which Laravel endpoint an outbox item goes to.
type Kind string

const (
	KindQR     Kind = "qr"     // POST /api/qr/batch
	KindStatus Kind = "status" // POST /api/whatsapp/status/batch
)

// Update is one QR code or status change for Laravel, waiting in the outbox
// until Laravel has it.
type Update struct {
	ID        string    `json:"id,omitempty"` // assigned by the Outbox on Add
	Kind      Kind      `json:"kind"`
	Lane      Lane      `json:"lane"`
	SessionID string    `json:"session_id"`
	QR        string    `json:"qr,omitempty"`     // PNG data URL, KindQR only
	Status    Status    `json:"status,omitempty"` // KindStatus only
	Reason    string    `json:"reason,omitempty"` // why the status changed (not sent to Laravel)
	At        time.Time `json:"at"`               // event time: generated_at / updated_at
	Attempts  int       `json:"attempts,omitempty"`
	// Lease, when set, is the session's lease held by the instance that
	// made the update: a durable outbox shared by instances refuses the
	// update (ECONFLICT) once that lease is no longer current, so an
	// instance that paused past its lease cannot report for a session
	// another instance runs now. Never stored or sent.
	Lease *Lease `json:"-"`
}

// Key identifies what an item updates; a newer item with the same key
// supersedes an older pending one.
func (it Update) Key() string { return string(it.Kind) + ":" + it.SessionID }

// Newer reports whether it should win over other for the same Key: the later
// event time, and on a tie the later outbox id.
func (it Update) Newer(other Update) bool {
	if !it.At.Equal(other.At) {
		return it.At.After(other.At)
	}
	return CompareIDs(it.ID, other.ID) > 0
}

// Validate checks an item before it enters the outbox.
func (it Update) Validate() error {
	if err := ValidateSessionID(it.SessionID); err != nil {
		return err
	}
	if !it.Lane.Valid() {
		return Errorf(EINVALID, "unknown lane %q", it.Lane)
	}
	if it.At.IsZero() {
		return Errorf(EINVALID, "item for %s has no event time", it.SessionID)
	}
	switch it.Kind {
	case KindQR:
		if it.QR == "" {
			return Errorf(EINVALID, "QR item for %s has no QR", it.SessionID)
		}
	case KindStatus:
		if !it.Status.Valid() {
			return Errorf(EINVALID, "status item for %s has unknown status %q", it.SessionID, it.Status)
		}
	default:
		return Errorf(EINVALID, "unknown item kind %q", it.Kind)
	}
	return nil
}

func (it Update) String() string {
	if it.Kind == KindQR {
		return fmt.Sprintf("%s qr %s@%s", it.Lane, it.SessionID, it.At.Format(TimeFormat))
	}
	return fmt.Sprintf("%s status %s=%s@%s", it.Lane, it.SessionID, it.Status, it.At.Format(TimeFormat))
}

// CompareIDs orders outbox ids: Redis stream ids ("ms-seq") and plain
// counters both compare as numbers part by part; longer numbers are larger.
func CompareIDs(a, b string) int {
	for a != "" || b != "" {
		pa, ra := cutDash(a)
		pb, rb := cutDash(b)
		if len(pa) != len(pb) {
			if len(pa) < len(pb) {
				return -1
			}
			return 1
		}
		if pa != pb {
			if pa < pb {
				return -1
			}
			return 1
		}
		a, b = ra, rb
	}
	return 0
}

func cutDash(s string) (head, rest string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
