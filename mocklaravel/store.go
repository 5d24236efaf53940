package mocklaravel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // pure-Go driver "sqlite": the mock must build with CGO_ENABLED=0
)

// schema mirrors the Laravel table. Times are unix milliseconds, so
// "newest wins" is a plain integer comparison whatever offset a client sent.
const schema = `
CREATE TABLE IF NOT EXISTS whatsapp_accounts (
	session_id         TEXT PRIMARY KEY,
	qr_code            TEXT,
	qr_generated_at    INTEGER,
	estado_qr          TEXT NOT NULL DEFAULT 'pending',
	last_status_update INTEGER
)`

// Statements shared by the status and QR paths take (?1 session_id, ?2 value, ?3 event time).
// An older event matches no row: it is accepted as a no-op, so retries and
// reordering never put an old state back. An equal time overwrites, so a
// replay is idempotent, except that a pending never replaces another status
// of the same millisecond: at one instant, the QR being shown comes before
// its outcome (the gateway's lanes may deliver the outcome first).
const (
	sqlUpsertStatus = `INSERT INTO whatsapp_accounts (session_id, estado_qr, last_status_update) VALUES (?1, ?2, ?3)
ON CONFLICT (session_id) DO UPDATE SET estado_qr = excluded.estado_qr, last_status_update = excluded.last_status_update
WHERE whatsapp_accounts.last_status_update IS NULL OR whatsapp_accounts.last_status_update < excluded.last_status_update
OR (whatsapp_accounts.last_status_update = excluded.last_status_update AND NOT (excluded.estado_qr = 'pending' AND whatsapp_accounts.estado_qr <> 'pending'))`
	sqlUpdateStatus = `UPDATE whatsapp_accounts SET estado_qr = ?2, last_status_update = ?3
WHERE session_id = ?1 AND (last_status_update IS NULL OR last_status_update < ?3
OR (last_status_update = ?3 AND NOT (?2 = 'pending' AND estado_qr <> 'pending')))`
	// A QR creates its account as pending (a QR is shown, nobody scanned it yet)
	// with no status time, so any status update wins over it.
	sqlUpsertQR = `INSERT INTO whatsapp_accounts (session_id, qr_code, qr_generated_at, estado_qr) VALUES (?1, ?2, ?3, 'pending')
ON CONFLICT (session_id) DO UPDATE SET qr_code = excluded.qr_code, qr_generated_at = excluded.qr_generated_at
WHERE whatsapp_accounts.qr_generated_at IS NULL OR whatsapp_accounts.qr_generated_at <= excluded.qr_generated_at`
	sqlUpdateQR = `UPDATE whatsapp_accounts SET qr_code = ?2, qr_generated_at = ?3
WHERE session_id = ?1 AND (qr_generated_at IS NULL OR qr_generated_at <= ?3)`

	sqlExists  = `SELECT 1 FROM whatsapp_accounts WHERE session_id = ?1`
	sqlColumns = `session_id, estado_qr, qr_code, qr_generated_at, last_status_update`
	sqlGet     = `SELECT ` + sqlColumns + ` FROM whatsapp_accounts WHERE session_id = ?1`
	sqlList    = `SELECT ` + sqlColumns + ` FROM whatsapp_accounts WHERE ?1 = '' OR estado_qr = ?1 ORDER BY session_id`
	sqlPut     = `INSERT OR REPLACE INTO whatsapp_accounts (session_id, estado_qr, qr_code, qr_generated_at, last_status_update) VALUES (?1, ?2, ?3, ?4, ?5)`
	sqlDelete  = `DELETE FROM whatsapp_accounts WHERE session_id = ?1`
	sqlClear   = `DELETE FROM whatsapp_accounts`
)

// store is the whatsapp_accounts table. It uses exactly one connection: an
// in-memory database lives and dies with its connection (so each Server gets
// its own), and SQLite serialises writers anyway.
type store struct {
	db *sql.DB

	upsertStatus, updateStatus, upsertQR, updateQR *sql.Stmt
	exists, get, list, put, del, clear             *sql.Stmt
}

// change is one validated item of a batch: a status or a QR of one session.
type change struct {
	sessionID string
	value     string // estado_qr or the QR data URL
	at        time.Time
}

func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	st := &store{db: db}
	if err := st.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// dsn turns MOCK_DB into a modernc DSN: "" and ":memory:" are a private
// in-memory database; a file gets WAL and a busy timeout so another process
// (sqlite3 CLI, a second mock) reading it does not fail our writes.
func dsn(path string) string {
	if path == "" || path == ":memory:" {
		return ":memory:"
	}
	const pragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	if strings.HasPrefix(path, "file:") {
		if strings.Contains(path, "?") {
			return path + "&" + pragmas
		}
		return path + "?" + pragmas
	}
	return "file:" + path + "?" + pragmas
}

