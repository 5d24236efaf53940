package service

import (
	"context"
	"time"
)

// Leases makes each WhatsApp session owned by exactly one gateway instance:
// two clients on one device replace each other forever.
type Leases interface {
	// Acquire takes or renews the lease of sessionID for owner; false when
	// another live owner holds it.
	Acquire(ctx context.Context, sessionID, owner string, ttl time.Duration) (bool, error)
	// Release gives the lease up if owner holds it.
	Release(ctx context.Context, sessionID, owner string) error
	// Owner returns the current owner, "" when nobody holds it.
	Owner(ctx context.Context, sessionID string) (string, error)
	// Known lists every session id ever registered and not forgotten.
	Known(ctx context.Context) ([]string, error)
	// Register and Forget maintain the Known set.
	Register(ctx context.Context, sessionID string) error
	Forget(ctx context.Context, sessionID string) error
}

// ValidateLease checks the arguments of Leases.Acquire, for every
// implementation alike.
func ValidateLease(sessionID, owner string, ttl time.Duration) error {
	if err := ValidateSessionID(sessionID); err != nil {
		return err
	}
	if owner == "" {
		return Errorf(EINVALID, "lease of %s needs an owner", sessionID)
	}
	if ttl < time.Millisecond {
		return Errorf(EINVALID, "lease of %s needs a ttl of at least 1ms, got %s", sessionID, ttl)
	}
	return nil
}
