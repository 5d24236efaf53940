package service

import (
	"context"
	"time"
)

// Instance is one live gateway process as the other instances see it.
type Instance struct {
	ID          string    `json:"id"`           // INSTANCE_ID, the lease owner name
	URL         string    `json:"url"`          // ADVERTISE_URL: where the others forward requests
	Sessions    int       `json:"sessions"`     // sessions running there
	MaxSessions int       `json:"max_sessions"` // MAX_SESSIONS, 0 = unlimited
	StartedAt   time.Time `json:"started_at"`
}

// HasRoom reports whether the instance may start one more session.
func (i Instance) HasRoom() bool { return i.MaxSessions <= 0 || i.Sessions < i.MaxSessions }

// Instances is the registry of live gateway instances: each one beats
// its heart every few seconds; one that stops beating drops out after ttl.
type Instances interface {
	// Heartbeat records in as live for ttl.
	Heartbeat(ctx context.Context, in Instance, ttl time.Duration) error
	// Live lists the instances whose last heartbeat has not expired, by ID.
	Live(ctx context.Context) ([]Instance, error)
	// Leave removes the instance at once (graceful shutdown).
	Leave(ctx context.Context, id string) error
}
