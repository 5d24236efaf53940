package service

import (
	"context"
	"time"
)

// Notice types: what a failure notice to ALERT_WEBHOOK_URL is about.
const (
	NoticeDeadLetter    = "dead_letter"    // Laravel refused items for good
	NoticeLaneStalled   = "lane_stalled"   // a lane delivered nothing for ALERT_AFTER while items wait
	NoticeLaneRecovered = "lane_recovered" // a stalled lane delivers again (or has nothing left)
)

// Notice outcomes, for NoticeObserver.
const (
	NoticeSent       = "sent"       // the webhook answered 2xx
	NoticeFailed     = "failed"     // the webhook failed or did not answer
	NoticeDropped    = "dropped"    // the notice queue was full
	NoticeSuppressed = "suppressed" // over the rate limit
)

// Notice is one failure notice, sent as JSON and signed like deliveries.
type Notice struct {
	ID       string    `json:"id"`   // unique; also the webhook-id header
	Type     string    `json:"type"` // Notice* above
	Instance string    `json:"instance"`
	At       time.Time `json:"at"`
	Summary  string    `json:"summary"` // one line for a human

	Lane Lane `json:"lane,omitempty"`
	// Waiting and StalledS describe a lane: items waiting, seconds since
	// its last delivery.
	Waiting  int     `json:"waiting,omitempty"`
	StalledS float64 `json:"stalled_s,omitempty"`

	// DeadLetters counts the items dead-lettered since the last notice;
	// Samples shows some, one per session, kind and reason.
	DeadLetters int                `json:"dead_letters,omitempty"`
	Samples     []DeadLetterSample `json:"samples,omitempty"`
}

// DeadLetterSample is one dead letter in a notice.
type DeadLetterSample struct {
	SessionID string    `json:"session_id"`
	Kind      Kind      `json:"kind"`
	Lane      Lane      `json:"lane"`
	Reason    string    `json:"reason"`
	DeadAt    time.Time `json:"dead_at"`
}

// NoticeSender delivers a notice (service/laravel signs and POSTs it).
type NoticeSender interface {
	SendNotice(ctx context.Context, n Notice) error
}

// NoticeObserver counts notices by type and outcome.
type NoticeObserver interface {
	Notice(kind, outcome string)
}
