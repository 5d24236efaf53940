package service

import "time"

// FlusherObserver is told what the flusher (service/delivery) does, so Prometheus metrics or a
// live demo line can follow it without the flusher knowing them. Calls come
// synchronously from the flusher's lane loops: return quickly, never block.
// Embed NopFlusherObserver to implement only some methods.
type FlusherObserver interface {
	// OnBatch follows every request to Laravel, retries included.
	OnBatch(r BatchReport)
	// OnDelivered follows every item Laravel took (2xx); latency runs from
	// the event time (Update.At) to the acknowledgement.
	OnDelivered(it Update, latency time.Duration)
	// OnDeadLettered follows every item Laravel refused for good.
	OnDeadLettered(dl DeadLetter)
}

// BatchReport describes one request to Laravel.
type BatchReport struct {
	Lane           Lane
	Kind           Kind
	Mode           DeliveryMode
	Items          int
	Attempt        int           // 0 for a first try, n for the n-th retry
	IdempotencyKey string        // the same across a request's retries
	Duration       time.Duration // time the request took
	StatusCode     int           // Laravel's status on failure; 0 when delivered or unanswered
	Err            error         // nil when Laravel answered 2xx
}

// Outcome is "sent", "retry" (Laravel failed or was unreachable: the items
// stay and are sent again) or "refused" (Laravel rejected the items).
func (r BatchReport) Outcome() string {
	if r.Err == nil {
		return "sent"
	}
	if Resent(r.Err, r.Mode) {
		return "retry"
	}
	return "refused"
}

// NopFlusherObserver ignores everything; the default observer.
type NopFlusherObserver struct{}

func (NopFlusherObserver) OnBatch(BatchReport)               {}
func (NopFlusherObserver) OnDelivered(Update, time.Duration) {}
func (NopFlusherObserver) OnDeadLettered(DeadLetter)         {}
