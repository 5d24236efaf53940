package inmem

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"wagateway/service"
)

// Instances is service.Instances in memory: the registry of one process,
// where several in-process instances can meet in tests.
type Instances struct {
	clock service.Clock

	mu  sync.Mutex
	all map[string]instanceEntry
}

type instanceEntry struct {
	service.Instance
	expires time.Time
}

// NewInstances returns an empty registry; a nil clock is the system clock.
func NewInstances(clock service.Clock) *Instances {
	return &Instances{clock: clockOrSystem(clock), all: map[string]instanceEntry{}}
}

var _ service.Instances = (*Instances)(nil)

func (r *Instances) Heartbeat(ctx context.Context, in service.Instance, ttl time.Duration) error {
	if in.ID == "" || ttl < time.Millisecond {
		return service.Errorf(service.EINVALID, "heartbeat needs an instance id and a ttl")
	}
	r.mu.Lock()
	r.all[in.ID] = instanceEntry{Instance: in, expires: r.clock.Now().Add(ttl)}
	r.mu.Unlock()
	return nil
}

func (r *Instances) Live(ctx context.Context) ([]service.Instance, error) {
	now := r.clock.Now()
	r.mu.Lock()
	var out []service.Instance
	for id, e := range r.all {
		if now.Before(e.expires) {
			out = append(out, e.Instance)
		} else {
			delete(r.all, id)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b service.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (r *Instances) Leave(ctx context.Context, id string) error {
	r.mu.Lock()
	delete(r.all, id)
	r.mu.Unlock()
	return nil
}
