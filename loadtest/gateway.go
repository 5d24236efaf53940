package loadtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// BuildGateway compiles ./service/cmd/gateway of the module at root into
// dir once, so every mode runs the same binary as a child process whose
// CPU and memory /proc can show.
func BuildGateway(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "gateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./service/cmd/gateway")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./service/cmd/gateway: %w\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot walks up from the working directory to the go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the wagateway module")
		}
		dir = parent
	}
}

// GatewayProcess is a running gateway child.
type GatewayProcess struct {
	URL     string
	Pid     int
	LogPath string
	cmd     *exec.Cmd
	done    chan error
}

// StartGateway runs bin with env (plus PATH, HOME and TMPDIR, nothing else
// of ours, so a developer's own REDIS_URL or API_KEY cannot leak in) and
// waits until GET /health answers.
func StartGateway(ctx context.Context, bin, dir, name string, addr string, env []string) (*GatewayProcess, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("gateway log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}, env...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the load test
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	g := &GatewayProcess{URL: "http://" + addr, Pid: cmd.Process.Pid, LogPath: logPath, cmd: cmd, done: make(chan error, 1)}
	go func() { g.done <- cmd.Wait() }()

	api := NewGatewayClient(g.URL, 1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		err := api.Health(hctx)
		cancel()
		if err == nil {
			return g, nil
		}
		select {
		case werr := <-g.done:
			return nil, fmt.Errorf("gateway exited at start-up (%v): see %s", werr, logPath)
		case <-ctx.Done():
			_ = g.Stop(5 * time.Second)
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = g.Stop(5 * time.Second)
			return nil, fmt.Errorf("gateway not healthy within 30 s (last: %v): see %s", err, logPath)
		}
	}
}

// Stop sends SIGTERM (the gateway flushes and exits) and kills it after grace.
func (g *GatewayProcess) Stop(grace time.Duration) error {
	if g == nil {
		return nil
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			return fmt.Errorf("wait gateway: %w", err)
		}
		return nil
	case <-time.After(grace):
		_ = g.cmd.Process.Kill()
		<-g.done
		return fmt.Errorf("gateway did not stop within %s: killed", grace)
	}
}
