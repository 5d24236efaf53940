package prometheus

import (
	"context"
	"errors"
	"strconv"
	"time"

	"wagateway/service"
)

// Endpoint labels of laravel_responses_total and laravel_request_duration_seconds.
const (
	EndpointQRBatch      = "qr_batch"      // POST /api/qr/batch
	EndpointStatusBatch  = "status_batch"  // POST /api/whatsapp/status/batch
	EndpointQR           = "qr"            // POST /api/qr
	EndpointStatus       = "status"        // POST /api/whatsapp/status
	EndpointStatusLookup = "status_lookup" // GET /api/whatsapp/status/{id}
)

// Laravel wraps l to count Laravel's answers and time every request, the
// session manager's status lookups included (the flusher observer sees only
// deliveries).
func (m *Metrics) Laravel(l service.Laravel) service.Laravel { return laravel{l, m} }

type laravel struct {
	next service.Laravel
	m    *Metrics
}

func (l laravel) observe(endpoint string, start time.Time, err error) {
	code, sent := responseCode(err)
	if !sent {
		return
	}
	l.m.responses.WithLabelValues(endpoint, code).Inc()
	l.m.laravelTime.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
}

// responseCode reads Laravel's status code out of a client result; sent is
// false when the client refused the call before sending anything.
func responseCode(err error) (code string, sent bool) {
	var de *service.DeliveryError
	switch {
	case err == nil:
		return "2xx", true
	case errors.As(err, &de) && de.StatusCode == 0:
		return "none", true
	case errors.As(err, &de):
		return strconv.Itoa(de.StatusCode), true
	case service.ErrorCode(err) == service.ENOTFOUND:
		// The client turns a 404 into ENOTFOUND (and a 2xx without a status,
		// which is rare enough to count with it).
		return "404", true
	case service.ErrorCode(err) == service.EINVALID:
		return "", false
	}
	// Laravel answered 2xx but the body was unusable.
	return "2xx", true
}

func (l laravel) PostQRBatch(ctx context.Context, key string, qrs []service.QRUpdate) (service.BatchResult, error) {
	start := time.Now()
	res, err := l.next.PostQRBatch(ctx, key, qrs)
	l.observe(EndpointQRBatch, start, err)
	return res, err
}

func (l laravel) PostStatusBatch(ctx context.Context, key string, sts []service.StatusUpdate) (service.BatchResult, error) {
	start := time.Now()
	res, err := l.next.PostStatusBatch(ctx, key, sts)
	l.observe(EndpointStatusBatch, start, err)
	return res, err
}

func (l laravel) PostQR(ctx context.Context, key string, qr service.QRUpdate) error {
	start := time.Now()
	err := l.next.PostQR(ctx, key, qr)
	l.observe(EndpointQR, start, err)
	return err
}

func (l laravel) PostStatus(ctx context.Context, key string, st service.StatusUpdate) error {
	start := time.Now()
	err := l.next.PostStatus(ctx, key, st)
	l.observe(EndpointStatus, start, err)
	return err
}

func (l laravel) SessionStatus(ctx context.Context, id string) (service.StatusRecord, error) {
	start := time.Now()
	rec, err := l.next.SessionStatus(ctx, id)
	l.observe(EndpointStatusLookup, start, err)
	return rec, err
}
