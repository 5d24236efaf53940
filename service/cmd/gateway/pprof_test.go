package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wagateway/service/config"
)

// TestPprofOnlyWhenConfigured runs the wiring twice: without PPROF_ADDR
// nothing serves profiles (the API does not either); with it, profiles are
// on their own loopback listener until Close.
func TestPprofOnlyWhenConfigured(t *testing.T) {
	lv := httptest.NewServer(&laravelStub{})
	defer lv.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(url string) (int, string, error) {
		res, err := client.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}
	run := func(pprofAddr string) *Main {
		env := map[string]string{
			"GATEWAY_ADDR": "127.0.0.1:0", "LARAVEL_URL": lv.URL, "WA_DRIVER": "sim", "PPROF_ADDR": pprofAddr,
			"OUTBOX": "memory",
		}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		m := NewMain(cfg, slog.New(slog.DiscardHandler))
		if err := m.Run(t.Context()); err != nil {
			m.Close()
			t.Fatal(err)
		}
		return m
	}

	off := run("")
	if off.pprof != nil {
		t.Error("pprof started without PPROF_ADDR")
	}
	if code, _, err := get("http://" + off.Addr() + "/debug/pprof/"); err != nil || code == http.StatusOK {
		t.Errorf("API serves /debug/pprof/: %d %v", code, err)
	}
	if err := off.Close(); err != nil {
		t.Fatal(err)
	}

	on := run("127.0.0.1:0")
	if on.pprof == nil {
		t.Fatal("PPROF_ADDR set, pprof not started")
	}
	addr := "http://" + on.pprof.Addr()
	if code, body, err := get(addr + "/debug/pprof/"); err != nil || code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof index: %d %v %.80q", code, err, body)
	}
	if code, body, err := get(addr + "/debug/pprof/goroutine?debug=1"); err != nil || code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile: %d %v %.80q", code, err, body)
	}
	if err := on.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(addr + "/debug/pprof/"); err == nil {
		t.Error("pprof still serving after Close")
	}
}
