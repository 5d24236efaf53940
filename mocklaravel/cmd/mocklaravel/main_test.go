package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"wagateway/mocklaravel"
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

// TestRunServesUntilCancelled starts the command on a free port, calls it,
// and checks that cancelling (what SIGINT/SIGTERM do) shuts it down cleanly.
func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	env := map[string]string{"MOCK_ADDR": "127.0.0.1:0"}
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, &logs, func(a net.Addr) { addrs <- a })
	}()

	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run ended before listening: %v", err)
	}
	c := mocklaravel.NewClient("http://" + addr.String())
	if err := c.Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down"`) {
		t.Errorf("logs do not say it shut down: %s", logs.String())
	}
}
