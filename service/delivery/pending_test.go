package delivery_test

import (
	"context"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/delivery"
	"wagateway/service/inmem"
	"wagateway/service/laravel"
)

// Updates the outbox dropped as superseded when newer ones were added are
// no longer waiting: /metrics/batch's qrBatchSize and statusBatchSize count
// what is left, and superseded counts what was dropped.
func TestMetricsPendingLeaveOutSupersededUpdates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := laravel.New(laravel.Config{BaseURL: "http://127.0.0.1:1", Token: "t"}) // never called: Run is not started
	if err != nil {
		t.Fatal(err)
	}
	clock := newFlClock(false)
	f, err := delivery.New(withDefaults(delivery.Config{Clock: clock}), inmem.NewOutbox(clock), client, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []service.Update{
		flQR("a", time.Second), flQR("a", 2*time.Second), // the first is dropped
		flStatus("a", service.StatusPending, time.Second), flStatus("a", service.StatusActive, 2*time.Second), // likewise
		flStatus("b", service.StatusPending, time.Second),
	} {
		if err := f.Publish(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	m := f.Metrics(ctx)
	if m.QRBatchSize != 1 || m.StatusBatchSize != 2 || m.Superseded != 2 || m.Accepted != 5 {
		t.Fatalf("qrBatchSize %d, statusBatchSize %d, superseded %d, accepted %d; want 1, 2, 2, 5",
			m.QRBatchSize, m.StatusBatchSize, m.Superseded, m.Accepted)
	}
}
