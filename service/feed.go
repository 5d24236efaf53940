package service

import "time"

// SessionFeed tells live views (the dashboard's server-sent events) which
// sessions changed their QR code or status, so they push instead of poll.
type SessionFeed interface {
	// Subscribe returns a channel that wakes after changes and changed,
	// which returns (and forgets) the ids changed since its last call; cancel
	// ends the subscription. Changes are merged, never dropped.
	Subscribe() (wake <-chan struct{}, changed func() []string, cancel func())
}

// DeliveryTraffic is what the dashboard shows of Laravel's answers and of
// the requests batching saved.
type DeliveryTraffic struct {
	// StatusCodes counts Laravel's answers: "2xx" for a delivered request,
	// the code of a refusal or failure, "none" when Laravel did not answer.
	StatusCodes map[string]int64 `json:"statusCodes"`
	// PerMinute is the last minutes, oldest first, zeros included.
	PerMinute []TrafficMinute `json:"perMinute"`
}

// TrafficMinute is one minute of requests to Laravel against the events
// that, delivered one request per event, would each have cost one.
type TrafficMinute struct {
	Start    time.Time `json:"start"`
	Requests int64     `json:"requests"` // requests sent, retries included
	Events   int64     `json:"events"`   // QR and status events published
}
