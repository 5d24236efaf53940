package service_test

import (
	"errors"
	"testing"

	"wagateway/service"
)

func TestCacheCounters(t *testing.T) {
	var c service.CacheCounters
	if m := c.Metrics(); m != (service.CacheMetrics{}) {
		t.Fatalf("zero counters = %+v", m)
	}
	c.Hit()
	c.Miss()
	c.Set()
	c.Set()
	c.Invalidation()
	c.Failure()
	if !c.Decoded(nil) {
		t.Error("Decoded(nil) = false, want a usable value")
	}
	if c.Decoded(errors.New("bad json")) {
		t.Error("Decoded(err) = true, want unusable")
	}
	// Hits: Hit and Decoded(nil); misses: Miss and Decoded(err), which is a failure too.
	want := service.CacheMetrics{Hits: 2, Misses: 2, HitRate: 0.5, Sets: 2, Invalidations: 1, Errors: 2}
	if m := c.Metrics(); m != want {
		t.Fatalf("Metrics = %+v, want %+v", m, want)
	}
}
