package whatsmeow

import (
	"log/slog"

	"go.mau.fi/whatsmeow/store"

	"wagateway/service"
)

// Config configures the whatsmeow driver.
type Config struct {
	// Store is WA_STORE: "file:data/whatsmeow.db" (SQLite, its directory is
	// created) or a "postgres://…" URL.
	Store string
	// Version is WA_VERSION, the WhatsApp Web version to advertise, like
	// "2.3000.1023456789". Empty keeps whatsmeow's built-in one.
	Version string
	// Logger receives the driver's and whatsmeow's logs; nil discards them.
	Logger *slog.Logger
	// EventBuffer is the capacity of Events(); 0 means 256.
	EventBuffer int
	// Clock stamps events; nil means the system clock.
	Clock service.Clock
}

const defaultEventBuffer = 256

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler) // loggers are injected; none means quiet
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = defaultEventBuffer
	}
	if c.Clock == nil {
		c.Clock = service.SystemClock{}
	}
	return c
}

// setWAVersion makes whatsmeow advertise version v ("" keeps the built-in).
// It is process-wide: whatsmeow keeps the version in package variables.
func setWAVersion(v string) error {
	if v == "" {
		return nil
	}
	parsed, err := store.ParseVersion(v)
	if err != nil || parsed.IsZero() {
		return service.Errorf(service.EINVALID, "WA_VERSION must look like 2.3000.1023456789, got %q", v)
	}
	store.SetWAVersion(parsed)
	// The pinned whatsmeow copies the version into the login payload at init
	// and SetWAVersion does not refresh it, so do it here.
	store.BaseClientPayload.UserAgent.AppVersion = parsed.ProtoAppVersion()
	return nil
}

// waVersion is the version whatsmeow currently advertises, for messages.
func waVersion() string { return store.GetWAVersion().String() }
