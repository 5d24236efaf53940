//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

// Redis is a Redis server in a container, published on a fixed host port so
// its URL survives Stop/Start (a gateway keeps the same REDIS_URL across a
// Redis restart). It runs with AOF persistence on, as production must: the
// outbox is only durable if Redis is.
type Redis struct {
	URL       string // redis://127.0.0.1:<port>/0
	Container *tcredis.RedisContainer
}

// redisImage is REDIS_IMAGE (make e2e exports the pulled or locally built one).
func redisImage() string {
	if img := os.Getenv("REDIS_IMAGE"); img != "" {
		return img
	}
	return "redis:7-alpine"
}

// startRedis runs a fresh Redis container and removes it when the test
// ends; opts add to the container request (e.g. a network alias).
func startRedis(t *testing.T, opts ...testcontainers.ContainerCustomizer) *Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	port := freePort(t)
	binding := network.PortBinding{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(port)}
	opts = append([]testcontainers.ContainerCustomizer{
		// Every write reaches the append-only file before Redis answers it
		// (fsync each second), so a killed Redis comes back with it.
		testcontainers.WithCmd("redis-server", "--appendonly", "yes"),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{network.MustParsePort("6379/tcp"): {binding}}
		}),
	}, opts...)
	ctr, err := tcredis.Run(ctx, redisImage(), opts...)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("start redis container (%s): %v", redisImage(), err)
	}
	return &Redis{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Container: ctr}
}

// Client returns a go-redis client on r, closed when the test ends.
func (r *Redis) Client(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop stops the container (data in memory is lost unless persisted).
func (r *Redis) Stop(t *testing.T) {
	t.Helper()
	timeout := 5 * time.Second
	if err := r.Container.Stop(context.Background(), &timeout); err != nil {
		t.Fatalf("stop redis: %v", err)
	}
}

// Kill is kill -9 of the Redis server: no shutdown code runs, no snapshot
// is written; what survives is what the append-only file holds.
func (r *Redis) Kill(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	defer cli.Close()
	if _, err := cli.ContainerKill(ctx, r.Container.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatalf("kill redis: %v", err)
	}
	for {
		st, err := r.Container.State(ctx)
		if err != nil {
			t.Fatalf("redis state: %v", err)
		}
		if !st.Running {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("redis still running after kill")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Start starts a stopped container again on the same host port and waits until it is ready.
func (r *Redis) Start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Container.Start(ctx); err != nil {
		t.Fatalf("start redis: %v", err)
	}
}

// OutboxLen is how many items wait in the gateway's outbox streams
// (delivered items are deleted from them).
func (r *Redis) OutboxLen(t *testing.T) int64 {
	t.Helper()
	rdb := r.Client(t)
	var n int64
	for _, lane := range []string{"high", "normal"} {
		l, err := rdb.XLen(context.Background(), "wagateway:{core}:outbox:"+lane).Result()
		if err != nil {
			t.Fatalf("XLEN outbox %s: %v", lane, err)
		}
		n += l
	}
	return n
}
