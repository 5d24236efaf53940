package sqlite

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"wagateway/internal/jsonenc"
	"wagateway/service"
)

// logState holds the pending outbox items and the leases of a DB in
// memory and writes every change of them to the journal before it counts:
// a change is durable once its record is written, and Open rebuilds the
// state from the log. One per DB; each Outbox (a consumer) and the Leases
// work on it.
//
// Why not tables: an item written as a SQLite row cost a transaction per
// event (about 150 µs here, with its index and sqlite_sequence pages),
// about two fifths of the gateway's CPU at 10,000 sessions, and a lease's
// Take another 9 %; a record appended to a file costs a few microseconds,
// and the state is small (at most one pending item per session and kind,
// one lease row per session), so memory holds it.
type logState struct {
	log *slog.Logger

	mu    sync.Mutex
	j     journal
	seq   int64                       // the last id given
	lanes map[service.Lane]*list.List // *logItem, in id order
	byID  map[int64]*list.Element
	// newest is the pending update of each Key: Add supersedes it.
	newest map[string]*list.Element
	// flushCache commits the cache rows waiting in memory: their records
	// are in the log, and a compaction drops them.
	flushCache func() error
	// cacheRecs are cache records not yet written: the next write carries
	// them, so an event's cache row and its outbox item cost one write
	// system call, not two. A lone cache write goes out after
	// loneCacheDelay (flushTimer).
	cacheRecs []byte
	// flushTimer is armed while it is set (timerSet) and never stopped:
	// a write that carries the records leaves it to fire on nothing.
	// Stopping and re-arming a timer still in the runtime's heap makes
	// the runtime walk all of its timers (10,000 phones' here), which cost
	// more than a spare wake-up every loneCacheDelay.
	flushTimer *time.Timer
	timerSet   bool
	// cacheErrs counts the lone cache writes that failed (the records stay
	// for the next write).
	cacheErrs func()

	// leases has a row for every session ever taken: it outlives the
	// lease, since its token never goes down. known is what Restore starts.
	leases map[string]*leaseRow
	known  map[string]struct{}
}

// leaseRow is a session's lease: token is the last fencing token handed
// out, owner the holder until expiresNs ("" = nobody), running whether the
// session claims to run somewhere, last who ran it last ("" after a
// handover).
type leaseRow struct {
	token     int64
	owner     string
	expiresNs int64
	running   bool
	last      string
}

// holder is the owner while the lease has not expired, else "".
func (r leaseRow) holder(now int64) string {
	if r.expiresNs > now {
		return r.owner
	}
	return ""
}

// logItem is one pending item.
type logItem struct {
	id      int64
	lane    service.Lane
	addedNs int64
	// u is the item, decoded once (Claim hands out copies); nil when its
	// payload does not read, which raw then keeps until Claim dead-letters it.
	u         *service.Update
	raw       []byte
	key       string // u's Key; "" when unreadable
	consumer  string // "" while unclaimed
	claimedNs int64
	attempts  int
}

// cacheOp is a cache record read back from the log: a row, or keys
// invalidated (none: all).
type cacheOp struct {
	row     *cacheWrite
	uncache []string
}

func newLogState(dir string, log *slog.Logger) *logState {
	l := &logState{
		log:    log,
		j:      journal{path: filepath.Join(dir, JournalName), grow: minCompact},
		lanes:  make(map[service.Lane]*list.List, len(service.Lanes)),
		byID:   make(map[int64]*list.Element),
		newest: make(map[string]*list.Element),
		leases: make(map[string]*leaseRow),
		known:  make(map[string]struct{}),
	}
	for _, lane := range service.Lanes {
		l.lanes[lane] = list.New()
	}
	return l
}

// replay reads the log into memory and hands its cache records to cache,
// in order. A damaged tail is reported in skipped; the caller compacts
// before the next append, which starts a whole log.
func (l *logState) replay(cache func(cacheOp)) (skipped int64, err error) {
	return readJournal(l.j.path, func(typ byte, d *decoder) error {
		switch typ {
		case recSeq:
			l.seq = max(l.seq, int64(d.uvarint()))
		case recAdd:
			it := &logItem{id: int64(d.uvarint()), lane: service.Lane(d.string()), addedNs: d.varint(),
				attempts: int(d.uvarint()), consumer: d.string(), claimedNs: d.varint()}
			drop := int64(d.uvarint())
			it.raw = d.bytes()
			if d.err == nil {
				return l.insert(it, drop)
			}
		case recRemove:
			lane := service.Lane(d.string())
			for n := d.uvarint(); n > 0 && d.err == nil; n-- {
				l.remove(lane, int64(d.uvarint()))
			}
		case recClaim:
			consumer, at := d.string(), d.varint()
			for n := d.uvarint(); n > 0 && d.err == nil; n-- {
				if el, ok := l.byID[int64(d.uvarint())]; ok {
					el.Value.(*logItem).claim(consumer, at)
				}
			}
		case recCache:
			w := cacheWrite{key: d.string(), value: d.bytes(), atNs: d.varint(), expiresNs: d.varint(), newestWins: d.bool()}
			if d.err == nil {
				cache(cacheOp{row: &w})
			}
		case recUncache:
			keys := []string{}
			for n := d.uvarint(); n > 0 && d.err == nil; n-- {
				keys = append(keys, d.string())
			}
			cache(cacheOp{uncache: keys})
		case recLease:
			id := d.string()
			r := leaseRow{token: int64(d.uvarint()), owner: d.string(), expiresNs: d.varint(), running: d.bool(), last: d.string()}
			if d.err == nil {
				l.leases[id] = &r
			}
		case recKnown:
			l.known[d.string()] = struct{}{}
		case recForget:
			l.forget(d.string())
		default:
			return fmt.Errorf("unknown record type %d (written by a newer gateway?)", typ)
		}
		return nil
	})
}

