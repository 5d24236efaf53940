package redis

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wagateway/service"
)

// memPrefix marks the ids of items held in the outage buffer, so Ack and
// DeadLetter know they live in memory, not in a stream.
const memPrefix = "mem-"

func isMemID(id string) bool { return strings.HasPrefix(id, memPrefix) }

// buffer holds outbox items accepted while Redis is unreachable, per lane in
// the order they were accepted, until they are delivered or written to Redis.
// It is bounded: a full buffer refuses items rather than grow without limit.
type buffer struct {
	mu      sync.Mutex
	max     int
	deadMax int
	seq     uint64
	lanes   map[service.Lane][]*buffered
	n       int
	dead    []service.DeadLetter // refused while Redis was away, oldest first
}

type bufState int

const (
	waiting bufState = iota // never claimed
	claimed                 // handed out by Claim, not acknowledged yet
	moving                  // being written to Redis
)

type buffered struct {
	item  service.Update
	added time.Time
	state bufState
	prev  bufState // state before moving, restored if the write fails
	gone  bool     // acknowledged while moving: delete it from Redis once written
}

func newBuffer(max, deadMax int) *buffer {
	return &buffer{max: max, deadMax: deadMax, lanes: make(map[service.Lane][]*buffered)}
}

// add keeps it in memory; EUNAVAILABLE when the buffer is full.
func (b *buffer) add(it service.Update, now time.Time) (service.Update, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n >= b.max {
		return service.Update{}, service.Errorf(service.EUNAVAILABLE,
			"redis is unreachable and the outbox buffer is full (%d items)", b.max)
	}
	b.seq++
	it.ID = memPrefix + strconv.FormatUint(b.seq, 10)
	it.Attempts = 0
	b.lanes[it.Lane] = append(b.lanes[it.Lane], &buffered{item: it, added: now})
	b.n++
	return it, nil
}

// claim hands out up to max items of lane, oldest first, claimed or not:
// with one consumer per process the unacknowledged ones are ours to retry.
func (b *buffer) claim(lane service.Lane, max int) []service.Update {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []service.Update
	for _, e := range b.lanes[lane] {
		if len(out) == max {
			break
		}
		if e.state == moving {
			continue
		}
		e.state = claimed
		e.item.Attempts++
		out = append(out, e.item)
	}
	return out
}

// remove drops the given ids of lane and returns the items it dropped.
func (b *buffer) remove(lane service.Lane, ids []string) []service.Update {
	if len(ids) == 0 {
		return nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var removed []service.Update
	b.lanes[lane] = slices.DeleteFunc(b.lanes[lane], func(e *buffered) bool {
		if !want[e.item.ID] || e.gone {
			return false
		}
		removed = append(removed, e.item)
		if e.state == moving {
			e.gone = true // finishMove deletes it from Redis
			return false
		}
		b.n--
		return true
	})
	return removed
}

// startMove marks every item of lane as moving and returns them in order.
func (b *buffer) startMove(lane service.Lane) []*buffered {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*buffered
	for _, e := range b.lanes[lane] {
		if e.state == moving || e.gone {
			continue
		}
		e.prev, e.state = e.state, moving
		out = append(out, e)
	}
	return out
}

// finishMove drops the items that reached Redis (written[i] is its new
// stream id, "" if the write failed) and puts the others back. It returns
// the stream ids of items acknowledged meanwhile, to delete from Redis.
func (b *buffer) finishMove(lane service.Lane, moved []*buffered, written []string) (ackedMeanwhile []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	done := make(map[*buffered]bool, len(moved))
	for i, e := range moved {
		switch {
		case written[i] != "":
			done[e] = true
			if e.gone {
				ackedMeanwhile = append(ackedMeanwhile, written[i])
			}
		case e.gone:
			done[e] = true
		default:
			e.state = e.prev
		}
	}
	before := len(b.lanes[lane])
	b.lanes[lane] = slices.DeleteFunc(b.lanes[lane], func(e *buffered) bool { return done[e] })
	b.n -= before - len(b.lanes[lane])
	return ackedMeanwhile
}

// keepDead remembers dead letters until Redis can store them; the oldest go
// when there are too many.
func (b *buffer) keepDead(dead ...service.DeadLetter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dead = append(b.dead, dead...)
	if over := len(b.dead) - b.deadMax; over > 0 {
		b.dead = append(b.dead[:0:0], b.dead[over:]...)
	}
}

// takeDead empties the dead letters kept in memory.
func (b *buffer) takeDead() []service.DeadLetter {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.dead
	b.dead = nil
	return d
}

// deadLetters returns up to limit (all when 0) kept dead letters, newest first.
func (b *buffer) deadLetters(limit int) []service.DeadLetter {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []service.DeadLetter
	for i := len(b.dead) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		out = append(out, b.dead[i])
	}
	return out
}

type bufferStats struct {
	depth  map[service.Lane]int
	oldest map[service.Lane]time.Time
	total  int
	dead   int
}

func (b *buffer) stats() bufferStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := bufferStats{depth: map[service.Lane]int{}, oldest: map[service.Lane]time.Time{}, dead: len(b.dead)}
	for lane, items := range b.lanes {
		n := 0
		for _, e := range items {
			if !e.gone {
				n++
			}
		}
		st.depth[lane] = n
		st.total += n
		if len(items) > 0 {
			st.oldest[lane] = items[0].added
		}
	}
	return st
}

func (b *buffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}
