package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"wagateway/service"
)

// Leases is service.Leases in the tables session_lease and known_session.
// With the embedded store one process owns the data directory, so a lease
// only matters to that process's session manager, and a mutex serializes
// the read-modify-write of each call. Keeping it on disk keeps the known
// sessions (which Restore starts), the fencing tokens (they never go down,
// not even across a restart) and the running set (Orphans) across a restart.
//
// A lease's expiry only matters while this process lives: the directory
// lock proves that the process before it is gone. So a renewal of a lease
// still held is kept in memory (held) and never written; the row keeps the
// expiry of its Take. At 10,000 sessions that saves 1,000 row writes a
// second. After a crash the rows read as expired up to one LEASE_TTL
// sooner than they would have, which only lets Restore start sooner.
type Leases struct {
	db *DB
	mu sync.Mutex // serializes the read-modify-write calls

	heldMu sync.Mutex
	held   map[string]heldLease // the leases taken here and not given up
}

// heldLease is a lease this process took. Its owner and token match the
// row, and expiresNs, renewed in memory, is never earlier than the row's.
type heldLease struct {
	owner            string
	token, expiresNs int64
}

// leaseStmts are Leases' hot statements, prepared once by Open: parsing the
// SQL of every lease read and write was 8 % of the gateway's CPU at 10,000
// sessions, most of it in the renewals.
type leaseStmts struct{ read, hold, renew, giveUp, register *sql.Stmt }

const (
	readLeaseSQL = `SELECT token, owner, expires_ns, running, last_owner FROM session_lease WHERE session_id = ?`
	holdLeaseSQL = `INSERT INTO session_lease (session_id, token, owner, expires_ns, running, last_owner)
		VALUES (?1, ?2, ?3, ?4, 1, ?3)
		ON CONFLICT (session_id) DO UPDATE SET token = excluded.token, owner = excluded.owner,
			expires_ns = excluded.expires_ns, running = 1, last_owner = excluded.last_owner`
	// renewLeaseSQL is Renew's rule in one statement, so a renewal is one
	// row write and no read: hold the lease again while it is still ours,
	// or while it is free with no newer token and was not given up (End
	// clears running, Handover the last owner). Arguments: session, owner,
	// token, until, now.
	renewLeaseSQL = `UPDATE session_lease SET token = ?3, owner = ?2, expires_ns = ?4, running = 1, last_owner = ?2
		WHERE session_id = ?1 AND (
			(owner = ?2 AND token = ?3 AND expires_ns > ?5)
			OR ((owner = '' OR expires_ns <= ?5) AND token <= ?3 AND running = 1 AND last_owner = ?2))`
	giveUpLeaseSQL   = `UPDATE session_lease SET owner = '', expires_ns = 0, running = ?, last_owner = '' WHERE session_id = ?`
	registerLeaseSQL = `INSERT OR IGNORE INTO known_session (session_id) VALUES (?)`
)

func prepareLeaseStmts(ctx context.Context, d *DB) (leaseStmts, error) {
	var st leaseStmts
	err := d.prepareAll(ctx, "leases", toPrepare{&st.read, readLeaseSQL}, toPrepare{&st.hold, holdLeaseSQL},
		toPrepare{&st.renew, renewLeaseSQL}, toPrepare{&st.giveUp, giveUpLeaseSQL}, toPrepare{&st.register, registerLeaseSQL})
	return st, err
}

// NewLeases returns the Leases of db.
func NewLeases(db *DB) *Leases { return &Leases{db: db, held: make(map[string]heldLease)} }

var _ service.Leases = (*Leases)(nil)

// leaseRow is one session's row of session_lease; holder is "" when the
// lease is free or expired.
type leaseRow struct {
	token   int64
	holder  string
	running bool
	last    string
	exists  bool
}

// row reads sessionID's row as of now, an expired lease read as free; tx
// nil reads outside a transaction.
func (l *Leases) row(ctx context.Context, tx *sql.Tx, sessionID string, now int64) (leaseRow, error) {
	var r leaseRow
	var owner string
	var expires int64
	err := stmtIn(ctx, tx, l.db.leaseStmts.read).QueryRowContext(ctx, sessionID).Scan(&r.token, &owner, &expires, &r.running, &r.last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return leaseRow{}, nil
	case err != nil:
		return leaseRow{}, fmt.Errorf("sqlite leases: read %s: %w", sessionID, err)
	}
	r.exists = true
	l.heldMu.Lock()
	expires = max(expires, l.heldUntil(sessionID, owner, r.token))
	l.heldMu.Unlock()
	if expires > now {
		r.holder = owner
	}
	return r, nil
}

