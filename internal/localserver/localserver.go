// Package localserver helps start throwaway servers on this machine (a
// redis-server or Postgres for tests, the load test's children): a free
// loopback port, and clean-up once this process is gone.
package localserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
)

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// OnExit runs the shell script once this process has exited, however it
// ends. Go has no atexit (and a test binary may be killed), so a watchdog
// shell polls for this process and then runs it.
func OnExit(script string) {
	w := exec.Command("sh", "-c", fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; %s", os.Getpid(), script))
	if err := w.Start(); err != nil {
		return
	}
	go func() { _ = w.Wait() }()
}
