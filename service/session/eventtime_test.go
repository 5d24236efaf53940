package session_test

import (
	"context"
	"sync"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/inmem"
	"wagateway/service/mock"
	"wagateway/service/session"
)

// A scan within the millisecond of the first QR must still reach Laravel as
// the newer change: pending and active with one time cannot be ordered by
// newest-wins, and they travel on different lanes.
func TestStatusChangesOfOneMillisecondStayOrdered(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 123_400_000, time.UTC)
	clock := clocktest.New(t0)

	events := make(chan service.DriverEvent)
	driver := mock.NewDriver(t)
	driver.EXPECT().Events().Return(events).Once()
	driver.EXPECT().Start(tmock.Anything, "a").Return(nil).Once()
	driver.EXPECT().Stop(tmock.Anything, "a").Return(nil).Once()

	var mu sync.Mutex
	var statuses []service.Update
	published := make(chan struct{}, 8)
	publisher := mock.NewPublisher(t)
	publisher.EXPECT().Publish(tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, u service.Update) error {
		if u.Kind == service.KindStatus {
			mu.Lock()
			statuses = append(statuses, u)
			mu.Unlock()
			published <- struct{}{}
		}
		return nil
	}).Times(4) // the QR, then pending, active and inactive

	m, err := session.New(session.Config{
		Instance: "i1", QRExpires: time.Minute, LeaseTTL: 30 * time.Second, Clock: clock,
		TTL: session.CacheTTL{QR: time.Minute, Status: time.Minute, Connection: time.Minute, Session: time.Minute},
	}, session.Deps{
		Driver: driver, L1: inmem.NewCache(clock), Publisher: publisher, Leases: inmem.NewLeases(clock),
		Render: func(code string) (string, error) { return "data:image/png;base64,AA", nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	if _, err := m.Start(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	// Both events carry the same instant, 0.3 ms apart at most in real life.
	send := func(ev service.DriverEvent) {
		select {
		case events <- ev:
		case <-ctx.Done():
			t.Fatal("driver event not consumed")
		}
	}
	send(service.DriverEvent{SessionID: "a", Type: service.EventQR, Code: "2@x", ExpiresAt: t0.Add(time.Minute), At: t0})
	send(service.DriverEvent{SessionID: "a", Type: service.EventConnected, JID: "1@s", At: t0.Add(300 * time.Microsecond)})
	for range 2 {
		select {
		case <-published:
		case <-ctx.Done():
			t.Fatal("statuses not published")
		}
	}
	if err := m.Stop(ctx, "a"); err != nil { // the clock still stands at t0
		t.Fatal(err)
	}
	cancel()
	<-done

	mu.Lock()
	defer mu.Unlock()
	want := []struct {
		status service.Status
		at     time.Time
	}{
		{service.StatusPending, t0},
		{service.StatusActive, t0.Truncate(time.Millisecond).Add(time.Millisecond)},
		{service.StatusInactive, t0.Truncate(time.Millisecond).Add(2 * time.Millisecond)},
	}
	if len(statuses) != len(want) {
		t.Fatalf("published %d statuses, want %d: %v", len(statuses), len(want), statuses)
	}
	for i, w := range want {
		if statuses[i].Status != w.status || !statuses[i].At.Equal(w.at) {
			t.Errorf("status %d = %s at %s, want %s at %s", i, statuses[i].Status,
				statuses[i].At.Format(service.TimeFormat), w.status, w.at.Format(service.TimeFormat))
		}
	}
}
