package whatsmeow

import (
	"testing"

	"go.mau.fi/whatsmeow/store"

	"wagateway/service"
)

func TestSetWAVersion(t *testing.T) {
	orig := store.GetWAVersion()
	t.Cleanup(func() {
		store.SetWAVersion(orig)
		store.BaseClientPayload.UserAgent.AppVersion = orig.ProtoAppVersion()
	})
	tests := []struct {
		in       string
		want     string
		wantCode string
	}{
		{"", orig.String(), ""},
		{"2.3000.1023456789", "2.3000.1023456789", ""},
		{"2.3000", "2.3000.1023456789", service.EINVALID},
		{"2.x.1", "2.3000.1023456789", service.EINVALID},
		{"0.0.0", "2.3000.1023456789", service.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := setWAVersion(tt.in)
			if service.ErrorCode(err) != tt.wantCode {
				t.Fatalf("setWAVersion(%q) = %v, want code %q", tt.in, err, tt.wantCode)
			}
			if got := waVersion(); got != tt.want {
				t.Fatalf("version %s, want %s", got, tt.want)
			}
			// The login payload must advertise it too, not only the hash.
			av := store.BaseClientPayload.GetUserAgent().GetAppVersion()
			advertised := store.WAVersionContainer{av.GetPrimary(), av.GetSecondary(), av.GetTertiary()}
			if got := advertised.String(); got != tt.want {
				t.Fatalf("login payload advertises %s, want %s", got, tt.want)
			}
		})
	}
}
