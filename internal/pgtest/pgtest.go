// Package pgtest gives package tests a real Postgres: the one PG_URL names,
// or a throwaway cluster it initialises and starts on a free port. It never
// fakes Postgres, and a test that needs one and finds none fails.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"wagateway/internal/localserver"
)

const howTo = "set PG_URL=postgres://USER:PASS@HOST:5432/DB?sslmode=disable, " +
	"or install the server (apt-get install -y postgresql) so pgtest can start a throwaway one"

var (
	once   sync.Once
	base   string
	errAll error
	seqMu  sync.Mutex
	seq    int
)

// URL returns a postgres:// URL for this test run: PG_URL when set, else a
// database in a cluster started for this test binary (stopped when it exits).
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { base, errAll = start() })
	if errAll != nil {
		t.Fatalf("pgtest: %v", errAll)
	}
	return base
}

// Database creates a fresh, empty database on the URL's server for this
// test, drops it when the test ends, and returns its URL. Tests then never
// see each other's rows, even on a shared PG_URL.
func Database(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(URL(t))
	if err != nil {
		t.Fatalf("pgtest: PG_URL is not a URL: %v", err)
	}
	seqMu.Lock()
	seq++
	name := fmt.Sprintf("pgtest_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, seq)
	seqMu.Unlock()
	admin := u.String()
	if err := exec1(admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database (the role needs CREATEDB): %v", err)
	}
	t.Cleanup(func() {
		if err := exec1(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func exec1(dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

func start() (string, error) {
	if u := os.Getenv("PG_URL"); u != "" {
		return u, nil
	}
	bin, err := binDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "pgtest")
	if err != nil {
		return "", err
	}
	// Postgres refuses to run as root: run it as the postgres user then.
	var asUser []string
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) error {
		argv := append(append(asUser[:len(asUser):len(asUser)], filepath.Join(bin, name)), args...)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return "", err
	}
	port, err := localserver.FreePort()
	if err != nil {
		return "", err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
	if err := run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		return "", err
	}
	stopOnExit(append(asUser, filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"), dir)
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := exec1(admin, "CREATE DATABASE test"); err != nil {
		return "", fmt.Errorf("create database test: %w", err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/test?sslmode=disable", port), nil
}

// binDir finds the server binaries: Debian keeps them off PATH, per version.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PG_URL and no Postgres server binaries (initdb) found: " + howTo)
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// stopOnExit stops the cluster and removes its directory when the test
// binary exits.
func stopOnExit(stop []string, dir string) {
	quoted := make([]string, len(stop))
	for i, a := range stop {
		quoted[i] = "'" + a + "'"
	}
	localserver.OnExit(fmt.Sprintf("%s >/dev/null 2>&1; rm -rf '%s'", strings.Join(quoted, " "), filepath.Clean(dir)))
}
