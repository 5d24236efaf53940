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

// StatusBatcher is a Cache level that reads many sessions' statuses in
// few round trips: GET /sessions lists every session of the cluster, and
// one read per session does not scale to 100,000 of them. The result holds
// the hits only.
type StatusBatcher interface {
	GetStatuses(ctx context.Context, sessionIDs []string) (map[string]StatusRecord, error)
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
