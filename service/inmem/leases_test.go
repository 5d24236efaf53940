package inmem_test

import (
	"testing"

	"wagateway/service/inmem"
	"wagateway/service/leasetest"
)

func TestLeasesContract(t *testing.T) {
	leasetest.Run(t, func(t *testing.T) leasetest.Fixture {
		clock := newFakeClock()
		return leasetest.Fixture{Leases: inmem.NewLeases(clock), Elapse: clock.Advance}
	})
}
