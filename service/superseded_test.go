package service_test

import (
	"testing"

	"wagateway/service"
)

// Redis stream ids are times, unique per lane only: the same id in both
// lanes names two updates, and settling one must not drop the other.
func TestSupersededCountsTellLanesApart(t *testing.T) {
	var c service.SupersededCounts
	c.InFlight("1700000000000-0", service.LaneHigh, service.KindQR)
	c.InFlight("1700000000000-0", service.LaneNormal, service.KindStatus)
	c.Settled(service.LaneHigh, "1700000000000-0") // the QR's request reached Laravel
	c.Claimed(service.LaneHigh)
	if got := c.Counts(); got[service.KindQR] != 0 || got[service.KindStatus] != 0 {
		t.Fatalf("counts %v before the NORMAL lane is claimed again, want none", got)
	}
	c.Claimed(service.LaneNormal) // the status's request failed
	if got := c.Counts(); got[service.KindQR] != 0 || got[service.KindStatus] != 1 {
		t.Fatalf("counts %v, want the status only", got)
	}
	c.Superseded(service.KindQR)
	if got := c.Counts(); got[service.KindQR] != 1 {
		t.Fatalf("counts %v after one QR superseded outright, want 1 QR", got)
	}
}