// insert puts it in memory, after removing the item it supersedes; an
// item of the same id already here is replaced. An item read back (raw,
// no u) is decoded here.
func (l *logState) insert(it *logItem, drop int64) error {
	lst := l.lanes[it.lane]
	if lst == nil {
		return fmt.Errorf("item %d in unknown lane %q", it.id, it.lane)
	}
	if drop != 0 {
		if el, ok := l.byID[drop]; ok {
			l.remove(el.Value.(*logItem).lane, drop)
		}
	}
	l.seq = max(l.seq, it.id)
	if it.u == nil {
		if u, err := decodeItem(it.raw); err == nil {
			it.u, it.raw = &u, nil
		}
	}
	if it.u != nil && it.key == "" { // Add knows it already
		it.key = it.u.Key()
	}
	if el, ok := l.byID[it.id]; ok {
		l.remove(el.Value.(*logItem).lane, it.id)
	}
	// Ids only grow, so the end of the lane keeps it in id order.
	el := lst.PushBack(it)
	l.byID[it.id] = el
	if it.key != "" {
		l.newest[it.key] = el
	}
	return nil
}

// remove drops id if it waits in lane; another lane's id is not it.
func (l *logState) remove(lane service.Lane, id int64) bool {
	el, ok := l.byID[id]
	if !ok || el.Value.(*logItem).lane != lane {
		return false
	}
	it := el.Value.(*logItem)
	l.lanes[lane].Remove(el)
	delete(l.byID, id)
	if it.key != "" && l.newest[it.key] == el {
		delete(l.newest, it.key)
	}
	return true
}

func (it *logItem) claim(consumer string, atNs int64) {
	it.consumer, it.claimedNs = consumer, atNs
	it.attempts++
}

// decodeItem reads an item's payload; one that does not read or validate
// is unreadable, and Claim dead-letters it.
func decodeItem(payload []byte) (service.Update, error) {
	var u service.Update
	if err := json.Unmarshal(payload, &u); err != nil {
		return u, err
	}
	return u, u.Validate()
}

// write appends the queued cache records and the records fill encodes
// (nil: none) in one write, then compacts if the log has grown enough. It
// holds l.mu.
func (l *logState) write(fill func(e *encoder)) error {
	if fill == nil && len(l.cacheRecs) == 0 {
		return nil
	}
	if l.j.broken != nil {
		l.compact()
	}
	l.j.buf = append(l.j.buf[:0], l.cacheRecs...)
	if fill != nil {
		l.j.buf = frame(l.j.buf, fill)
	}
	if err := l.j.append(l.j.buf); err != nil {
		return err // the cache records wait for the next write
	}
	l.cacheRecs = l.cacheRecs[:0]
	if l.j.due() {
		l.compact()
	}
	return nil
}

// compact commits the waiting cache rows, then replaces the log with a
// snapshot of the pending items. A failure only postpones it: the log
// stays whole. It holds l.mu.
func (l *logState) compact() {
	if err := l.compactErr(); err != nil {
		l.j.postpone()
		l.log.Error("outbox log not compacted", "path", l.j.path, "size", l.j.size, "err", err)
	}
}

func (l *logState) compactErr() error {
	if l.flushCache != nil {
		if err := l.flushCache(); err != nil {
			return fmt.Errorf("commit cache rows first: %w", err)
		}
	}
	snap, err := l.snapshot()
	if err != nil {
		return err
	}
	return l.j.replace(snap)
}

// snapshot encodes the pending items, lane by lane in id order, after the
// last id given.
func (l *logState) snapshot() ([]byte, error) {
	buf := frame(nil, func(e *encoder) { e.byte(recSeq); e.uvarint(uint64(l.seq)) })
	for _, lane := range service.Lanes {
		for el := l.lanes[lane].Front(); el != nil; el = el.Next() {
			it := el.Value.(*logItem)
			payload, err := it.payload()
			if err != nil {
				return nil, fmt.Errorf("encode item %d: %w", it.id, err)
			}
			buf = frame(buf, func(e *encoder) { encodeAdd(e, it, 0, payload) })
		}
	}
	for id, r := range l.leases {
		buf = frame(buf, func(e *encoder) { encodeLease(e, id, *r) })
	}
	for id := range l.known {
		buf = frame(buf, func(e *encoder) { e.byte(recKnown); e.string(id) })
	}
	return buf, nil
}

