package redis_test

import (
	"context"
	"testing"
	"time"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/redis"
)

// A heartbeat needs a TTL of at least a millisecond (Redis's precision).
func TestHeartbeatTTLBound(t *testing.T) {
	ctx := context.Background()
	reg := redis.NewInstances(redistest.Start(t), "")
	if err := reg.Heartbeat(ctx, service.Instance{ID: "gw-a"}, time.Millisecond); err != nil {
		t.Fatalf("Heartbeat with a 1 ms TTL: %v", err)
	}
	if err := reg.Heartbeat(ctx, service.Instance{ID: "gw-a"}, time.Millisecond-1); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Heartbeat with a TTL under 1 ms: %v, want EINVALID", err)
	}
}
