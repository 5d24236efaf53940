package session_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"wagateway/service"
)

// endHeld is the in-memory lease store with End held until release: a
// session's previous run still giving its lease up.
type endHeld struct {
	service.Leases
	once, releaseOnce sync.Once
	entered, released chan struct{}
}

func (l *endHeld) release() { l.releaseOnce.Do(func() { close(l.released) }) }

func (l *endHeld) End(ctx context.Context, lease service.Lease) error {
	l.once.Do(func() { close(l.entered) })
	<-l.released
	return l.Leases.End(ctx, lease)
}

// A Start that comes while the session's previous run is still giving its
// lease up waits for that End: taking the lease first would keep that very
// lease (same owner, same token), which the End then deletes, and every
// fenced write of the new run would be refused.
func TestStartWaitsForThePreviousRunsLeaseToEnd(t *testing.T) {
	held := &endHeld{entered: make(chan struct{}), released: make(chan struct{})}
	h := newMgrHarness(t, func(h *mgrHarness) {
		held.Leases = h.leases
		h.store = held
		h.expectStarts("a", "a")
		h.expectPublishes(2) // active, then inactive
	})
	h.run(t)
	t.Cleanup(held.release) // before Run's cleanup, which waits for the event loop
	h.start(t, "a")
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventConnected, JID: "1@s.whatsapp.net"})
	wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusActive, "")
	h.send(service.DriverEvent{SessionID: "a", Type: service.EventClosed, Reason: service.ReasonLoggedOut})
	wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusInactive, service.ReasonLoggedOut)
	select {
	case <-held.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the closed session's lease was never given up")
	}

	started := make(chan error, 1)
	go func() { _, err := h.m.Start(context.Background(), "a"); started <- err }()
	select {
	case err := <-started:
		t.Fatalf("Start returned (%v) while the previous run's lease was still being given up", err)
	case <-time.After(100 * time.Millisecond):
	}
	held.release()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("Start after the previous run ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start still waits after the previous run's lease ended")
	}
	if owner, err := h.leases.Owner(context.Background(), "a"); err != nil || owner != "gw-1" {
		t.Fatalf("lease of the restarted session held by %q (%v), want gw-1", owner, err)
	}
}
