package redis

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
)

// unconfirmedWarnAfter is how long an outbox item may wait for a replica's
// confirmation before the outbox logs (once) that no replica confirms.
const unconfirmedWarnAfter = 10 * time.Second

// maxConfirmBackoff bounds the wait between two rewrites of a lane's
// unconfirmed items while no replica confirms: the first retry comes after
// a second, each further one after twice as long, up to this.
const maxConfirmBackoff = 30 * time.Second

// unconfirmed holds the outbox items Redis accepted while no replica
// confirmed them (WAIT found fewer than ReplicaAcks, or was skipped): they
// live on the master alone, and a Sentinel failover that promotes a replica
// loses them. Until a replica confirms them they stay here too, and each
// lane's Claim writes its items again with WAIT (Outbox.confirm).
//
// Only the newest item of each key (kind and session) is kept: the outbox
// is newest-wins, so an older one that a failover lost has nothing to
// deliver. That bounds the memory by sessions × kinds however long no
// replica answers. An item leaves when a replica confirms it (or a newer
// one of its key), or when it was delivered or dead-lettered: then Laravel
// has had it whatever Redis lost.
type unconfirmed struct {
	mu     sync.Mutex
	byKey  map[string]*unconfirmedItem
	warned bool // "no replica confirms" was logged for the current episode
	// Per lane, while rewrites go unconfirmed: the current backoff and the
	// time of the next rewrite.
	backoff map[service.Lane]time.Duration
	next    map[service.Lane]time.Time
}

type unconfirmedItem struct {
	item  service.Update // ID: the stream id it was last written under ("" if none)
	since time.Time      // when it was first kept
}

func newUnconfirmed() *unconfirmed {
	return &unconfirmed{byKey: make(map[string]*unconfirmedItem),
		backoff: make(map[service.Lane]time.Duration), next: make(map[service.Lane]time.Time)}
}

// keep remembers it unless a newer item of its key is kept already.
func (u *unconfirmed) keep(it service.Update, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	cur, ok := u.byKey[it.Key()]
	if ok && cur.item.At.After(it.At) {
		return
	}
	since := now
	if ok {
		since = cur.since
	}
	u.byKey[it.Key()] = &unconfirmedItem{item: it, since: since}
}

// confirmedAdd notes that it reached a replica: a kept item of its key that
// is not newer has a durable successor and leaves, and the others are
// written again at their lane's next Claim (a replica answers now).
func (u *unconfirmed) confirmedAdd(it service.Update) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.byKey) == 0 {
		return
	}
	clear(u.next)
	clear(u.backoff)
	if cur, ok := u.byKey[it.Key()]; ok && !cur.item.At.After(it.At) {
		delete(u.byKey, it.Key())
	}
}

// settled drops the kept items of lane that ids name: they were delivered
// (or dead-lettered), so Laravel has had them whatever Redis loses.
func (u *unconfirmed) settled(lane service.Lane, ids []string) {
	if len(ids) == 0 {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.byKey) == 0 {
		return
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for k, e := range u.byKey {
		if e.item.Lane == lane && e.item.ID != "" && want[e.item.ID] {
			delete(u.byKey, k)
		}
	}
}

// due returns the kept items of lane when it is time to write them again.
// rewrite is a kept item and a copy of it taken under the lock.
type rewrite struct {
	e  *unconfirmedItem
	it service.Update
}

func (u *unconfirmed) due(lane service.Lane, now time.Time) []rewrite {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now.Before(u.next[lane]) {
		return nil
	}
	var out []rewrite
	for _, e := range u.byKey {
		if e.item.Lane == lane {
			out = append(out, rewrite{e: e, it: e.item})
		}
	}
	return out
}

// rewritten records the new stream ids of items written again (ids[i] ""
// when Redis kept another entry of the key), and drops them when a replica
// confirmed; an item replaced by a newer Add meanwhile stays.
func (u *unconfirmed) rewritten(items []rewrite, ids []string, confirmed bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, r := range items {
		if u.byKey[r.it.Key()] != r.e {
			continue
		}
		if confirmed {
			delete(u.byKey, r.it.Key())
		} else if ids[i] != "" {
			r.e.item.ID = ids[i]
		}
	}
}

// tried sets lane's next rewrite: at its next Claim after a confirmed one,
// else after the doubled backoff.
func (u *unconfirmed) tried(lane service.Lane, confirmed bool, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if confirmed {
		delete(u.backoff, lane)
		delete(u.next, lane)
		return
	}
	u.backoff[lane] = min(max(2*u.backoff[lane], time.Second), maxConfirmBackoff)
	u.next[lane] = now.Add(u.backoff[lane])
}

// episode says whether the "no replica confirms" log is due: warn when
// items have waited unconfirmedWarnAfter (once an episode), recovered when
// none are left after a warning. n and since: how many, since when.
func (u *unconfirmed) episode(now time.Time) (n int, since time.Time, warn, recovered bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, e := range u.byKey {
		if since.IsZero() || e.since.Before(since) {
			since = e.since
		}
	}
	n = len(u.byKey)
	switch {
	case n > 0 && !u.warned && now.Sub(since) >= unconfirmedWarnAfter:
		u.warned, warn = true, true
	case n == 0 && u.warned:
		u.warned, recovered = false, true
	}
	return n, since, warn, recovered
}

func (u *unconfirmed) len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.byKey)
}

