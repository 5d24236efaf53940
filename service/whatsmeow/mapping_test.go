package whatsmeow

import (
	"errors"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/types/events"

	"wagateway/service"
)

// Outcomes the offline harness can't provoke through server messages.
func TestEndingOf(t *testing.T) {
	tests := []struct {
		name       string
		evt        any
		wantOK     bool
		wantReason string
		wantDetail string
		deviceGone bool
	}{
		{"ban without end", &events.TemporaryBan{Code: events.TempBanBlockedByUsers}, true, service.ReasonTemporaryBan, "too many people blocked you", false},
		{"logged out, other reason", &events.LoggedOut{Reason: events.ConnectFailureReason(400)}, true, service.ReasonLoggedOut, "scan a new QR code", true},
		{"other permanent disconnect", &events.CATRefreshError{Error: errors.New("boom")}, true, service.ReasonNetwork, "CAT refresh failed", false},
		{"pair error", &events.PairError{Error: errors.New("hmac mismatch")}, true, service.ReasonPairError, "hmac mismatch", false},
		{"transient", &events.Disconnected{}, false, "", "", false},
		{"unrelated", &events.Message{}, false, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := endingOf(tt.evt, testNow)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if e.ev.Type != service.EventClosed || e.ev.Reason != tt.wantReason || !strings.Contains(e.ev.Detail, tt.wantDetail) || e.deviceIsGone != tt.deviceGone {
				t.Fatalf("got %+v", e)
			}
		})
	}
}
