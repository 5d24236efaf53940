package service

import "sync"

// SupersededCounts is what an Outbox reports as OutboxStats.Superseded: per
// kind, the updates its Add removed or refused because a newer one of
// their key came. The zero value is ready to use.
//
// An update Add removes while it is claimed may be in a request that
// reaches Laravel: then it was delivered, not superseded, and counting it
// both ways would make sent + superseded exceed what was accepted. Such an
// update counts only once its delivery is known to have failed, which is
// when its lane is claimed again (a flusher claims a lane again only after
// the previous claim's items were acknowledged, dead-lettered or left to
// retry); an Ack or DeadLetter of it drops it uncounted.
type SupersededCounts struct {
	mu       sync.Mutex
	n        map[Kind]int
	inFlight map[claimedID]Kind
}

// claimedID names an update: ids are unique per lane only (a Redis stream
// id is a time), so the lane is part of the name.
type claimedID struct {
	lane Lane
	id   string
}

// Superseded counts one update of kind that Add removed (unclaimed) or refused.
func (c *SupersededCounts) Superseded(kind Kind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count(kind, 1)
}

// InFlight notes that Add removed the claimed update id of lane: it counts
// at the next Claimed(lane) unless Settled(id) comes first.
func (c *SupersededCounts) InFlight(id string, lane Lane, kind Kind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight == nil {
		c.inFlight = map[claimedID]Kind{}
	}
	c.inFlight[claimedID{lane: lane, id: id}] = kind
}

// Settled drops ids of lane that were acknowledged or dead-lettered: their
// request ended at Laravel, so they do not count as superseded.
func (c *SupersededCounts) Settled(lane Lane, ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.inFlight) == 0 {
		return
	}
	for _, id := range ids {
		delete(c.inFlight, claimedID{lane: lane, id: id})
	}
}

// Claimed is called as lane is claimed: the updates of lane removed while
// in flight and never settled were not delivered, so now they count.
func (c *SupersededCounts) Claimed(lane Lane) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, kind := range c.inFlight {
		if k.lane == lane {
			c.count(kind, 1)
			delete(c.inFlight, k)
		}
	}
}

// Counts returns a copy of the counts, nil when nothing was superseded.
func (c *SupersededCounts) Counts() map[Kind]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.n) == 0 {
		return nil
	}
	out := make(map[Kind]int, len(c.n))
	for k, n := range c.n {
		out[k] = n
	}
	return out
}

func (c *SupersededCounts) count(kind Kind, n int) {
	if c.n == nil {
		c.n = map[Kind]int{}
	}
	c.n[kind] += n
}
