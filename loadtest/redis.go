package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"wagateway/internal/localserver"
)

// RedisServer is a redis-server child process on a free loopback port,
// without persistence: a fresh, empty Redis for one mode of the run.
type RedisServer struct {
	URL  string
	cmd  *exec.Cmd
	done chan error
}

// StartRedis starts bin (redis-server) on 127.0.0.1 and waits until it answers PING.
func StartRedis(ctx context.Context, bin, dir string) (*RedisServer, error) {
	port, err := localserver.FreePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)))
	if err != nil {
		return nil, fmt.Errorf("redis log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
		"--dir", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the load test
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("start %s: %w (apt-get install redis-server, or pass -redis-url)", bin, err)
		}
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	r := &RedisServer{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), cmd: cmd, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()

	c, err := newRedisClient(r.URL)
	if err != nil {
		_ = r.Stop()
		return nil, err
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return r, nil
		}
		select {
		case err := <-r.done:
			return nil, fmt.Errorf("redis-server exited at start-up: %v (see %s)", err, logf.Name())
		case <-ctx.Done():
			_ = r.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = r.Stop()
			return nil, errors.New("redis-server did not answer PING within 10 s")
		}
	}
}

// Stop terminates the server and waits for it.
func (r *RedisServer) Stop() error {
	if r == nil || r.cmd.Process == nil {
		return nil
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	return nil
}

func newRedisClient(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	return redis.NewClient(opts), nil
}

// FlushRedis empties the database of url (only that one).
func FlushRedis(ctx context.Context, url string) error {
	c, err := newRedisClient(url)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("flushdb: %w", err)
	}
	return nil
}

// RedisMemory reads used_memory (bytes) from INFO memory.
func RedisMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("info memory: %w", err)
	}
	return ParseInfoInt(info, "used_memory")
}

// ParseInfoInt returns the integer field key of an INFO reply.
func ParseInfoInt(info, key string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if ok && k == key {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("info %s=%q: %w", key, v, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("info has no %s", key)
}
