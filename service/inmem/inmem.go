// Package inmem is the embedded storage of the gateway: a Cache, an Outbox and
// Leases held in process memory. It is the default when no REDIS_URL is set
// (nothing survives a restart: Outbox.Durable reports false) and the L1 cache
// in front of Redis. It must never reach outside the process.
package inmem

import "wagateway/service"

func clockOrSystem(c service.Clock) service.Clock {
	if c == nil {
		return service.SystemClock{}
	}
	return c
}
