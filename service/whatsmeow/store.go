package whatsmeow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"go.mau.fi/whatsmeow/store/sqlstore"
	waLog "go.mau.fi/whatsmeow/util/log"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go (CGO_ENABLED=0)

	"wagateway/service"
)

// sqlitePragmas are required (whatsmeow refuses to run without foreign keys)
// or needed for many sessions writing at once.
const sqlitePragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"

// storeTarget is a parsed WA_STORE.
type storeTarget struct {
	driver  string // database/sql driver name
	dialect string // whatsmeow dialect
	dsn     string
	dir     string // SQLite: directory to create
}

// parseStore turns WA_STORE into a database/sql target.
func parseStore(s string) (storeTarget, error) {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return storeTarget{driver: "pgx", dialect: "postgres", dsn: s}, nil
	case strings.Contains(s, "://"), s == "", s == "file:":
		return storeTarget{}, service.Errorf(service.EINVALID,
			"WA_STORE must be file:PATH (SQLite) or a postgres:// URL, got %q", redactStore(s))
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(s, "file:"), "?")
	dsn := "file:" + path + "?" + sqlitePragmas
	if query != "" {
		dsn += "&" + query // later pragmas win, so the user's override ours
	}
	return storeTarget{driver: "sqlite", dialect: "sqlite", dsn: dsn, dir: filepath.Dir(path)}, nil
}

// redactStore hides a Postgres password so WA_STORE can be logged.
func redactStore(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// openStore opens the device store and makes sure our own table exists beside it.
func openStore(ctx context.Context, s string, log waLog.Logger) (*sqlstore.Container, *sessionTable, error) {
	t, err := parseStore(s)
	if err != nil {
		return nil, nil, err
	}
	if t.dir != "" && t.dir != "." {
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("create store directory: %w", err)
		}
	}
	db, err := sql.Open(t.driver, t.dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s store: %w", t.dialect, err)
	}
	container := sqlstore.NewWithDB(db, t.dialect, log)
	if err := container.Upgrade(ctx); err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("upgrade %s store %s: %w", t.dialect, redactStore(s), err)
	}
	sessions := &sessionTable{db: db}
	if err := sessions.create(ctx); err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return container, sessions, nil
}

// sessionTable maps our session ids to whatsmeow device JIDs: whatsmeow's
// device table has no column for an id of ours.
type sessionTable struct {
	db *sql.DB
}

func (t *sessionTable) create(ctx context.Context) error {
	_, err := t.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS wagateway_sessions (
		session_id TEXT PRIMARY KEY,
		jid        TEXT NOT NULL
	)`)
	if err != nil {
		return fmt.Errorf("create table wagateway_sessions: %w", err)
	}
	return nil
}

func (t *sessionTable) put(ctx context.Context, sessionID, jid string) error {
	_, err := t.db.ExecContext(ctx, `INSERT INTO wagateway_sessions (session_id, jid) VALUES ($1, $2)
		ON CONFLICT (session_id) DO UPDATE SET jid = excluded.jid`, sessionID, jid)
	if err != nil {
		return fmt.Errorf("save jid of session %s: %w", sessionID, err)
	}
	return nil
}

// get returns the JID of a session, "" when none is stored.
func (t *sessionTable) get(ctx context.Context, sessionID string) (string, error) {
	var jid string
	err := t.db.QueryRowContext(ctx, `SELECT jid FROM wagateway_sessions WHERE session_id = $1`, sessionID).Scan(&jid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load jid of session %s: %w", sessionID, err)
	}
	return jid, nil
}

func (t *sessionTable) delete(ctx context.Context, sessionID string) error {
	if _, err := t.db.ExecContext(ctx, `DELETE FROM wagateway_sessions WHERE session_id = $1`, sessionID); err != nil {
		return fmt.Errorf("forget session %s: %w", sessionID, err)
	}
	return nil
}

// all returns every stored session id → JID.
func (t *sessionTable) all(ctx context.Context) (map[string]string, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT session_id, jid FROM wagateway_sessions`)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, jid string
		if err := rows.Scan(&id, &jid); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out[id] = jid
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}
