package whatsmeow

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// slogLogger adapts whatsmeow's printf-style logger to structured slog records.
type slogLogger struct {
	l      *slog.Logger
	module string
}

// newWALogger returns a waLog.Logger writing to l with a "module" attribute.
func newWALogger(l *slog.Logger, module string) waLog.Logger {
	return &slogLogger{l: l, module: module}
}

func (s *slogLogger) Errorf(msg string, args ...any) { s.log(slog.LevelError, msg, args) }
func (s *slogLogger) Warnf(msg string, args ...any)  { s.log(slog.LevelWarn, msg, args) }
func (s *slogLogger) Infof(msg string, args ...any)  { s.log(slog.LevelInfo, msg, args) }
func (s *slogLogger) Debugf(msg string, args ...any) { s.log(slog.LevelDebug, msg, args) }

func (s *slogLogger) Sub(module string) waLog.Logger {
	if s.module != "" {
		module = s.module + "/" + module
	}
	return &slogLogger{l: s.l, module: module}
}

func (s *slogLogger) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	// whatsmeow logs every frame at debug: skip the formatting when nobody listens.
	if !s.l.Enabled(ctx, level) {
		return
	}
	// The QR channel logs raw pairing codes, which are secrets until scanned.
	if strings.HasPrefix(msg, "Emitting QR code") {
		msg, args = "Emitting QR code [redacted]", nil
	}
	s.l.Log(ctx, level, fmt.Sprintf(msg, args...), "module", s.module)
}
