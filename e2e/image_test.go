//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"wagateway/internal/logtest"
)

// gatewayImage is GATEWAY_IMAGE: make e2e builds it with scripts/image.sh
// (the same FROM-scratch image `make image` makes) and exports it.
func gatewayImage(t *testing.T) string {
	img := os.Getenv("GATEWAY_IMAGE")
	if img == "" {
		t.Skip("GATEWAY_IMAGE not set: `make e2e` builds the gateway image and sets it (E2E_IMAGE=0 skips)")
	}
	return img
}

// startGatewayContainer runs the gateway image on nw with env, its port 4000
// published on the host; Redis is reachable by its alias, Laravel (this
// process) at host.docker.internal. The returned Gateway serves the API
// helpers and collects the container's log; stop it through ctr.
func startGatewayContainer(t *testing.T, image, nw string, env map[string]string) (*Gateway, testcontainers.Container) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := &Gateway{logs: &logtest.Buffer{}, done: make(chan struct{})}
	ctr, err := testcontainers.Run(ctx, image,
		testcontainers.WithEnv(env),
		testcontainers.WithExposedPorts("4000/tcp"),
		tcnetwork.WithNetworkName([]string{"gateway"}, nw),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.ExtraHosts = append(hc.ExtraHosts, "host.docker.internal:host-gateway")
		}),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/health").WithPort("4000/tcp").WithStartupTimeout(time.Minute)),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("start gateway container (%s): %v", image, err)
	}
	ep, err := ctr.PortEndpoint(ctx, "4000/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	g.URL = ep
	t.Cleanup(func() {
		if t.Failed() {
			readContainerLogs(t, g, ctr)
			g.dumpLogs(t)
		}
	})
	return g, ctr
}

// readContainerLogs replaces g's log with everything the container wrote.
func readContainerLogs(t *testing.T, g *Gateway, ctr testcontainers.Container) {
	t.Helper()
	rc, err := ctr.Logs(context.Background())
	if err != nil {
		t.Logf("container logs: %v", err)
		return
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Logf("container logs: %v", err)
	}
	g.logs = &logtest.Buffer{}
	_, _ = g.logs.Write(b)
}

// The shipped image under SIGTERM (docker stop): the gateway is PID 1 of a
// FROM-scratch image, gets the signal, delivers everything pending and
// exits 0; Redis and Laravel reached over the container network.
func TestImageSigtermDeliversPending(t *testing.T) {
	image := gatewayImage(t)
	ctx := context.Background()
	nw, err := tcnetwork.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nw.Remove(context.Background()) })
	r := startRedis(t, tcnetwork.WithNetwork([]string{"redis"}, nw))
	l := startLaravel(t)
	g, ctr := startGatewayContainer(t, image, nw.Name, map[string]string{
		"WA_DRIVER":            "sim",
		"REDIS_URL":            "redis://redis:6379/0",
		"LARAVEL_URL":          fmt.Sprintf("http://host.docker.internal:%d", l.Port),
		"INSTANCE_ID":          "gw-image",
		"LOG_LEVEL":            "debug",
		"SIM_TIME_SCALE":       "60",
		"SIM_SCAN_PROBABILITY": "0.5",
		"SIM_SCAN_DELAY":       "60s",
		"BATCH_INTERVAL":       "1h",
		"PRIORITY_INTERVAL":    "30m",
		"BATCH_SIZE":           "500",
		"SHUTDOWN_TIMEOUT":     "30s",
	})
	if h := g.Health(t); h.Redis != "up" {
		t.Fatalf("health = %+v, want redis up", h)
	}

	ids := startMany(t, g, "image", 20)
	waitFor(t, 30*time.Second, "items pending in the outbox", func() bool { return g.BatchMetrics(t).Pending() >= 40 })
	if n := len(l.BatchRequests()); n != 0 {
		t.Fatalf("Laravel got %d requests before the stop: the scenario needs items pending", n)
	}

	stop := 40 * time.Second
	if err := ctr.Stop(ctx, &stop); err != nil { // SIGTERM, SIGKILL after 40 s
		t.Fatal(err)
	}
	st, err := ctr.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ExitCode != 0 || st.OOMKilled {
		t.Errorf("container exited %d (OOM %v), want 0", st.ExitCode, st.OOMKilled)
	}
	readContainerLogs(t, g, ctr)
	want := published(g.Logs())
	for _, id := range ids {
		if _, ok := want[id]; !ok {
			t.Errorf("session %s: no status accepted", id)
		}
	}
	waitDelivered(t, l, want, 5*time.Second)
	if n := r.OutboxLen(t); n != 0 {
		t.Errorf("%d items left in the outbox after docker stop", n)
	}
	t.Logf("%d sessions; after docker stop Laravel has all of them in %d requests", len(ids), len(l.BatchRequests()))
}
