// Package laraveltest serves the real Laravel app (contracts/laravel/host,
// the wagateway/laravel package inside a Laravel 8 app) for Go tests and
// the load test: a `php -S` on a free loopback port over a fresh, migrated
// SQLite file, stopped when the test ends. It needs php with Debian's
// Laravel (`make laravel-test` installs them); tests using it sit behind
// build tags.
package laraveltest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // reads the app's database file, pure Go

	"wagateway/internal/localserver"
)

// Options configure the app through its environment (contracts/laravel/README.md).
type Options struct {
	Token          string // WAGATEWAY_TOKEN; empty: no token asked
	SigningSecret  string // WAGATEWAY_SIGNING_SECRET; empty: signatures not checked
	NoAutocreate   bool   // WAGATEWAY_AUTOCREATE=false
	ProviderStates bool   // PROVIDER_STATES=1
	Workers        int    // PHP_CLI_SERVER_WORKERS; 0 or 1: one process serving one request at a time
}

// App is one running PHP app.
type App struct {
	URL    string // http://127.0.0.1:<port>
	DBPath string // the SQLite file

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// HostDir is contracts/laravel/host in this repository.
func HostDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "contracts", "laravel", "host")
}

// Start serves the app until the test ends; it fails the test if php is
// missing or the app does not answer within 30 s.
func Start(t testing.TB, opt Options) *App {
	t.Helper()
	a, err := Serve(t.TempDir(), opt)
	if err != nil {
		t.Fatalf("laravel app: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("laravel app: %v", err)
		}
		if t.Failed() {
			t.Logf("laravel app logs:\n%s", a.Logs())
		}
	})
	return a
}

// Serve starts the app with its database in dir; the caller stops it
// (Stop). Outside tests (the load test), a watchdog still kills it when
// this process ends.
func Serve(dir string, opt Options) (*App, error) {
	if _, err := exec.LookPath("php"); err != nil {
		return nil, fmt.Errorf("php not found (make laravel-test installs it): %w", err)
	}
	host := HostDir()
	db := filepath.Join(dir, "laravel.sqlite")
	if err := os.WriteFile(db, nil, 0o644); err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"APP_ENV=testing", "APP_DEBUG=false", "CACHE_DRIVER=array", "LOG_CHANNEL=stderr",
		"DB_CONNECTION=sqlite", "DB_DATABASE="+db,
		"WAGATEWAY_TOKEN="+opt.Token, "WAGATEWAY_SIGNING_SECRET="+opt.SigningSecret,
		"WAGATEWAY_AUTOCREATE="+strconv.FormatBool(!opt.NoAutocreate))
	if opt.Workers > 1 {
		env = append(env, "PHP_CLI_SERVER_WORKERS="+strconv.Itoa(opt.Workers))
	}
	if opt.ProviderStates {
		env = append(env, "PROVIDER_STATES=1")
	}
	migrate := exec.Command("php", "artisan", "migrate", "--force", "--no-interaction")
	migrate.Dir, migrate.Env = host, env
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("php artisan migrate: %w\n%s", err, out)
	}
	if err := walMode(db); err != nil {
		return nil, err
	}
	port, err := localserver.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	a := &App{URL: "http://" + addr, DBPath: db, logs: &syncBuffer{}, done: make(chan error, 1)}
	a.cmd = exec.Command("php", "-S", addr, "-t", "public", "server.php")
	a.cmd.Dir, a.cmd.Env = host, env
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	// Its own process group: with PHP_CLI_SERVER_WORKERS the workers are
	// children, and Stop ends them all.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("php -S: %w", err)
	}
	pid := a.cmd.Process.Pid
	localserver.OnExit(fmt.Sprintf("kill -9 -%d 2>/dev/null", pid))
	go func() { a.done <- a.cmd.Wait() }()
	if err := a.waitReady(30 * time.Second); err != nil {
		_ = a.Stop()
		return nil, fmt.Errorf("%w\n%s", err, a.Logs())
	}
	return a, nil
}

// walMode lets readers (a test's SQL) and the PHP workers share the file.
func walMode(path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA journal_mode=WAL"); err != nil {
		return fmt.Errorf("sqlite WAL: %w", err)
	}
	return nil
}

func (a *App) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-a.done:
			a.done <- err
			return fmt.Errorf("php -S exited: %v", err)
		default:
		}
		// Any answer from Laravel (404 for an unknown session) means it is up.
		resp, err := c.Get(a.URL + "/api/whatsapp/status/readiness-probe")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no answer within " + limit.String())
}

// PID is the php -S process (its workers, if any, are its children).
func (a *App) PID() int { return a.cmd.Process.Pid }

// Logs is what php -S and Laravel wrote so far.
func (a *App) Logs() string { return a.logs.String() }

// Stop ends the process group and waits for it.
func (a *App) Stop() error {
	if a.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
	}
	a.done <- nil // a second Stop returns at once
	return nil
}

// DB opens the app's SQLite file for reading; closed when the test ends.
func (a *App) DB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+a.DBPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Count runs a SELECT COUNT(*) query.
func (a *App) Count(ctx context.Context, db *sql.DB, query string, args ...any) (int, error) {
	var n int
	if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", strings.TrimSpace(query), err)
	}
	return n, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write keeps what matters: php -S logs every connection ("Accepted",
// "Closing"), which would bury Laravel's errors.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if bytes.HasSuffix(bytes.TrimRight(line, "\n"), []byte(" Accepted")) || bytes.HasSuffix(bytes.TrimRight(line, "\n"), []byte(" Closing")) {
			continue
		}
		b.buf.Write(line)
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
