//go:build e2e

package e2e

import (
	"testing"
	"time"
)

func TestHealthReportsRedis(t *testing.T) {
	t.Run("reachable", func(t *testing.T) {
		r := startRedis(t)
		g := startGateway(t, "REDIS_URL="+r.URL)
		h := g.Health(t)
		if h.Status != "ok" || h.Redis != "up" {
			t.Errorf("health = %+v, want status ok and redis up", h)
		}
	})
	t.Run("restarted", func(t *testing.T) {
		r := startRedis(t)
		g := startGateway(t, "REDIS_URL="+r.URL)
		r.Stop(t)
		waitHealth(t, g, "down")
		r.Start(t)
		waitHealth(t, g, "up")
	})
	t.Run("not configured", func(t *testing.T) {
		g := startGateway(t)
		if h := g.Health(t); h.Redis != "disabled" {
			t.Errorf("health = %+v, want redis disabled", h)
		}
	})
}

// waitHealth polls /health until its redis field is want; the gateway notices
// a Redis stop or restart within its own retry intervals, so poll, never sleep once.
func waitHealth(t *testing.T, g *Gateway, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h := g.Health(t)
		if h.Redis == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health redis = %q after 30s, want %q", h.Redis, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
