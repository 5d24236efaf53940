package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"wagateway/service"
)

// Leases is service.Leases in the tables lease and known_session. With the
// embedded store one process owns the data directory, so a lease only
// matters to that process's session manager; keeping it on disk keeps the
// set of known sessions across a restart, which Restore needs.
type Leases struct {
	db *DB
}

// NewLeases returns the Leases of db.
func NewLeases(db *DB) *Leases { return &Leases{db: db} }

var _ service.Leases = (*Leases)(nil)

// Acquire inserts the lease, or takes it over when owner already holds it
// or it has expired; one statement, so it is atomic.
func (l *Leases) Acquire(ctx context.Context, sessionID, owner string, ttl time.Duration) (bool, error) {
	if err := service.ValidateLease(sessionID, owner, ttl); err != nil {
		return false, err
	}
	now := l.db.clock.Now()
	res, err := l.db.db.ExecContext(ctx, `INSERT INTO lease (session_id, owner, expires_ns) VALUES (?, ?, ?)
		ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, expires_ns = excluded.expires_ns
		WHERE lease.owner = excluded.owner OR lease.expires_ns <= ?`,
		sessionID, owner, now.Add(ttl).UnixNano(), now.UnixNano())
	if err != nil {
		return false, fmt.Errorf("sqlite leases: acquire %s: %w", sessionID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite leases: acquire %s: %w", sessionID, err)
	}
	return n == 1, nil
}

func (l *Leases) Release(ctx context.Context, sessionID, owner string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	if _, err := l.db.db.ExecContext(ctx, `DELETE FROM lease WHERE session_id = ? AND owner = ?`, sessionID, owner); err != nil {
		return fmt.Errorf("sqlite leases: release %s: %w", sessionID, err)
	}
	return nil
}

func (l *Leases) Owner(ctx context.Context, sessionID string) (string, error) {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	var owner string
	err := l.db.db.QueryRowContext(ctx, `SELECT owner FROM lease WHERE session_id = ? AND expires_ns > ?`,
		sessionID, l.db.clock.Now().UnixNano()).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("sqlite leases: owner of %s: %w", sessionID, err)
	}
	return owner, nil
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
	return ids, nil
}

func (l *Leases) Register(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	if _, err := l.db.db.ExecContext(ctx, `INSERT OR IGNORE INTO known_session (session_id) VALUES (?)`, sessionID); err != nil {
		return fmt.Errorf("sqlite leases: register %s: %w", sessionID, err)
	}
	return nil
}

func (l *Leases) Forget(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	if _, err := l.db.db.ExecContext(ctx, `DELETE FROM known_session WHERE session_id = ?`, sessionID); err != nil {
		return fmt.Errorf("sqlite leases: forget %s: %w", sessionID, err)
	}
	return nil
}
