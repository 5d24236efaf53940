//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"wagateway/internal/logtest"
	"wagateway/mocklaravel"
	"wagateway/service"
	"wagateway/service/sqlite"
)

// embeddedEnv is a gateway without Redis on the durable embedded store in
// dataDir: the default a newcomer gets. Phones pair only when told (Scan),
// at real speed, so no session expires behind the test's back.
func embeddedEnv(l *Laravel, dataDir string, extra ...string) []string {
	env := []string{
		"LARAVEL_URL=" + l.URL,
		"DATA_DIR=" + dataDir,
		"SIM_SCAN_PROBABILITY=0",
		"BATCH_INTERVAL=500ms",
		"PRIORITY_INTERVAL=100ms",
	}
	return append(env, extra...)
}

// outboxLeft opens dataDir the way the gateway does (so only once it has
// exited) and counts what still waits in its outbox.
func outboxLeft(t *testing.T, dataDir string) int {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Dir: dataDir})
	if err != nil {
		t.Fatalf("open the data directory after the gateway: %v", err)
	}
	defer db.Close()
	ob, err := sqlite.NewOutbox(ctx, db, sqlite.OutboxConfig{Consumer: "e2e-inspect"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ob.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.Depth[service.LaneHigh] + st.Depth[service.LaneNormal]
}

// The newcomer run: no Redis, Laravel down, 20 sessions close,
// kill -9, restart, Laravel back: all 20 inactive statuses arrive, because
// they waited in DATA_DIR and not in memory.
func TestEmbeddedKill9ThenRestartDelivers(t *testing.T) {
	l := startLaravel(t)
	dataDir := t.TempDir()
	env := embeddedEnv(l, dataDir, "INSTANCE_ID=gw-first")
	g := startGateway(t, env...)
	if m := g.BatchMetrics(t); !m.Durable {
		t.Fatal("the default outbox without REDIS_URL says it is not durable")
	}
	ids := startMany(t, g, "emb", 20)
	for _, id := range ids {
		waitFor(t, 30*time.Second, id+" showing a QR", func() bool { return g.Session(t, id).Status == "pending" })
		g.Scan(t, id)
	}
	active := map[string]string{}
	for _, id := range ids {
		active[id] = "active"
	}
	waitDelivered(t, l, active, 60*time.Second)

	l.SetFaults(t, mocklaravel.Faults{Down: true})
	failedBefore := g.BatchMetrics(t).Failed
	for _, id := range ids {
		g.CloseSession(t, id)
	}
	want := map[string]string{}
	for _, id := range ids {
		want[id] = "inactive"
	}
	waitFor(t, 30*time.Second, "all 20 inactive statuses accepted and a delivery refused", func() bool {
		got := published(g.Logs())
		for id := range want {
			if got[id] != "inactive" {
				return false
			}
		}
		return g.BatchMetrics(t).Failed > failedBefore
	})
	pending := g.BatchMetrics(t).Pending()
	g.Kill()
	g.Wait(t, 10*time.Second)
	if pending < len(ids) {
		t.Fatalf("only %d items waited when the gateway was killed, want at least %d", pending, len(ids))
	}
	t.Logf("killed with %d items waiting in %s", pending, dataDir)

	// Another INSTANCE_ID, as a restart with the host-pid default gets.
	g2 := startGateway(t, append(env, "INSTANCE_ID=gw-restarted")...)
	if n := g2.BatchMetrics(t).Pending(); n < len(ids) {
		t.Fatalf("the restarted gateway sees %d items waiting, want at least %d", n, len(ids))
	}
	l.SetFaults(t, mocklaravel.Faults{})
	waitDelivered(t, l, want, 60*time.Second)
	waitFor(t, 30*time.Second, "the outbox empty", func() bool { return g2.BatchMetrics(t).Pending() == 0 })
	if sent := g2.BatchMetrics(t).Sent; sent < int64(len(ids)) {
		t.Errorf("the restarted gateway sent %d items, want the %d it found", sent, len(ids))
	}
}

// SIGTERM without Redis: everything pending reaches Laravel before the
// process exits 0, and nothing is left in DATA_DIR.
func TestEmbeddedSigtermDeliversPending(t *testing.T) {
	l := startLaravel(t)
	dataDir := t.TempDir()
	// Lanes flush every 30 min / 1 h and only at 500 items: everything
	// accepted stays pending until the shutdown flush.
	g := startGateway(t, embeddedEnv(l, dataDir, "BATCH_INTERVAL=1h", "PRIORITY_INTERVAL=30m", "BATCH_SIZE=500",
		"SHUTDOWN_TIMEOUT=30s")...)
	ids := startMany(t, g, "term", 30)
	for _, id := range ids[:10] {
		waitFor(t, 30*time.Second, id+" showing a QR", func() bool { return g.Session(t, id).Status == "pending" })
		g.Scan(t, id)
	}
	waitFor(t, 30*time.Second, "items pending in the outbox", func() bool {
		got := published(g.Logs())
		for _, id := range ids[:10] {
			if got[id] != "active" {
				return false
			}
		}
		return g.BatchMetrics(t).Pending() >= 40
	})
	if n := len(l.BatchRequests()); n != 0 {
		t.Fatalf("Laravel got %d requests before the shutdown: the scenario needs items pending", n)
	}
	pending := g.BatchMetrics(t).Pending()

	g.Signal(t, syscall.SIGTERM)
	if code := g.Wait(t, 60*time.Second); code != 0 {
		t.Fatalf("gateway exited %d after SIGTERM, want 0", code)
	}
	want := published(g.Logs())
	t.Logf("%d sessions, %d items pending at SIGTERM; Laravel got %d requests", len(ids), pending, len(l.BatchRequests()))
	for _, id := range ids {
		if want[id] != "inactive" {
			t.Errorf("session %s: last accepted status %q, want inactive (stopped by the shutdown)", id, want[id])
		}
	}
	waitDelivered(t, l, want, 5*time.Second) // the process is gone: it is there or lost
	if n := outboxLeft(t, dataDir); n != 0 {
		t.Errorf("%d items left in %s after the shutdown", n, dataDir)
	}
}

// Two gateways on one DATA_DIR would deliver each other's claims and write
// one file from two processes: the second refuses to start, saying why.
func TestEmbeddedSecondProcessOnOneDataDirRefused(t *testing.T) {
	l := startLaravel(t)
	dataDir := t.TempDir()
	first := startGateway(t, embeddedEnv(l, dataDir)...)

	home := t.TempDir()
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "WA_DRIVER=sim",
		fmt.Sprintf("GATEWAY_ADDR=127.0.0.1:%d", freePort(t))}, embeddedEnv(l, dataDir)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gatewayBin)
	cmd.Env, cmd.Dir = env, home
	var logs logtest.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("second gateway on %s: %v (want exit code 1); logs:\n%s", dataDir, err, logs.String())
	}
	out := logs.String()
	wantPid := fmt.Sprintf("process %d", first.cmd.Process.Pid)
	if !strings.Contains(out, "in use by "+wantPid) || !strings.Contains(out, "DATA_DIR") {
		t.Errorf("the refusal does not say who holds %s (%s):\n%s", dataDir, wantPid, out)
	}
	// The first one is unharmed and keeps serving.
	if h := first.Health(t); h.Status == "" {
		t.Errorf("first gateway's health after the refused start: %+v", h)
	}
}
