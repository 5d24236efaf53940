package inmem_test

import (
	"testing"

	"wagateway/service/inmem"
	"wagateway/service/leasetest"
)

func TestLeasesContract(t *testing.T) {
	leasetest.Run(t, func(t *testing.T) leasetest.Store {
		clock := newFakeClock()
		return leasetest.Store{Leases: inmem.NewLeases(clock), Pass: clock.Advance}
	})
}
