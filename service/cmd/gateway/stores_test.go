package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/inmem"
	"wagateway/service/sqlite"
)

func loadConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Without REDIS_URL the default is durable: the embedded store in DATA_DIR,
// and a second gateway on that directory does not start.
func TestOpenStoresDefaultIsTheEmbeddedStore(t *testing.T) {
	dir := t.TempDir()
	cfg := loadConfig(t, map[string]string{"DATA_DIR": dir})
	m := NewMain(cfg, slog.New(slog.DiscardHandler))
	if err := m.openStores(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.local.Close()
	if _, ok := m.outbox.(*sqlite.Outbox); !ok || !m.outbox.Durable() {
		t.Fatalf("default outbox is %T (durable %v), want the sqlite one", m.outbox, m.outbox.Durable())
	}
	if _, ok := m.l2.(*sqlite.Cache); !ok {
		t.Fatalf("default L2 is %T, want the sqlite cache", m.l2)
	}
	if _, ok := m.leases.(*sqlite.Leases); !ok {
		t.Fatalf("default leases are %T, want the sqlite ones", m.leases)
	}
	if cfg.Store != "file:"+dir+"/whatsmeow.db" {
		t.Errorf("WA_STORE default %q is not in DATA_DIR %s", cfg.Store, dir)
	}

	second := NewMain(cfg, slog.New(slog.DiscardHandler))
	err := second.openStores(context.Background())
	if service.ErrorCode(err) != service.ECONFLICT || !strings.Contains(err.Error(), "one gateway process per DATA_DIR") {
		t.Fatalf("second gateway on %s: %v, want a refusal", dir, err)
	}
}

func TestOpenStoresMemoryOnlyWhenAsked(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"OUTBOX": "memory", "DATA_DIR": t.TempDir()})
	m := NewMain(cfg, slog.New(slog.DiscardHandler))
	if err := m.openStores(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.outbox.(*inmem.Outbox); !ok || m.outbox.Durable() {
		t.Fatalf("OUTBOX=memory gave %T (durable %v)", m.outbox, m.outbox.Durable())
	}
	if m.local != nil || m.l2 != nil {
		t.Fatalf("OUTBOX=memory opened a store: local %v, l2 %T", m.local, m.l2)
	}
}
