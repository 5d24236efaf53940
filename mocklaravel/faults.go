package mocklaravel

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults break the /api endpoints on purpose. The zero value breaks nothing.
// The /__mock/ endpoints are never affected.
type Faults struct {
	// Down answers every /api request 503, as Laravel in maintenance mode.
	Down bool `json:"down,omitempty"`
	// LatencyMS is added to every /api answer. It is spent after the request
	// was processed, so a client that times out has still had its batch
	// applied: the case Idempotency-Key and newest-wins exist for.
	LatencyMS int `json:"latency_ms,omitempty"`
	// ErrorRate is the probability (0..1) of answering Status instead of
	// processing the request.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// Status is the error_rate answer, 503 when 0.
	Status int `json:"status,omitempty"`
	// RetryAfterS, when > 0, is sent as Retry-After with error_rate and down answers.
	RetryAfterS int `json:"retry_after_s,omitempty"`
	// DurationS, when > 0, clears every fault this many seconds after it was set.
	DurationS float64 `json:"duration_s,omitempty"`
	// RejectSessions makes any request naming one of these session ids fail
	// validation (422) with an error keyed by the item's index, e.g.
	// "statuses.2.session_id": ["The selected statuses.2.session_id is invalid."].
	RejectSessions []string `json:"reject_sessions,omitempty"`
}

// FaultState is GET /__mock/faults: the faults in force.
type FaultState struct {
	Faults
	Active    bool  `json:"active"`               // some fault is in force
	ExpiresAt int64 `json:"expires_at,omitempty"` // unix ms, when DurationS was given
}

// Validate rejects faults that cannot mean anything.
func (f Faults) Validate() error {
	switch {
	case f.LatencyMS < 0:
		return fmt.Errorf("latency_ms must be >= 0, got %d", f.LatencyMS)
	case f.ErrorRate < 0 || f.ErrorRate > 1:
		return fmt.Errorf("error_rate must be between 0 and 1, got %v", f.ErrorRate)
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("status must be a 4xx or 5xx code, got %d", f.Status)
	case f.RetryAfterS < 0:
		return fmt.Errorf("retry_after_s must be >= 0, got %d", f.RetryAfterS)
	case f.DurationS < 0:
		return fmt.Errorf("duration_s must be >= 0, got %v", f.DurationS)
	}
	return nil
}

func (f Faults) any() bool {
	return f.Down || f.LatencyMS > 0 || f.ErrorRate > 0 || len(f.RejectSessions) > 0
}

// faultState holds the current faults; expiry is checked lazily on use, so
// no timer goroutine is needed.
type faultState struct {
	mu       sync.Mutex
	f        Faults
	rejected map[string]bool
	expires  time.Time
}

func (s *faultState) set(f Faults, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f, s.rejected, s.expires = f, nil, time.Time{}
	if len(f.RejectSessions) > 0 {
		s.rejected = make(map[string]bool, len(f.RejectSessions))
		for _, id := range f.RejectSessions {
			s.rejected[id] = true
		}
	}
	if f.DurationS > 0 {
		s.expires = now.Add(time.Duration(f.DurationS * float64(time.Second)))
	}
}

// current returns the faults in force at now and the rejected session set
// (read-only).
func (s *faultState) current(now time.Time) (Faults, map[string]bool, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.expires.IsZero() && !now.Before(s.expires) {
		s.f, s.rejected, s.expires = Faults{}, nil, time.Time{}
	}
	return s.f, s.rejected, s.expires
}

func (s *faultState) state(now time.Time) FaultState {
	f, _, exp := s.current(now)
	st := FaultState{Faults: f, Active: f.any()}
	if !exp.IsZero() {
		st.ExpiresAt = exp.UnixMilli()
	}
	return st
}

// faultReply is the answer of a down or error_rate fault, with Laravel's
// message for that status.
func faultReply(status, retryAfterS int) reply {
	msg := http.StatusText(status)
	switch status {
	case http.StatusServiceUnavailable:
		msg = "Service Unavailable"
	case http.StatusTooManyRequests:
		msg = "Too Many Attempts."
	case http.StatusInternalServerError:
		msg = "Server Error"
	}
	rep := messageReply(status, msg)
	if retryAfterS > 0 {
		rep.header = http.Header{"Retry-After": {strconv.Itoa(retryAfterS)}}
	}
	return rep
}
