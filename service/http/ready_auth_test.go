package http_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	gwhttp "wagateway/service/http"
)

func TestReadyFollowsItsCheck(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	g := newGateway(t, func(c *gwhttp.Config) {
		c.APIKey = "k" // /ready is open to probes even so
		c.Ready = func(context.Context) error {
			if down.Load() {
				return errors.New("redis: dial tcp 10.0.0.7:6379: connection refused")
			}
			return nil
		}
	})
	r := g.do(t, "GET", "/ready", "")
	if r.status != http.StatusServiceUnavailable || r.json(t)["error"].(map[string]any)["code"] != "unavailable" {
		t.Fatalf("not ready: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "10.0.0.7") {
		t.Errorf("an unauthenticated probe sees the cause: %s", r.body)
	}
	down.Store(false)
	if r := g.do(t, "GET", "/ready", ""); r.status != http.StatusOK || r.json(t)["status"] != "ready" {
		t.Fatalf("ready: %d %s", r.status, r.body)
	}
	// /health stays 200 whatever readiness says.
	down.Store(true)
	if r := g.do(t, "GET", "/health", ""); r.status != http.StatusOK {
		t.Fatalf("health: %d", r.status)
	}
}

// Every route but /health and /ready needs the key, whatever the method.
func TestAPIKeyOnEveryRoute(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "m 1\n") })
	routes := []struct{ method, path, body string }{
		{"POST", "/start", `{"session_id":"a"}`},
		{"GET", "/sessions", ""},
		{"GET", "/sessions/a", ""},
		{"GET", "/sessions/a/qr", ""},
		{"POST", "/sessions/a/logout", ""},
		{"DELETE", "/sessions/a", ""},
		{"POST", "/sessions/a/stop", ""},
		{"POST", "/ui/logout", ""},
		{"POST", "/sessions/a/pair-phone", `{"phone":"5511999990000"}`},
		{"POST", "/sim/sessions/a/scan", ""},
		{"POST", "/sim/sessions/a/close", ""},
		{"GET", "/metrics", ""},
		{"GET", "/metrics/batch", ""},
		{"GET", "/metrics/cache", ""},
		{"GET", "/no-such-route", ""},
	}
	refusals := []struct {
		name    string
		headers []string
	}{
		{"no key", nil},
		{"wrong x-api-key", []string{"X-API-Key", "nope"}},
		{"wrong bearer", []string{"Authorization", "Bearer s3cre"}},
		{"longer bearer", []string{"Authorization", "Bearer s3cret2"}},
		{"key in basic auth", []string{"Authorization", "Basic czNjcmV0"}},
		{"empty bearer", []string{"Authorization", "Bearer "}},
	}
	for _, public := range []bool{false, true} {
		g := newGateway(t, func(c *gwhttp.Config) {
			c.APIKey, c.MetricsPublic, c.Metrics = "s3cret", public, metrics
		})
		for _, rt := range routes {
			open := public && strings.HasPrefix(rt.path, "/metrics")
			for _, rf := range refusals {
				r := g.do(t, rt.method, rt.path, rt.body, rf.headers...)
				if open {
					if r.status == http.StatusUnauthorized {
						t.Errorf("METRICS_PUBLIC: %s %s (%s): 401", rt.method, rt.path, rf.name)
					}
					continue
				}
				if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" ||
					r.json(t)["error"].(map[string]any)["code"] != "unauthorized" {
					t.Errorf("public=%v %s %s (%s): %d %s", public, rt.method, rt.path, rf.name, r.status, r.body)
				}
			}
			// The right key passes authentication (whatever the route then says).
			for _, h := range [][]string{{"X-API-Key", "s3cret"}, {"Authorization", "Bearer s3cret"}, {"Authorization", "bearer s3cret"}} {
				if r := g.do(t, rt.method, rt.path, rt.body, h...); r.status == http.StatusUnauthorized {
					t.Errorf("%s %s with %s: 401", rt.method, rt.path, h[0])
				}
			}
		}
		for _, path := range []string{"/health", "/ready"} {
			if r := g.do(t, "GET", path, ""); r.status != http.StatusOK {
				t.Errorf("%s without a key: %d", path, r.status)
			}
		}
	}
}

func TestNoAPIKeyIsOpen(t *testing.T) {
	g := newGateway(t, nil)
	if r := g.do(t, "GET", "/sessions", ""); r.status != http.StatusOK {
		t.Fatalf("open API: %d %s", r.status, r.body)
	}
}
