package delivery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/delivery"
)

// Laravel is up only while it accepts requests: a 401, 403, 404 or 405 is
// what a wrong token or URL returns, and the flusher keeps those updates.
func TestHealthUpOnlyOnAcceptedAnswers(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := clocktest.New(t0)
	h := delivery.NewHealth(clock)
	if got := h.Health(context.Background()); got.State != service.LaravelUnknown || got.StatusCode != 0 || !got.At.IsZero() {
		t.Fatalf("before any request: %+v, want unknown", got)
	}
	tests := []struct {
		err        error
		state      string
		statusCode int
	}{
		{nil, service.LaravelUp, 200},
		{&service.DeliveryError{StatusCode: 401}, service.LaravelDown, 401},
		{&service.DeliveryError{StatusCode: 403}, service.LaravelDown, 403},
		{&service.DeliveryError{StatusCode: 404}, service.LaravelDown, 404},
		{&service.DeliveryError{StatusCode: 405}, service.LaravelDown, 405},
		{&service.DeliveryError{StatusCode: 422}, service.LaravelDown, 422},
		{&service.DeliveryError{StatusCode: 429}, service.LaravelDown, 429},
		{&service.DeliveryError{StatusCode: 503}, service.LaravelDown, 503},
		{&service.DeliveryError{Message: "connection refused"}, service.LaravelDown, 0},
		{errors.New("unclassified"), service.LaravelDown, 0},
		{nil, service.LaravelUp, 200},
	}
	for i, tt := range tests {
		clock.Advance(time.Second)
		r := service.BatchReport{Lane: service.LaneHigh, Kind: service.KindQR, Mode: service.DeliveryModeBatch, Items: 1, Err: tt.err}
		var de *service.DeliveryError
		if errors.As(tt.err, &de) {
			r.StatusCode = de.StatusCode
		}
		h.OnBatch(r)
		got := h.Health(context.Background())
		want := service.LaravelHealth{State: tt.state, StatusCode: tt.statusCode, At: t0.Add(time.Duration(i+1) * time.Second)}
		if got != want {
			t.Errorf("after %v: %+v, want %+v", tt.err, got, want)
		}
	}
}
