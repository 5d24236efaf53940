package service

import (
	"context"
	"time"
)

// Cache is one level of the QR/status cache (L1 in process, L2 Redis).
// The caller chooses each entry's TTL (CACHE_TTL_*), so a level needs no config.
// A miss is (zero, false, nil); an error means the level could not answer.
type Cache interface {
	SetQR(ctx context.Context, qr QR, ttl time.Duration) error
	GetQR(ctx context.Context, sessionID string) (QR, bool, error)

	// SetStatus keeps the newer record: rec is dropped when the stored one
	// has a later UpdatedAt, so a late writer cannot put an old state back.
	SetStatus(ctx context.Context, rec StatusRecord, ttl time.Duration) error
	GetStatus(ctx context.Context, sessionID string) (StatusRecord, bool, error)

	// Invalidate drops everything cached for one session.
	Invalidate(ctx context.Context, sessionID string) error
	// InvalidateAll drops everything this cache holds.
	InvalidateAll(ctx context.Context) error

	Metrics() CacheMetrics
}

// CacheMetrics counts what a cache level did since start.
type CacheMetrics struct {
	Hits          int64   `json:"hits"`
	Misses        int64   `json:"misses"`
	HitRate       float64 `json:"hitRate"` // hits / (hits + misses), 0 when unused
	Sets          int64   `json:"sets"`
	Invalidations int64   `json:"invalidations"`
	Errors        int64   `json:"errors"`
}

// HitRate is hits / (hits + misses), 0 before any lookup: the one formula
// behind CacheMetrics.HitRate of every level and of their totals.
func HitRate(hits, misses int64) float64 {
	if hits+misses == 0 {
		return 0
	}
	return float64(hits) / float64(hits+misses)
}

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
