package loadtest

import "testing"

func TestRequireLoopback(t *testing.T) {
	for _, ok := range []string{"", "http://127.0.0.1:8000", "http://localhost:4000", "redis://127.0.0.1:6379/2", "http://[::1]:80"} {
		if err := requireLoopback(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.5:8000", "http://laravel.internal", "redis://0.0.0.0:6379", "not a url"} {
		if err := requireLoopback(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The memory outbox is a setting of the gateways the load test starts; a
// Redis or an outside gateway would make its figures a lie.
func TestMemoryOutboxOnlyForOwnGateways(t *testing.T) {
	base := Options{Workload: DefaultWorkload(10, 1), TimeScale: 1, OutboxMemory: true}
	if _, err := NewRunner(base); err != nil {
		t.Fatalf("memory outbox alone refused: %v", err)
	}
	for name, o := range map[string]Options{
		"start-redis": {StartRedis: true},
		"redis-url":   {RedisURL: "redis://127.0.0.1:6379/2"},
		"gateway-url": {GatewayURL: "http://127.0.0.1:4000"},
	} {
		opts := base
		opts.StartRedis, opts.RedisURL, opts.GatewayURL = o.StartRedis, o.RedisURL, o.GatewayURL
		if _, err := NewRunner(opts); err == nil {
			t.Errorf("memory outbox with %s accepted", name)
		}
	}
}