// Unconfirmed returns how many outbox items Redis holds that no replica
// confirmed yet (behind Sentinel): kept in memory too until one does.
func (o *Outbox) Unconfirmed() int { return o.unconf.len() }

// confirm writes lane's unconfirmed items again, with WAIT in the same
// pipeline unless writes skip WAIT (no replica in sync; the Adds of new
// events use up each second's WAIT), and forgets them once a replica
// confirms. It backs off while rewrites go unconfirmed (maxConfirmBackoff):
// each rewrite costs a script per item. The first one after a failover puts
// the items the new master lacks into its stream, so they are delivered
// even before a replica confirms them.
//
// The write is readdScript: newest-wins as Add, except that a pending entry
// of the key with the same event time is kept (it is this item, written
// before and still there: no second copy), and it counts nothing as
// superseded (the first Add counted what it replaced). It is not fenced: the
// item was accepted under its lease; a newer owner's updates are newer and
// win on the event time, here and in Laravel. An item written again after
// it was delivered and acknowledged reaches Laravel twice, never lost.
func (o *Outbox) confirm(ctx context.Context, lane service.Lane) error {
	now := o.cfg.Clock.Now()
	items := o.unconf.due(lane, now)
	if len(items) == 0 {
		o.logUnconfirmed(ctx)
		return nil
	}
	all := true
	for chunk := range slices.Chunk(items, rewriteChunk) {
		ok, err := o.rewrite(ctx, chunk)
		if err != nil {
			return err
		}
		all = all && ok
	}
	o.unconf.tried(lane, all, now)
	o.logUnconfirmed(ctx)
	return nil
}

// rewriteChunk bounds one pipeline of confirm: QR items carry a PNG of
// about 2 KB, and a pipeline must finish within the client's timeouts.
const rewriteChunk = 256

// rewrite writes items again with WAIT in one pipeline (no WAIT once one
// timed out: the skip second) and reports whether a replica confirmed.
func (o *Outbox) rewrite(ctx context.Context, items []rewrite) (bool, error) {
	cmds := make([]*goredis.Cmd, len(items))
	var wait *goredis.Cmd
	waitOn := o.acks.due()
	_, err := o.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, r := range items {
			it := r.it
			it.ID, it.Attempts = "", 0
			payload, _ := json.Marshal(it) // an Update always encodes
			cmds[i] = readdScript.Eval(ctx, p, []string{o.streams[service.LaneHigh], o.streams[service.LaneNormal], o.newestKey},
				laneIndex(it.Lane), it.Key(), payload, it.At.UnixMicro(), group)
		}
		if waitOn {
			wait = o.acks.wait(ctx, p)
		}
		return nil
	})
	if err != nil && isConnError(err) {
		return false, err
	}
	ids := make([]string, len(items))
	for i, c := range cmds {
		if res, err := c.Slice(); err == nil && len(res) == 4 {
			ids[i], _ = res[0].(string)
		}
	}
	confirmed := o.acks.confirmed(wait)
	o.unconf.rewritten(items, ids, confirmed)
	return confirmed, nil
}

// logUnconfirmed says once per episode that items wait long for a replica,
// and once that they are all confirmed again.
func (o *Outbox) logUnconfirmed(ctx context.Context) {
	n, since, warn, recovered := o.unconf.episode(o.cfg.Clock.Now())
	switch {
	case warn:
		o.log.WarnContext(ctx, "no redis replica confirms outbox writes; the unconfirmed items are kept in memory too (lost if this process dies before a replica has them)",
			"unconfirmed", n, "since", since, "replica_acks", o.acks.n)
	case recovered:
		o.log.InfoContext(ctx, "a redis replica confirmed every outbox item again")
	}
}

// readdScript is addScript for an item written again by confirm: it keeps
// a pending entry of the key with the same or a later event time. KEYS and
// ARGV as addScript's unfenced form; the same reply.
var readdScript = goredis.NewScript(`
local lane, key, at = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4])
local cur = redis.call('HGET', KEYS[3], key)
if cur then
  local l, id, t = string.match(cur, '^(%d) (%S+) (%-?%d+)$')
  if l then
    if tonumber(t) >= at then return {'', 0, '', 0} end
    local s = KEYS[tonumber(l)]
    redis.call('XDEL', s, id)
    redis.call('XACK', s, ARGV[5], id)
  end
end
local id = redis.call('XADD', KEYS[lane], '*', 'item', ARGV[3], 'key', key)
redis.call('HSET', KEYS[3], key, lane .. ' ' .. id .. ' ' .. ARGV[4])
return {id, 0, '', 0}
`)
