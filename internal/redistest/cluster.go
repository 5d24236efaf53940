package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wagateway/internal/localserver"
)

// ClusterMasters is how many masters StartCluster's Cluster has.
const ClusterMasters = 3

var (
	clusterOnce  sync.Once
	clusterAddrs []string
	clusterErr   error
)

// ClusterAddrs returns the addresses of a real 3-master Redis Cluster
// (redis-server --cluster-enabled yes, slots assigned by redis-cli --cluster
// create) started once per test binary on free loopback ports and stopped
// when the binary exits.
func ClusterAddrs(t testing.TB) []string {
	t.Helper()
	clusterOnce.Do(func() { clusterAddrs, clusterErr = startCluster() })
	if clusterErr != nil {
		t.Fatalf("redistest: cluster: %v", clusterErr)
	}
	return clusterAddrs
}

// ClusterURL is ClusterAddrs as a REDIS_URL (redis-cluster://…).
func ClusterURL(t testing.TB) string {
	return "redis-cluster://" + strings.Join(ClusterAddrs(t), ",")
}

// StartCluster returns a Cluster client on the test Cluster with every
// master flushed, closed when the test ends. Tests on the Cluster share it,
// so they must not run in parallel.
func StartCluster(t testing.TB) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: ClusterAddrs(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.FlushAll(ctx).Err()
	})
	if err != nil {
		t.Fatalf("redistest: flush cluster: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func startCluster() ([]string, error) {
	dir, err := os.MkdirTemp("", "redistest-cluster")
	if err != nil {
		return nil, err
	}
	localserver.OnExit(fmt.Sprintf("rm -rf '%s'", filepath.Clean(dir)))
	var addrs []string
	for i := range ClusterMasters {
		port, err := localserver.FreePort()
		if err != nil {
			return nil, err
		}
		_, err = spawn(dir, fmt.Sprintf("node%d", i), port, "--cluster-enabled", "yes",
			"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", i), "--cluster-node-timeout", "2000")
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("no redis-cli on PATH (apt-get install redis-tools)")
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, out)
	}
	// Every node must agree the Cluster is ok before a client uses it.
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		for {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				_ = c.Close()
				return nil, fmt.Errorf("cluster node %s not ok: %v %s", a, err, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = c.Close()
	}
	return addrs, nil
}

func waitPing(addr string, within time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis on %s not answering: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
