package service

import "time"

// QR is one pairing code shown to the phone.
type QR struct {
	SessionID string    `json:"session_id"`
	Code      string    `json:"-"`  // raw code from WhatsApp; never logged
	Image     string    `json:"qr"` // data:image/png;base64,… rendered from Code
	IssuedAt  time.Time `json:"generated_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// QRRenderer turns a raw pairing code into a PNG data URL
// ("data:image/png;base64,…"); injected because rendering needs a library
// (service/qrcode.Render).
type QRRenderer func(code string) (string, error)

// QRImage returns the PNG bytes of a data URL a QRRenderer made; EINVALID
// when it is not one (service/qrcode.PNG).
type QRImage func(dataURL string) ([]byte, error)
