package service

import (
	"errors"
	"fmt"
	"time"
)

// DeliveryError is a failed call to Laravel, classified for the flusher.
type DeliveryError struct {
	StatusCode int           // 0: no HTTP answer (network error, timeout)
	RetryAfter time.Duration // from a Retry-After header, 0 when absent
	Message    string        // Laravel's message or the transport error
	Invalid    []int         // indices of the items a 422 named, when it did
	Err        error
}

func (e *DeliveryError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("laravel unreachable: %s", e.Message)
	}
	return fmt.Sprintf("laravel answered %d: %s", e.StatusCode, e.Message)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Retryable reports whether the same request may succeed later: no answer,
// a timeout, 408, 425, 429 or any 5xx. Other 4xx mean the items are bad.
func (e *DeliveryError) Retryable() bool {
	switch {
	case e.StatusCode == 0, e.StatusCode >= 500:
		return true
	case e.StatusCode == 408, e.StatusCode == 425, e.StatusCode == 429:
		return true
	}
	return false
}

// Resent reports whether updates whose request failed with err stay in the
// outbox to be sent again (else they are dead-lettered). Besides
// DeliveryError.Retryable, 401, 403 and 405 say the gateway's token or URL is
// wrong, not the updates, and so does a 404 from a batch endpoint (the single
// endpoints of DeliveryModeDirect answer 404 for an unknown account):
// dead-lettering on those would empty the outbox over a config mistake. An
// unclassified error is taken as transient for the same reason.
func Resent(err error, mode DeliveryMode) bool {
	var de *DeliveryError
	if !errors.As(err, &de) {
		return true
	}
	switch de.StatusCode {
	case 401, 403, 405:
		return true
	case 404:
		return mode != DeliveryModeDirect
	}
	return de.Retryable()
}
