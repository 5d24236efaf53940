package delivery_test

import (
	"context"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/delivery"
)

// A request that failed through one Run cycle goes again in the next with
// the same idempotency key: that is a retry too, though the new cycle counts
// its attempts from zero (the e2e outage test saw more repeated keys at
// Laravel than the gateway's retries said).
func TestFlusherCountsResendsAcrossCyclesAsRetries(t *testing.T) {
	h := newFlHarness(t, delivery.Config{}, true)
	h.expect(5, 0)
	h.setAnswer(func(n int, _ flRequest) error {
		if n < 4 { // three tries of cycle one, the first of cycle two
			return &service.DeliveryError{StatusCode: 503, Message: "down"}
		}
		return nil
	})
	h.publish(t, flQR("a", 0))
	h.run(t)
	var keys []string
	for range 5 {
		keys = append(keys, h.next(t).Key)
	}
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("keys %v: the same items went under another key", keys)
		}
	}
	// The last answer is counted just after the mock returns it.
	m := h.f.Metrics(context.Background())
	for deadline := time.Now().Add(5 * time.Second); m.Sent != 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		m = h.f.Metrics(context.Background())
	}
	if m.Requests != 5 || m.Failed != 4 || m.Retries != 4 {
		t.Fatalf("metrics = requests %d, failed %d, retries %d; want 5, 4, 4", m.Requests, m.Failed, m.Retries)
	}
}
