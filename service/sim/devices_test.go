package sim_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"wagateway/service"
	"wagateway/service/sim"
)

// sharedDevices is a sim.Devices two drivers share, as two gateway
// instances share Redis.
type sharedDevices struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *sharedDevices) Device(ctx context.Context, id string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	jid, ok := s.m[id]
	return jid, ok, nil
}

func (s *sharedDevices) SaveDevice(ctx context.Context, id, jid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = jid
	return nil
}

func (s *sharedDevices) DeleteDevice(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

func (s *sharedDevices) Devices(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// A session paired through one driver reconnects through another that
// shares the device store, without a QR: what a takeover needs.
func TestSharedDevicesLetAnotherDriverReconnect(t *testing.T) {
	ctx := context.Background()
	store := &sharedDevices{m: map[string]string{}}
	a, _ := newDriver(t, sim.Config{Seed: 1, Devices: store})
	b, _ := newDriver(t, sim.Config{Seed: 2, Devices: store})
	if err := a.Start(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, a); ev.Type != service.EventQR {
		t.Fatalf("got %+v", ev)
	}
	if err := a.Scan(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	paired := next(t, a)
	if paired.Type != service.EventConnected {
		t.Fatalf("got %+v", paired)
	}
	if ids, _ := b.Paired(ctx); !slices.Equal(ids, []string{"s1"}) {
		t.Fatalf("other driver's Paired = %v", ids)
	}
	if err := b.Start(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, b); ev.Type != service.EventConnected || ev.JID != paired.JID {
		t.Fatalf("other driver: got %+v, want connected as %s without a QR", ev, paired.JID)
	}
	if err := b.Logout(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := a.Paired(ctx); len(ids) != 0 {
		t.Fatalf("after logout through the other driver Paired = %v", ids)
	}
}
