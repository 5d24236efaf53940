package whatsmeow

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
)

// Logout unlinks the session's device from the phone and deletes it and our
// row. If WhatsApp can't be told (not connected), the device is still deleted
// here: the phone then lists it until WhatsApp drops it. It emits no event
// and is a no-op for a session without a device.
func (d *Driver) Logout(ctx context.Context, sessionID string) error {
	if s := d.take(sessionID); s != nil && s.ended.CompareAndSwap(false, true) {
		if s.cli.Store.ID != nil {
			// On success whatsmeow disconnects and deletes the device itself.
			if err := s.cli.Logout(ctx); err != nil && !errors.Is(err, whatsmeow.ErrNotLoggedIn) {
				d.log.Warn("logout: could not unlink on WhatsApp, deleting the device here only",
					"session_id", sessionID, "err", err)
			}
		}
		s.stop()
	}
	found, err := d.forget(ctx, sessionID)
	if err != nil {
		return err
	}
	if found {
		d.log.Info("session logged out", "session_id", sessionID)
	}
	return nil
}

// forget deletes the stored device of a session and our row; found says
// whether there was a row.
func (d *Driver) forget(ctx context.Context, sessionID string) (found bool, err error) {
	raw, err := d.sessions.get(ctx, sessionID)
	if err != nil || raw == "" {
		return false, err
	}
	jid, err := types.ParseJID(raw)
	if err != nil {
		return true, d.sessions.delete(ctx, sessionID) // unusable row: drop it
	}
	dev, err := d.container.GetDevice(ctx, jid)
	if err != nil {
		return true, fmt.Errorf("load device of session %s: %w", sessionID, err)
	}
	if dev != nil {
		if err := dev.Delete(ctx); err != nil {
			return true, fmt.Errorf("delete device of session %s: %w", sessionID, err)
		}
	}
	return true, d.sessions.delete(ctx, sessionID)
}