// stmtIn is s in tx, or s itself when tx is nil.
func stmtIn(ctx context.Context, tx *sql.Tx, s *sql.Stmt) *sql.Stmt {
	if tx == nil {
		return s
	}
	return tx.StmtContext(ctx, s)
}

// hold writes sessionID held by owner with token until until, running.
func (l *Leases) hold(ctx context.Context, tx *sql.Tx, sessionID, owner string, token, until int64) error {
	if _, err := stmtIn(ctx, tx, l.db.leaseStmts.hold).ExecContext(ctx, sessionID, token, owner, until); err != nil {
		return fmt.Errorf("sqlite leases: hold %s: %w", sessionID, err)
	}
	return nil
}

// inTx runs fn in one transaction; the caller holds l.mu, and changes
// held only once inTx returned nil (the commit succeeded).
func (l *Leases) inTx(ctx context.Context, fn func(tx *sql.Tx, now int64) error) error {
	tx, err := l.db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite leases: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx, l.db.clock.Now().UnixNano()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite leases: commit: %w", err)
	}
	return nil
}

func (l *Leases) Take(ctx context.Context, sessionID, owner string, ttl time.Duration) (service.Lease, bool, error) {
	if err := service.ValidateLease(sessionID, owner, ttl); err != nil {
		return service.Lease{}, false, err
	}
	var got service.Lease
	var ok bool
	var until int64
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.inTx(ctx, func(tx *sql.Tx, now int64) error {
		r, err := l.row(ctx, tx, sessionID, now)
		if err != nil {
			return err
		}
		if r.holder != "" && r.holder != owner {
			got = service.Lease{SessionID: sessionID, Owner: r.holder, Token: r.token}
			return nil
		}
		token := r.token
		if r.holder == "" {
			token++ // a new holder: a new fencing token
		}
		got, ok, until = service.Lease{SessionID: sessionID, Owner: owner, Token: token, TTL: ttl}, true, now+ttl.Nanoseconds()
		return l.hold(ctx, tx, sessionID, owner, token, until)
	})
	if err != nil {
		return service.Lease{}, false, err
	}
	if ok {
		l.remember(got, until)
	}
	return got, ok, nil
}

