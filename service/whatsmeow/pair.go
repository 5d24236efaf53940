package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"

	"wagateway/service"
)

// pairingWait bounds how long PairPhone waits for a just-started session to
// reach WhatsApp (it is ready when its first QR code arrives).
const pairingWait = 20 * time.Second

// PairPhone asks WhatsApp for the 8-character code the user types on the
// phone (Linked devices → Link with phone number). The session must be
// started and unpaired; a session that is still connecting is waited for.
func (d *Driver) PairPhone(ctx context.Context, sessionID, phone string) (string, error) {
	d.mu.Lock()
	s := d.live[sessionID]
	d.mu.Unlock()
	switch {
	case s == nil:
		return "", service.Errorf(service.ENOTFOUND, "session %s is not running; start it first", sessionID)
	case s.cli.Store.ID != nil:
		return "", service.Errorf(service.ECONFLICT, "session %s is already paired", sessionID)
	}
	select {
	case <-s.pairing:
	case <-s.ctx.Done():
		return "", service.Errorf(service.ECONFLICT, "session %s ended before it could pair; start it again", sessionID)
	case <-ctx.Done():
		return "", fmt.Errorf("wait for session %s to reach WhatsApp: %w", sessionID, ctx.Err())
	case <-d.clock.After(pairingWait):
		return "", service.Errorf(service.EUNAVAILABLE, "session %s could not reach WhatsApp in %s; retry later", sessionID, pairingWait)
	}
	code, err := s.cli.PairPhone(ctx, phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	switch {
	case errors.Is(err, whatsmeow.ErrPhoneNumberTooShort), errors.Is(err, whatsmeow.ErrPhoneNumberIsNotInternational):
		return "", service.Errorf(service.EINVALID, "phone must be international, digits with country code: %v", err)
	case errors.Is(err, whatsmeow.ErrNotConnected):
		return "", service.Errorf(service.EUNAVAILABLE, "session %s is not connected to WhatsApp; retry later", sessionID)
	case err != nil:
		return "", fmt.Errorf("pair session %s by phone: %w", sessionID, err)
	}
	return strings.ReplaceAll(code, "-", ""), nil
}
