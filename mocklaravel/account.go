package mocklaravel

import (
	"encoding/json"
	"fmt"
	"time"
)

// TimeFormat is how the mock writes times: RFC 3339 with milliseconds, UTC.
// (The same layout as service.TimeFormat; the mock does not import the
// gateway it is a stand-in for, so a shared bug cannot hide on both sides.)
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// The estado_qr values Laravel accepts.
const (
	StatusPending  = "pending"
	StatusActive   = "active"
	StatusInactive = "inactive"
	StatusExpired  = "expired"
)

func validStatus(s string) bool {
	switch s {
	case StatusPending, StatusActive, StatusInactive, StatusExpired:
		return true
	}
	return false
}

// Account is one row of whatsapp_accounts. Zero times and an empty QRCode
// are NULL in the table and null in JSON.
type Account struct {
	SessionID        string
	EstadoQR         string
	QRCode           string
	QRGeneratedAt    time.Time
	LastStatusUpdate time.Time
}

type accountJSON struct {
	SessionID        string  `json:"session_id"`
	EstadoQR         string  `json:"estado_qr"`
	QRCode           *string `json:"qr_code"`
	QRGeneratedAt    *string `json:"qr_generated_at"`
	LastStatusUpdate *string `json:"last_status_update"`
}

// MarshalJSON writes times in TimeFormat (UTC) and absent values as null.
func (a Account) MarshalJSON() ([]byte, error) {
	j := accountJSON{SessionID: a.SessionID, EstadoQR: a.EstadoQR, QRGeneratedAt: formatTime(a.QRGeneratedAt),
		LastStatusUpdate: formatTime(a.LastStatusUpdate)}
	if a.QRCode != "" {
		j.QRCode = &a.QRCode
	}
	return json.Marshal(j)
}

// UnmarshalJSON accepts RFC 3339 times with or without fractional seconds.
func (a *Account) UnmarshalJSON(b []byte) error {
	var j accountJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Account{SessionID: j.SessionID, EstadoQR: j.EstadoQR}
	if j.QRCode != nil {
		out.QRCode = *j.QRCode
	}
	var err error
	if out.QRGeneratedAt, err = parseOptionalTime(j.QRGeneratedAt); err != nil {
		return fmt.Errorf("qr_generated_at: %w", err)
	}
	if out.LastStatusUpdate, err = parseOptionalTime(j.LastStatusUpdate); err != nil {
		return fmt.Errorf("last_status_update: %w", err)
	}
	*a = out
	return nil
}

func formatTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(TimeFormat)
	return &s
}

func parseOptionalTime(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	return parseTime(*s)
}

// parseTime accepts RFC 3339 with or without fractional seconds.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time: %q", s)
	}
	return t, nil
}
