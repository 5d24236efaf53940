// Package gatewaytest is what the black-box tests of the gateway binary
// (the e2e and browser build tags) share: building the binary once per
// test run, and polling for what it should come to do (WaitFor, which
// unit tests that poll use too).
package gatewaytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Main is a TestMain body: it builds the gateway into a temporary
// directory, points *bin at it, runs the tests and removes the directory.
// name prefixes its messages and the directory. It returns the exit code.
func Main(m *testing.M, name string, bin *string) int {
	dir, err := os.MkdirTemp("", "wagateway-"+name)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, name+": building the gateway:", err)
		return 1
	}
	return m.Run()
}

// Build builds service/cmd/gateway (static, CGO off) into dir and returns
// the binary's path; the compiler's output goes to stderr.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "gateway")
	build := exec.Command("go", "build", "-o", bin, "wagateway/service/cmd/gateway")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	return bin, build.Run()
}

// WaitFor polls cond every 100 ms until it holds; it fails the test after
// limit, naming what was awaited. Tests never sleep for a fixed time to
// let something happen: machines are shared and slow.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
