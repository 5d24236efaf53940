package service

import "time"

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

// StatusRecord is a status with the time it took effect; newest wins.
type StatusRecord struct {
	SessionID string    `json:"session_id"`
	Status    Status    `json:"estado_qr"`
	Reason    string    `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}