func (st *store) init(ctx context.Context) error {
	if _, err := st.db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create whatsapp_accounts: %w", err)
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&st.upsertStatus, sqlUpsertStatus}, {&st.updateStatus, sqlUpdateStatus},
		{&st.upsertQR, sqlUpsertQR}, {&st.updateQR, sqlUpdateQR},
		{&st.exists, sqlExists}, {&st.get, sqlGet}, {&st.list, sqlList},
		{&st.put, sqlPut}, {&st.del, sqlDelete}, {&st.clear, sqlClear},
	} {
		s, err := st.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.stmt = s
	}
	return nil
}

func (st *store) close() error { return st.db.Close() }

// applyStatuses stores a status batch in one transaction.
func (st *store) applyStatuses(ctx context.Context, cs []change, autoCreate bool) (updated, failed int, err error) {
	return st.apply(ctx, cs, autoCreate, st.upsertStatus, st.updateStatus)
}

// applyQRs stores a QR batch in one transaction.
func (st *store) applyQRs(ctx context.Context, cs []change, autoCreate bool) (updated, failed int, err error) {
	return st.apply(ctx, cs, autoCreate, st.upsertQR, st.updateQR)
}

// apply runs one batch in one transaction. An item for an unknown account
// counts as failed when autoCreate is off; an item older than what is stored
// counts as updated (accepted, nothing to change).
func (st *store) apply(ctx context.Context, cs []change, autoCreate bool, upsert, update *sql.Stmt) (updated, failed int, err error) {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("begin batch: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit

	write, exists := tx.StmtContext(ctx, update), tx.StmtContext(ctx, st.exists)
	if autoCreate {
		write = tx.StmtContext(ctx, upsert)
	}
	for _, c := range cs {
		res, err := write.ExecContext(ctx, c.sessionID, c.value, c.at.UnixMilli())
		if err != nil {
			return 0, 0, fmt.Errorf("write %s: %w", c.sessionID, err)
		}
		if autoCreate {
			updated++
			continue
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, 0, fmt.Errorf("write %s: %w", c.sessionID, err)
		} else if n > 0 {
			updated++
			continue
		}
		// Nothing changed: either an older event (a no-op success) or no such account.
		var one int
		switch err := exists.QueryRowContext(ctx, c.sessionID).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			failed++
		case err != nil:
			return 0, 0, fmt.Errorf("look up %s: %w", c.sessionID, err)
		default:
			updated++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("commit batch: %w", err)
	}
	return updated, failed, nil
}

func (st *store) account(ctx context.Context, id string) (Account, bool, error) {
	a, err := scanAccount(st.get.QueryRowContext(ctx, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Account{}, false, nil
	case err != nil:
		return Account{}, false, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, true, nil
}

// accounts lists every account, or only those with estadoQR when it is not "".
func (st *store) accounts(ctx context.Context, estadoQR string) ([]Account, error) {
	rows, err := st.list.QueryContext(ctx, estadoQR)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// putAccount creates or overwrites an account as given (no newest-wins):
// tests use it to set up a provider state.
func (st *store) putAccount(ctx context.Context, a Account) error {
	if _, err := st.put.ExecContext(ctx, a.SessionID, a.EstadoQR, nullString(a.QRCode),
		nullMillis(a.QRGeneratedAt), nullMillis(a.LastStatusUpdate)); err != nil {
		return fmt.Errorf("put account %s: %w", a.SessionID, err)
	}
	return nil
}

func (st *store) deleteAccount(ctx context.Context, id string) (bool, error) {
	res, err := st.del.ExecContext(ctx, id)
	if err != nil {
		return false, fmt.Errorf("delete account %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete account %s: %w", id, err)
	}
	return n > 0, nil
}

func (st *store) clearAccounts(ctx context.Context) error {
	if _, err := st.clear.ExecContext(ctx); err != nil {
		return fmt.Errorf("clear accounts: %w", err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (Account, error) {
	var (
		a          Account
		qr         sql.NullString
		qrAt, stAt sql.NullInt64
	)
	if err := s.Scan(&a.SessionID, &a.EstadoQR, &qr, &qrAt, &stAt); err != nil {
		return Account{}, err
	}
	a.QRCode = qr.String
	if qrAt.Valid {
		a.QRGeneratedAt = time.UnixMilli(qrAt.Int64).UTC()
	}
	if stAt.Valid {
		a.LastStatusUpdate = time.UnixMilli(stAt.Int64).UTC()
	}
	return a, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullMillis(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: !t.IsZero()}
}
