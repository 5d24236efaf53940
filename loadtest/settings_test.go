package loadtest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"wagateway/service"
)

func TestSettingsScaleEveryInterval(t *testing.T) {
	one := NewSettings(1, 50)
	if one.Scaled["BATCH_INTERVAL"] != "5s" || one.Scaled["PRIORITY_INTERVAL"] != "1s" || one.Scaled["QR_EXPIRES"] != "2m0s" {
		t.Errorf("real time settings = %v", one.Scaled)
	}
	ten := NewSettings(10, 50)
	want := map[string]string{
		"BATCH_INTERVAL": "500ms", "PRIORITY_INTERVAL": "100ms", "QR_EXPIRES": "12s", "QR_THROTTLE": "3s",
		"CACHE_TTL_QR": "12s", "CACHE_TTL_STATUS": "30s", "CACHE_TTL_CONNECTION": "3s",
	}
	for k, v := range want {
		if ten.Scaled[k] != v {
			t.Errorf("%s = %s, want %s", k, ten.Scaled[k], v)
		}
	}
	li := ten.LaneIntervals()
	if li[service.LaneHigh] != 100*time.Millisecond || li[service.LaneNormal] != 500*time.Millisecond {
		t.Errorf("lane intervals = %v", li)
	}
	// Tiny intervals never round to 0 (the gateway refuses 0).
	if got := NewSettings(5000, 50).Scaled["PRIORITY_INTERVAL"]; got != "1ms" {
		t.Errorf("1s/5000 = %s, want 1ms", got)
	}
}

func TestSettingsEnv(t *testing.T) {
	env := NewSettings(4, 50).Env("direct", "127.0.0.1:1", "http://127.0.0.1:2", "redis://127.0.0.1:3/0", "file:x.db", "/tmp/data-direct")
	for _, want := range []string{"DELIVERY_MODE=direct", "WA_DRIVER=sim", "SIM_TIME_SCALE=4", "SIM_SCAN_PROBABILITY=0",
		"BATCH_INTERVAL=1.25s", "PRIORITY_INTERVAL=250ms", "QR_EXPIRES=30s", "BATCH_SIZE=50", "DATA_DIR=/tmp/data-direct"} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %s: %v", want, env)
		}
	}
}

func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"wagateway.db": 4096, "wagateway.db-wal": 1000, "sub/x": 24} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := DirSize(dir); err != nil || n != 5120 {
		t.Fatalf("DirSize = %d, %v; want 5120", n, err)
	}
	if _, err := DirSize(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("DirSize of a missing directory: no error")
	}
}
