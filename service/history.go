package service

import (
	"context"
	"time"
)

// StatusChange is one entry of a session's status history: what it became,
// why, on which gateway instance, and when.
type StatusChange struct {
	Status   Status    `json:"estado_qr"`
	Reason   string    `json:"reason,omitempty"`
	Instance string    `json:"instance,omitempty"`
	At       time.Time `json:"at"`
}

// StatusHistory keeps the last status changes of each session, bounded by
// a count and an age (set where it is built: HISTORY_MAX, HISTORY_MAX_AGE).
type StatusHistory interface {
	// Record appends a change to the session's history.
	Record(ctx context.Context, sessionID string, c StatusChange) error
	// History lists up to limit changes of the session, newest first;
	// none (and no error) for a session without any.
	History(ctx context.Context, sessionID string, limit int) ([]StatusChange, error)
}
