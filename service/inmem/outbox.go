package inmem

import (
	"container/list"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"wagateway/service"
)

// DefaultDeadLetterCap bounds the dead letters an Outbox keeps.
const DefaultDeadLetterCap = 10_000

// Outbox is a service.Outbox in process memory for a single consumer: items
// are lost when the process ends (Durable is false). Claim returns the
// oldest items of a lane whether or not they were claimed before, which is
// what "own pending first, then new" means when there is one consumer.
type Outbox struct {
	clock service.Clock

	mu    sync.Mutex
	seq   uint64
	dseq  uint64                      // dead letter ids
	lanes map[service.Lane]*list.List // *queued, oldest first
	byID  map[string]*list.Element
	byKey map[string]*list.Element // the one pending update per Key
	// superseded counts updates Add removed or refused for a newer one.
	superseded service.SupersededCounts
	dead       []service.DeadLetter // oldest first, at most DefaultDeadLetterCap
}

type queued struct {
	item  service.Update
	added time.Time // for OldestAge: how long the item has waited
}

// NewOutbox returns an empty Outbox; a nil clock is the system clock.
func NewOutbox(clock service.Clock) *Outbox {
	o := &Outbox{
		clock: clockOrSystem(clock),
		lanes: make(map[service.Lane]*list.List),
		byID:  make(map[string]*list.Element),
		byKey: make(map[string]*list.Element),
	}
	for _, l := range service.Lanes {
		o.lanes[l] = list.New()
	}
	return o
}

var _ service.Outbox = (*Outbox)(nil)

func (o *Outbox) Add(ctx context.Context, it service.Update) (service.Update, error) {
	if err := it.Validate(); err != nil {
		return service.Update{}, err
	}
	added := o.clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	it.ID = strconv.FormatUint(o.seq, 10)
	it.Attempts = 0
	if el, ok := o.byKey[it.Key()]; ok {
		old := el.Value.(*queued).item
		if !it.Newer(old) {
			o.superseded.Superseded(it.Kind)
			it.ID = "" // a newer update of its key waits already
			return it, nil
		}
		if old.Attempts > 0 { // claimed: its request may still reach Laravel
			o.superseded.InFlight(old.ID, old.Lane, old.Kind)
		} else {
			o.superseded.Superseded(old.Kind)
		}
		o.remove(old.Lane, old.ID)
	}
	el := o.lanes[it.Lane].PushBack(&queued{item: it, added: added})
	o.byID[it.ID], o.byKey[it.Key()] = el, el
	return it, nil
}

func (o *Outbox) Claim(ctx context.Context, lane service.Lane, max int) ([]service.Update, error) {
	if !lane.Valid() {
		return nil, service.Errorf(service.EINVALID, "unknown lane %q", lane)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.superseded.Claimed(lane)
	var out []service.Update
	for el := o.lanes[lane].Front(); el != nil && len(out) < max; el = el.Next() {
		q := el.Value.(*queued)
		q.item.Attempts++
		out = append(out, q.item)
	}
	return out, nil
}

func (o *Outbox) Ack(ctx context.Context, lane service.Lane, ids ...string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range ids {
		o.remove(lane, id)
	}
	o.superseded.Settled(lane, ids...)
	return nil
}

func (o *Outbox) DeadLetter(ctx context.Context, lane service.Lane, dead []service.DeadLetter) error {
	now := o.clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range dead {
		if d.At.IsZero() {
			d.At = now
		}
		o.remove(lane, d.Item.ID)
		o.superseded.Settled(lane, d.Item.ID)
		o.dseq++
		d.ID = strconv.FormatUint(o.dseq, 10)
		o.dead = append(o.dead, d)
	}
	if over := len(o.dead) - DefaultDeadLetterCap; over > 0 {
		o.dead = append(o.dead[:0:0], o.dead[over:]...)
	}
	return nil
}

func (o *Outbox) DeadLetters(ctx context.Context, q service.DeadLetterQuery) ([]service.DeadLetter, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []service.DeadLetter
	for i := len(o.dead) - 1; i >= 0 && !q.Full(len(out)); i-- {
		if q.Match(o.dead[i]) {
			out = append(out, o.dead[i])
		}
	}
	return out, nil
}

func (o *Outbox) DeleteDeadLetters(ctx context.Context, ids ...string) (int, error) {
	drop := make(map[string]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	before := len(o.dead)
	o.dead = slices.DeleteFunc(o.dead, func(d service.DeadLetter) bool { return drop[d.ID] })
	return before - len(o.dead), nil
}

func (o *Outbox) PruneDeadLetters(ctx context.Context, keep int, olderThan time.Time) (evicted, expired int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if over := len(o.dead) - max(keep, 0); over > 0 {
		o.dead = append(o.dead[:0:0], o.dead[over:]...)
		evicted = over
	}
	n := 0
	for n < len(o.dead) && o.dead[n].At.Before(olderThan) {
		n++
	}
	if n > 0 {
		o.dead = append(o.dead[:0:0], o.dead[n:]...)
	}
	return evicted, n, nil
}

func (o *Outbox) Stats(ctx context.Context) (service.OutboxStats, error) {
	now := o.clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	st := service.OutboxStats{
		Depth:        make(map[service.Lane]int, len(o.lanes)),
		OldestAge:    make(map[service.Lane]time.Duration, len(o.lanes)),
		DeadLettered: len(o.dead),
		Superseded:   o.superseded.Counts(),
	}
	for lane, l := range o.lanes {
		st.Depth[lane] = l.Len()
		if front := l.Front(); front != nil {
			st.OldestAge[lane] = max(0, now.Sub(front.Value.(*queued).added))
		} else {
			st.OldestAge[lane] = 0
		}
	}
	return st, nil
}

// Durable is false: everything is lost with the process.
func (o *Outbox) Durable() bool { return false }

// remove drops id if it is queued in lane; unknown ids are ignored, so an
// Ack repeated after a retry is harmless.
func (o *Outbox) remove(lane service.Lane, id string) {
	el, ok := o.byID[id]
	if !ok || el.Value.(*queued).item.Lane != lane {
		return
	}
	o.lanes[lane].Remove(el)
	delete(o.byID, id)
	if k := el.Value.(*queued).item.Key(); o.byKey[k] == el {
		delete(o.byKey, k)
	}
}
