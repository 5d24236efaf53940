package service

import (
	"context"
	"time"
)

// Laravel is the Laravel application's API, as the gateway uses it.
// Every call that changes state carries an idempotency key that stays the
// same across retries of the same request.
type Laravel interface {
	PostQRBatch(ctx context.Context, idempotencyKey string, qrs []QRUpdate) (BatchResult, error)
	PostStatusBatch(ctx context.Context, idempotencyKey string, statuses []StatusUpdate) (BatchResult, error)
	// PostQR and PostStatus are the single endpoints (DELIVERY_MODE=direct).
	PostQR(ctx context.Context, idempotencyKey string, qr QRUpdate) error
	PostStatus(ctx context.Context, idempotencyKey string, st StatusUpdate) error
	// SessionStatus is GET /api/whatsapp/status/{id}; ENOTFOUND when Laravel answers 404.
	SessionStatus(ctx context.Context, sessionID string) (StatusRecord, error)
}

// QRUpdate is one element of POST /api/qr/batch.
type QRUpdate struct {
	SessionID   string
	QR          string
	GeneratedAt time.Time
}

// StatusUpdate is one element of POST /api/whatsapp/status/batch.
type StatusUpdate struct {
	SessionID string
	Status    Status
	UpdatedAt time.Time
}

// BatchResult is Laravel's answer to a batch.
type BatchResult struct {
	Success bool `json:"success"`
	Updated int  `json:"updated"`
	Failed  int  `json:"failed"`
}