func (l *Leases) Renew(ctx context.Context, ttl time.Duration, leases ...service.Lease) ([]bool, error) {
	for _, ls := range leases {
		if err := service.ValidateLease(ls.SessionID, ls.Owner, ttl); err != nil {
			return nil, err
		}
	}
	held := make([]bool, len(leases))
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.db.clock.Now().UnixNano()
	until := now + ttl.Nanoseconds()
	// A lease still held is renewed in memory; the rest go by the rule of
	// renewLeaseSQL (lapsed, given up, or taken since).
	var rest []int
	l.heldMu.Lock()
	for i, ls := range leases {
		if l.heldUntil(ls.SessionID, ls.Owner, ls.Token) > now {
			l.held[ls.SessionID], held[i] = heldLease{owner: ls.Owner, token: ls.Token, expiresNs: until}, true
			continue
		}
		rest = append(rest, i)
	}
	l.heldMu.Unlock()
	if len(rest) == 0 {
		return held, nil
	}
	err := l.inTx(ctx, func(tx *sql.Tx, _ int64) error {
		renew := stmtIn(ctx, tx, l.db.leaseStmts.renew)
		for _, i := range rest {
			ls := leases[i]
			res, err := renew.ExecContext(ctx, ls.SessionID, ls.Owner, ls.Token, until, now)
			if err != nil {
				return fmt.Errorf("sqlite leases: renew %s: %w", ls.SessionID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlite leases: renew %s: %w", ls.SessionID, err)
			}
			held[i] = n == 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, i := range rest {
		if held[i] {
			l.remember(leases[i], until)
		}
	}
	return held, nil
}

// heldUntil is the expiry in memory of sessionID's lease as owner holds it
// with token, 0 when this process holds no such lease; the caller holds
// heldMu.
func (l *Leases) heldUntil(sessionID, owner string, token int64) int64 {
	if h, ok := l.held[sessionID]; ok && h.owner == owner && h.token == token {
		return h.expiresNs
	}
	return 0
}

// remember notes ls as held here until untilNs; the caller holds l.mu.
func (l *Leases) remember(ls service.Lease, untilNs int64) {
	l.heldMu.Lock()
	l.held[ls.SessionID] = heldLease{owner: ls.Owner, token: ls.Token, expiresNs: untilNs}
	l.heldMu.Unlock()
}

func (l *Leases) End(ctx context.Context, ls service.Lease) error { return l.giveUp(ctx, ls, true) }

func (l *Leases) Handover(ctx context.Context, ls service.Lease) error {
	return l.giveUp(ctx, ls, false)
}

// giveUp frees ls if it is the current lease: for good (not running any
// more) or for another instance (running, with no last owner).
func (l *Leases) giveUp(ctx context.Context, ls service.Lease, end bool) error {
	if err := service.ValidateSessionID(ls.SessionID); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	given := false
	err := l.inTx(ctx, func(tx *sql.Tx, now int64) error {
		r, err := l.row(ctx, tx, ls.SessionID, now)
		if err != nil {
			return err
		}
		if r.holder == "" || r.holder != ls.Owner || r.token != ls.Token {
			return nil
		}
		running := 1
		if end {
			running = 0
		}
		if _, err := stmtIn(ctx, tx, l.db.leaseStmts.giveUp).ExecContext(ctx, running, ls.SessionID); err != nil {
			return fmt.Errorf("sqlite leases: give up %s: %w", ls.SessionID, err)
		}
		given = true
		return nil
	})
	if given && err == nil {
		l.heldMu.Lock()
		delete(l.held, ls.SessionID)
		l.heldMu.Unlock()
	}
	return err
}

func (l *Leases) Orphans(ctx context.Context) (map[string]string, error) {
	now := l.db.clock.Now().UnixNano()
	rows, err := l.db.db.QueryContext(ctx, `SELECT session_id, last_owner, owner, token FROM session_lease
		WHERE running = 1 AND (owner = '' OR expires_ns <= ?)`, now)
	if err != nil {
		return nil, fmt.Errorf("sqlite leases: orphans: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	l.heldMu.Lock()
	defer l.heldMu.Unlock()
	for rows.Next() {
		var id, last, owner string
		var token int64
		if err := rows.Scan(&id, &last, &owner, &token); err != nil {
			return nil, fmt.Errorf("sqlite leases: orphans: %w", err)
		}
		if l.heldUntil(id, owner, token) > now {
			continue // renewed in memory: still held
		}
		out[id] = last
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite leases: orphans: %w", err)
	}
	return out, nil
}

func (l *Leases) Owner(ctx context.Context, sessionID string) (string, error) {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	r, err := l.row(ctx, nil, sessionID, l.db.clock.Now().UnixNano())
	if err != nil {
		return "", err
	}
	return r.holder, nil
}

func (l *Leases) Owners(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	now := l.db.clock.Now().UnixNano()
	for _, id := range ids {
		r, err := l.row(ctx, nil, id, now)
		if err != nil {
			return nil, err
		}
		if r.holder != "" {
			out[id] = r.holder
		}
	}
	return out, nil
}

func (l *Leases) Known(ctx context.Context) ([]string, error) {
	rows, err := l.db.db.QueryContext(ctx, `SELECT session_id FROM known_session ORDER BY session_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite leases: known sessions: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite leases: known sessions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite leases: known sessions: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

func (l *Leases) Register(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	if _, err := l.db.leaseStmts.register.ExecContext(ctx, sessionID); err != nil {
		return fmt.Errorf("sqlite leases: register %s: %w", sessionID, err)
	}
	return nil
}

// Forget drops sessionID from the Known and the running set; its token
// stays, so a later holder still gets a greater one.
func (l *Leases) Forget(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inTx(ctx, func(tx *sql.Tx, _ int64) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM known_session WHERE session_id = ?`, sessionID); err != nil {
			return fmt.Errorf("sqlite leases: forget %s: %w", sessionID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE session_lease SET running = 0 WHERE session_id = ?`, sessionID); err != nil {
			return fmt.Errorf("sqlite leases: forget %s: %w", sessionID, err)
		}
		return nil
	})
}
