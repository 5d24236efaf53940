//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wagateway/internal/logtest"
)

// Gateway is the gateway binary running as a separate process.
type Gateway struct {
	URL string   // http://127.0.0.1:<port>
	Env []string // the environment it was started with; startGateway(t, g.Env...) restarts it alike

	cmd       *exec.Cmd
	startedAt time.Time
	logs      *logtest.Buffer // the process's output; the process writes while tests read
	done      chan struct{}   // closed when the process has exited
	err       error           // Wait's result, valid after done
}

// startGateway runs the gateway with test defaults (simulated phones, a
// private store, debug logs, a free port) overridden by env ("K=V"; later
// entries win), waits until /health answers and kills it when the test ends.
func startGateway(t *testing.T, env ...string) *Gateway {
	t.Helper()
	dir := t.TempDir()
	base := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		fmt.Sprintf("GATEWAY_ADDR=127.0.0.1:%d", freePort(t)),
		"WA_DRIVER=sim",
		"WA_STORE=file:" + filepath.Join(dir, "whatsmeow.db"),
		fmt.Sprintf("LARAVEL_URL=http://127.0.0.1:%d", freePort(t)), // nobody listens unless a test says so
		"LOG_LEVEL=debug",
		"SHUTDOWN_TIMEOUT=5s",
	}
	g := &Gateway{Env: append(base, env...), logs: &logtest.Buffer{}, done: make(chan struct{})}
	g.URL = "http://" + lookup(g.Env, "GATEWAY_ADDR")

	g.cmd = exec.Command(gatewayBin)
	g.cmd.Env = g.Env
	g.cmd.Dir = dir
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	g.startedAt = time.Now()
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.Kill()
		<-g.done
		if t.Failed() {
			g.dumpLogs(t)
		}
	})
	g.waitReady(t, time.Minute)
	return g
}

// waitReady polls /health until it answers 200; it fails early if the process exits.
func (g *Gateway) waitReady(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/health", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		cancel()
		if err == nil && res.StatusCode == http.StatusOK {
			return
		}
		select {
		case <-g.done:
			t.Fatalf("gateway exited before serving (%v); logs:\n%s", g.err, g.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not healthy after %s; logs:\n%s", limit, g.logs.String())
		}
	}
}

// Signal sends sig (e.g. syscall.SIGTERM) to the gateway.
func (g *Gateway) Signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal gateway: %v", err)
	}
}

// Kill is kill -9: no shutdown code runs.
func (g *Gateway) Kill() { _ = g.cmd.Process.Signal(syscall.SIGKILL) }

// Wait waits for the process to exit and returns its exit code (-1 when killed by a signal).
func (g *Gateway) Wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-g.done:
	case <-time.After(limit):
		t.Fatalf("gateway still running after %s", limit)
	}
	return g.cmd.ProcessState.ExitCode()
}

// dumpLogs saves the gateway's whole log where the failing test can be
// investigated and shows its last lines.
func (g *Gateway) dumpLogs(t *testing.T) {
	logs := g.logs.String()
	f, err := os.CreateTemp("", "wagateway-e2e-"+strings.ReplaceAll(t.Name(), "/", "_")+"-*.log")
	if err == nil {
		_, err = f.WriteString(logs)
		f.Close()
	}
	if err == nil {
		t.Logf("gateway log (%d bytes) saved in %s", len(logs), f.Name())
	}
	lines := strings.Split(strings.TrimRight(logs, "\n"), "\n")
	t.Logf("last lines of the gateway log:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
}

// Logs returns everything the gateway wrote so far (JSON lines).
func (g *Gateway) Logs() string { return g.logs.String() }

// GetJSON GETs path and decodes the JSON answer into out; it returns the status code.
func (g *Gateway) GetJSON(t *testing.T, path string, out any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return res.StatusCode
}

// Health is the body of GET /health.
type Health struct {
	Status         string `json:"status"`
	ActiveSessions int    `json:"activeSessions"`
	Redis          string `json:"redis"`
	Laravel        string `json:"laravel"`
	UptimeS        int64  `json:"uptime_s"`
}

// Health GETs /health.
func (g *Gateway) Health(t *testing.T) Health {
	t.Helper()
	var h Health
	if code := g.GetJSON(t, "/health", &h); code != http.StatusOK {
		t.Fatalf("GET /health = %d", code)
	}
	return h
}

// freePort returns a TCP port free on 127.0.0.1 right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lookup returns the last value of key in env ("K=V" entries), as exec does.
func lookup(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if len(kv) > len(key) && kv[:len(key)+1] == key+"=" {
			v = kv[len(key)+1:]
		}
	}
	return v
}
