package main

import (
	"log/slog"
	"strings"
	"testing"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		addr        string
		noAuto      bool
		level       slog.Level
		seeded      bool
		errContains string
	}{
		{name: "defaults", env: nil, addr: ":8000", level: slog.LevelInfo},
		{name: "everything", env: map[string]string{"MOCK_ADDR": "127.0.0.1:9000", "MOCK_DB": "data/mock.db", "MOCK_TOKEN": "t",
			"MOCK_AUTOCREATE": "false", "MOCK_SEED": "42", "MOCK_LOG_LEVEL": "debug", "MOCK_SIGNING_SECRET": "x"},
			addr: "127.0.0.1:9000", noAuto: true, level: slog.LevelDebug, seeded: true},
		{name: "autocreate true", env: map[string]string{"MOCK_AUTOCREATE": "1"}, addr: ":8000", level: slog.LevelInfo},
		{name: "bad autocreate", env: map[string]string{"MOCK_AUTOCREATE": "maybe"}, errContains: "MOCK_AUTOCREATE"},
		{name: "bad seed", env: map[string]string{"MOCK_SEED": "-1"}, errContains: "MOCK_SEED"},
		{name: "bad level", env: map[string]string{"MOCK_LOG_LEVEL": "loud"}, errContains: "MOCK_LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseEnv(func(k string) string { return tt.env[k] })
			if tt.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errContains) {
					t.Fatalf("err = %v, want one naming %s", err, tt.errContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.addr != tt.addr || st.cfg.DisableAutoCreate != tt.noAuto || st.level != tt.level || (st.cfg.Rand != nil) != tt.seeded {
				t.Errorf("settings %+v", st)
			}
			if st.cfg.DB != tt.env["MOCK_DB"] || st.cfg.Token != tt.env["MOCK_TOKEN"] || st.cfg.SigningSecret != tt.env["MOCK_SIGNING_SECRET"] {
				t.Errorf("config %+v", st.cfg)
			}
		})
	}
}
