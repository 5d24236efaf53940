// Package redistest gives package tests a real Redis: the one REDIS_URL names,
// or a redis-server it starts on a free port. It never fakes Redis.
package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wagateway/internal/localserver"
)

var (
	once   sync.Once
	url    string
	shared bool // url came from REDIS_URL: other test binaries may use it at once
	dbNext = 1
	mu     sync.Mutex
	errAll error
)

// nextDB picks the logical database for the next test, 1..15 in turn. A
// Redis started here belongs to this binary, so a local counter will do; a
// shared REDIS_URL is used by every package's test binary at once (go test
// runs them in parallel), so the counter lives in Redis itself there.
func nextDB(ctx context.Context, opts *redis.Options) (int, error) {
	if !shared {
		mu.Lock()
		defer mu.Unlock()
		db := dbNext
		dbNext = dbNext%15 + 1
		return db, nil
	}
	o := *opts
	o.DB = 0
	c := redis.NewClient(&o)
	defer c.Close()
	n, err := c.Incr(ctx, "redistest:next-db").Result()
	if err != nil {
		return 0, fmt.Errorf("pick a database on REDIS_URL: %w", err)
	}
	return int(n%15) + 1, nil
}

// URL returns a redis:// URL for a Redis dedicated to this test run: REDIS_URL
// when set, else a redis-server started on a free port (stopped when the test
// binary exits, through its parent-death pipe). Skips are not allowed: a test
// that needs Redis and finds none fails.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { url, errAll = start() })
	if errAll != nil {
		t.Fatalf("redistest: %v", errAll)
	}
	return url
}

// Start returns a client on a fresh, empty logical database of the test Redis
// and closes it when the test ends. Tests in one binary get separate databases
// so they can run in parallel.
func Start(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts.DB, err = nextDB(ctx, opts)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("redistest: flush db %d: %v", opts.DB, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func start() (string, error) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		shared = true
		return u, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("no REDIS_URL and no redis-server on PATH (make test installs it; or apt-get install redis-server)")
	}
	port, err := localserver.FreePort()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--databases", "16")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start redis-server: %w", err)
	}
	// Stopped when the test binary exits, however it ends.
	localserver.OnExit(fmt.Sprintf("kill %d 2>/dev/null; rm -rf '%s'", cmd.Process.Pid, filepath.Clean(dir)))
	go func() { _ = cmd.Wait() }()
	u := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	opts, _ := redis.ParseURL(u)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return u, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("redis-server on port %d not answering: %w", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
