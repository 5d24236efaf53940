package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wagateway/internal/localserver"
)

// SentinelMaster is the master name the test Sentinels monitor.
const SentinelMaster = "wagateway"

// Sentinel is a real Sentinel setup: a master, one replica and three
// Sentinels (quorum 2), each a redis-server on a free loopback port.
type Sentinel struct {
	Master    string   // host:port of the first master
	Replica   string   // host:port of its replica
	Sentinels []string // host:port of the Sentinels
}

// URL is the REDIS_URL naming this setup (redis-sentinel://…?master=…).
func (s *Sentinel) URL() string {
	return "redis-sentinel://" + strings.Join(s.Sentinels, ",") + "/0?master=" + SentinelMaster
}

// Client returns a failover client through the Sentinels, closed when the
// test ends.
func (s *Sentinel) Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: s.Sentinels})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// CurrentMaster asks a Sentinel which address is the master now.
func (s *Sentinel) CurrentMaster(ctx context.Context) (string, error) {
	var lastErr error
	for _, a := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: a})
		addr, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
		_ = c.Close()
		if err == nil && len(addr) == 2 {
			return addr[0] + ":" + addr[1], nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("no sentinel names a master: %w", lastErr)
}

// Failover makes the Sentinels promote the replica now, and waits until
// they name a different master.
func (s *Sentinel) Failover(ctx context.Context) (string, error) {
	before, err := s.CurrentMaster(ctx)
	if err != nil {
		return "", err
	}
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer c.Close()
	if err := c.Failover(ctx, SentinelMaster).Err(); err != nil {
		return "", fmt.Errorf("sentinel failover: %w", err)
	}
	for {
		now, err := s.CurrentMaster(ctx)
		if err == nil && now != before {
			return now, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("failover did not finish (master still %s): %w", before, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// CutReplica makes the first replica replicate from a port nobody listens
// on: it stays a replica the Sentinels can promote (for down-after × 10,
// 10 s), without any write the master takes from now on. A failover soon
// after loses those writes on Redis, as when Sentinel promotes a replica
// cut off by a network fault.
func (s *Sentinel) CutReplica(ctx context.Context) error {
	port, err := localserver.FreePort()
	if err != nil {
		return err
	}
	c := redis.NewClient(&redis.Options{Addr: s.Replica})
	defer c.Close()
	if err := c.ReplicaOf(ctx, "127.0.0.1", strconv.Itoa(port)).Err(); err != nil {
		return fmt.Errorf("cut replica %s off: %w", s.Replica, err)
	}
	return nil
}

// StartSentinel starts a new Sentinel setup for this test, flushed and
// stopped with the test.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	s, stop, err := startSentinel()
	t.Cleanup(stop)
	if err != nil {
		t.Fatalf("redistest: sentinel: %v", err)
	}
	return s
}

// StartSentinelShared starts a Sentinel setup that lives until the test
// binary exits, for suites that flush it between tests.
func StartSentinelShared(t testing.TB) *Sentinel {
	t.Helper()
	s, _, err := startSentinel()
	if err != nil {
		t.Fatalf("redistest: sentinel: %v", err)
	}
	return s
}

func startSentinel() (*Sentinel, func(), error) {
	var pids []int
	dir, err := os.MkdirTemp("", "redistest-sentinel")
	if err != nil {
		return nil, func() {}, err
	}
	stop := func() {
		for _, pid := range pids {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
		_ = os.RemoveAll(dir)
	}
	localserver.OnExit(fmt.Sprintf("rm -rf '%s'", filepath.Clean(dir)))
	start := func(name string, args ...string) (int, error) {
		port, err := localserver.FreePort()
		if err != nil {
			return 0, err
		}
		pid, err := spawn(dir, name, port, args...)
		if pid != 0 {
			pids = append(pids, pid)
		}
		return port, err
	}
	// The first sync starts at once (Redis waits 5 s for more replicas by
	// default); after a failover the new master keeps that default, as a
	// production one would.
	mport, err := start("master", "--appendonly", "yes", "--repl-diskless-sync-delay", "0")
	if err != nil {
		return nil, stop, err
	}
	rport, err := start("replica", "--appendonly", "yes", "--replicaof", "127.0.0.1", strconv.Itoa(mport))
	if err != nil {
		return nil, stop, err
	}
	s := &Sentinel{Master: fmt.Sprintf("127.0.0.1:%d", mport), Replica: fmt.Sprintf("127.0.0.1:%d", rport)}
	for i := range 3 {
		port, err := localserver.FreePort()
		if err != nil {
			return nil, stop, err
		}
		name := fmt.Sprintf("sentinel%d", i)
		conf := filepath.Join(dir, name+".conf")
		// Sentinel rewrites its config file, so each gets its own.
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\n",
			port, dir, SentinelMaster, mport, SentinelMaster, SentinelMaster)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			return nil, stop, err
		}
		bin, err := exec.LookPath("redis-server")
		if err != nil {
			return nil, stop, fmt.Errorf("no redis-server on PATH")
		}
		cmd := exec.Command(bin, conf, "--sentinel")
		if err := cmd.Start(); err != nil {
			return nil, stop, fmt.Errorf("start %s: %w", name, err)
		}
		pids = append(pids, cmd.Process.Pid)
		localserver.OnExit(fmt.Sprintf("kill %d 2>/dev/null", cmd.Process.Pid))
		go func() { _ = cmd.Wait() }()
		if err := waitPing(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second); err != nil {
			return nil, stop, err
		}
		s.Sentinels = append(s.Sentinels, fmt.Sprintf("127.0.0.1:%d", port))
	}
	// Ready once the replica is in sync (a write can be confirmed by WAIT)
	// and the Sentinels see it (a failover needs a known replica).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer sc.Close()
	rc := redis.NewClient(&redis.Options{Addr: s.Replica})
	defer rc.Close()
	for {
		reps, err := sc.Replicas(ctx, SentinelMaster).Result()
		info, _ := rc.Info(ctx, "replication").Result()
		synced := strings.Contains(info, "master_link_status:up")
		if err == nil && synced && len(reps) > 0 && reps[0]["flags"] == "slave" {
			sents, err := sc.Sentinels(ctx, SentinelMaster).Result()
			if err == nil && len(sents) >= 2 {
				return s, stop, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, stop, fmt.Errorf("sentinels never saw the replica and each other: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// spawn starts a redis-server in its own dir under dir on port (extra
// arguments override the defaults) and waits for PING; it is killed when
// this binary exits.
func spawn(dir, name string, port int, extra ...string) (int, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return 0, fmt.Errorf("no redis-server on PATH")
	}
	nodeDir := filepath.Join(dir, name)
	if err := os.MkdirAll(nodeDir, 0o755); err != nil {
		return 0, err
	}
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", nodeDir}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start redis-server %s: %w", name, err)
	}
	localserver.OnExit(fmt.Sprintf("kill %d 2>/dev/null", cmd.Process.Pid))
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, waitPing(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
}