// payload is the item as its record stores it: u as JSON, as Add wrote it.
func (it *logItem) payload() ([]byte, error) {
	if it.u == nil {
		return it.raw, nil
	}
	return jsonenc.Update(nil, *it.u)
}

func encodeAdd(e *encoder, it *logItem, drop int64, payload []byte) {
	e.byte(recAdd)
	e.uvarint(uint64(it.id))
	e.string(string(it.lane))
	e.varint(it.addedNs)
	e.uvarint(uint64(it.attempts))
	e.string(it.consumer)
	e.varint(it.claimedNs)
	e.uvarint(uint64(drop))
	e.bytes(payload)
}

func encodeIDs(e *encoder, ids []int64) {
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		e.uvarint(uint64(id))
	}
}

func encodeLease(e *encoder, id string, r leaseRow) {
	e.byte(recLease)
	e.string(id)
	e.uvarint(uint64(r.token))
	e.string(r.owner)
	e.varint(r.expiresNs)
	e.bool(r.running)
	e.string(r.last)
}

// setLease writes id's lease row as r, then keeps it; it holds l.mu.
func (l *logState) setLease(id string, r leaseRow) error {
	if err := l.write(func(e *encoder) { encodeLease(e, id, r) }); err != nil {
		return err
	}
	l.leases[id] = &r
	return nil
}

// forget drops id from the known sessions and the running set; its token
// stays. It holds l.mu.
func (l *logState) forget(id string) {
	delete(l.known, id)
	if r, ok := l.leases[id]; ok {
		r.running = false
	}
}

// loneCacheDelay is how long a cache record waits for an outbox record to
// ride with before it is written alone. The session manager writes an
// event's cache row just before its item, so the timer almost always
// fires on nothing; each firing wakes an idle process, and at 20 ms that
// was up to 50 wake-ups a second in a storm. It is the write-behind's
// delay: the row reaches its table no sooner anyway.
const loneCacheDelay = cacheFlushDelay

// writeCache queues a cache row's record for the next write.
func (l *logState) writeCache(w cacheWrite) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cacheRecs = frame(l.cacheRecs, func(e *encoder) {
		e.byte(recCache)
		e.string(w.key)
		e.bytes(w.value)
		e.varint(w.atNs)
		e.varint(w.expiresNs)
		e.bool(w.newestWins)
	})
	if !l.timerSet {
		if l.flushTimer == nil {
			l.flushTimer = time.AfterFunc(loneCacheDelay, l.flushCacheRecs)
		} else {
			l.flushTimer.Reset(loneCacheDelay)
		}
		l.timerSet = true
	}
}

// flushCacheRecs writes the cache records no other record took along.
func (l *logState) flushCacheRecs() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timerSet = false
	if len(l.cacheRecs) == 0 || l.j.f == nil {
		return
	}
	if err := l.write(nil); err != nil {
		l.log.Error("outbox log: cache rows not written; they wait for the next write", "path", l.j.path, "err", err)
		if l.cacheErrs != nil {
			l.cacheErrs()
		}
		l.flushTimer.Reset(time.Second) // not every loneCacheDelay: a broken disk would flood the log
		l.timerSet = true
	}
}

// writeUncache appends the invalidation of keys (none: all).
func (l *logState) writeUncache(keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.write(func(e *encoder) {
		e.byte(recUncache)
		e.uvarint(uint64(len(keys)))
		for _, k := range keys {
			e.string(k)
		}
	})
}

// release unclaims the items consumers other than consumer hold (in
// memory: a log read again releases them again) and returns how many.
func (l *logState) release(consumer string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, lst := range l.lanes {
		for el := lst.Front(); el != nil; el = el.Next() {
			if it := el.Value.(*logItem); it.consumer != "" && it.consumer != consumer {
				it.consumer = ""
				n++
			}
		}
	}
	return n
}

// depth counts the pending items.
func (l *logState) depth() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byID)
}

// stats fills the depth and oldest age of each lane.
func (l *logState) stats(now time.Time, st *service.OutboxStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lane := range service.Lanes {
		lst := l.lanes[lane]
		st.Depth[lane], st.OldestAge[lane] = lst.Len(), 0
		if front := lst.Front(); front != nil {
			st.OldestAge[lane] = max(0, now.Sub(time.Unix(0, front.Value.(*logItem).addedNs)))
		}
	}
}

// close fsyncs and closes the log.
func (l *logState) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.j.f == nil {
		return nil
	}
	if l.timerSet {
		l.flushTimer.Stop()
		l.timerSet = false
	}
	return errors.Join(l.write(nil), l.j.close())
}
