package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow"

	"wagateway/service"
)

// PairPhone asks WhatsApp for the 8-character code the user types on the
// phone (Linked devices → Link with phone number). The session must be
// started, unpaired, and connected (its first QR code has arrived).
func (d *Driver) PairPhone(ctx context.Context, sessionID, phone string) (string, error) {
	d.mu.Lock()
	s := d.live[sessionID]
	d.mu.Unlock()
	switch {
	case s == nil:
		return "", service.Errorf(service.ENOTFOUND, "session %s is not running; start it first", sessionID)
	case s.cli.Store.ID != nil:
		return "", service.Errorf(service.ECONFLICT, "session %s is already paired", sessionID)
	case !s.cli.IsConnected():
		return "", service.Errorf(service.ECONFLICT,
			"session %s is not connected to WhatsApp yet; wait for its first QR code and retry", sessionID)
	}
	code, err := s.cli.PairPhone(ctx, phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	switch {
	case errors.Is(err, whatsmeow.ErrPhoneNumberTooShort), errors.Is(err, whatsmeow.ErrPhoneNumberIsNotInternational):
		return "", service.Errorf(service.EINVALID, "phone must be international, digits with country code: %v", err)
	case err != nil:
		return "", fmt.Errorf("pair session %s by phone: %w", sessionID, err)
	}
	return strings.ReplaceAll(code, "-", ""), nil
}
