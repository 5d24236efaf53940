package inmem_test

import (
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/historytest"
	"wagateway/service/inmem"
)

func TestHistoryContract(t *testing.T) {
	historytest.Run(t, func(t *testing.T, clock historytest.Clock, max int, maxAge time.Duration) service.StatusHistory {
		return inmem.NewHistory(clock, max, maxAge)
	}, func() historytest.Clock { return newFakeClock() })
}
