package whatsmeow

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestWALoggerWritesStructuredRecords(t *testing.T) {
	tests := []struct {
		name      string
		level     slog.Level
		emit      func(l *slogLogger)
		wantMsg   string
		wantLevel string
		wantNone  bool
	}{
		{"error", slog.LevelDebug, func(l *slogLogger) { l.Errorf("dial %s: %d", "x", 3) }, "dial x: 3", "ERROR", false},
		{"warn", slog.LevelDebug, func(l *slogLogger) { l.Warnf("w") }, "w", "WARN", false},
		{"info", slog.LevelDebug, func(l *slogLogger) { l.Infof("i") }, "i", "INFO", false},
		{"debug", slog.LevelDebug, func(l *slogLogger) { l.Debugf("d") }, "d", "DEBUG", false},
		{"debug filtered", slog.LevelInfo, func(l *slogLogger) { l.Debugf("d") }, "", "", true},
		{"qr redacted", slog.LevelDebug, func(l *slogLogger) { l.Debugf("Emitting QR code %s", "2@secret") }, "Emitting QR code [redacted]", "DEBUG", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tt.level}))
			l := newWALogger(base, "whatsmeow").Sub("s1").Sub("Socket").(*slogLogger)
			tt.emit(l)
			if tt.wantNone {
				if buf.Len() != 0 {
					t.Fatalf("want no record, got %s", buf.String())
				}
				return
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not JSON: %v: %s", err, buf.String())
			}
			if rec["msg"] != tt.wantMsg || rec["level"] != tt.wantLevel || rec["module"] != "whatsmeow/s1/Socket" {
				t.Fatalf("got %v", rec)
			}
			if strings.Contains(buf.String(), "secret") {
				t.Fatalf("secret leaked: %s", buf.String())
			}
		})
	}
}
