package delivery

import (
	"context"
	"net/http"
	"sync"

	"wagateway/service"
)

// Health remembers how Laravel answered the last request, for GET /health.
// Give it to the Flusher as (one of) its observers.
type Health struct {
	service.NopFlusherObserver
	clock service.Clock

	mu   sync.Mutex
	last service.LaravelHealth
}

// NewHealth returns a Health that has seen nothing yet.
func NewHealth(clock service.Clock) *Health {
	if clock == nil {
		clock = service.SystemClock{}
	}
	return &Health{clock: clock, last: service.LaravelHealth{State: service.LaravelUnknown}}
}

// OnBatch records the answer to one request: up only when Laravel took it.
func (h *Health) OnBatch(r service.BatchReport) {
	next := service.LaravelHealth{State: service.LaravelDown, StatusCode: r.StatusCode, At: h.clock.Now()}
	if r.Err == nil {
		// The client accepts any 2xx and does not say which; Laravel's
		// endpoints answer 200 (contracts/pacts).
		next.State, next.StatusCode = service.LaravelUp, http.StatusOK
	}
	h.mu.Lock()
	h.last = next
	h.mu.Unlock()
}

// Health is the last answer seen.
func (h *Health) Health(context.Context) service.LaravelHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}
