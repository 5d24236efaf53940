package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wagateway/internal/jsonenc"
	"wagateway/service"
)

// Defaults of OutboxConfig.
const (
	DefaultClaimTimeout  = 30 * time.Second
	DefaultDeadLetterCap = 10_000
	DefaultConsumer      = "gateway"
)

// OutboxConfig configures an Outbox; zero fields take the defaults.
type OutboxConfig struct {
	// Consumer names this outbox's claims (default "gateway").
	Consumer string
	// ClaimTimeout is how long an item may stay claimed by another consumer
	// before this one takes it over (default 30s). Claims left by a process
	// that died are released at once by NewOutbox: the directory lock
	// proves that process is gone.
	ClaimTimeout time.Duration
	// DeadLetterCap is how many dead letters are kept, newest (default 10 000).
	DeadLetterCap int
}

// Outbox is the durable service.Outbox of the embedded store for one
// consumer. The pending items are the DB's outbox log (logState: memory,
// each change appended to the file outbox.log before it counts); refused
// items move to the table deadletter with the reason.
type Outbox struct {
	db  *DB
	log *logState
	cfg OutboxConfig
	lg  *slog.Logger

	superseded service.SupersededCounts // updates Add removed or refused, since start
}

// NewOutbox returns the Outbox of db for cfg.Consumer and releases the
// claims other consumers hold: they belonged to a process that died (or
// db would not have opened).
func NewOutbox(ctx context.Context, db *DB, cfg OutboxConfig) (*Outbox, error) {
	if cfg.Consumer == "" {
		cfg.Consumer = DefaultConsumer
	}
	if cfg.ClaimTimeout <= 0 {
		cfg.ClaimTimeout = DefaultClaimTimeout
	}
	if cfg.DeadLetterCap <= 0 {
		cfg.DeadLetterCap = DefaultDeadLetterCap
	}
	o := &Outbox{db: db, log: db.state, cfg: cfg, lg: db.log.With("consumer", cfg.Consumer)}
	released := o.log.release(cfg.Consumer)
	o.lg.InfoContext(ctx, "sqlite outbox open", "path", o.log.j.path, "waiting", o.log.depth(), "released_claims", released)
	return o, nil
}

var _ service.Outbox = (*Outbox)(nil)

// payloadBufs keeps Add's JSON buffers: a QR item's payload is 2 KB, and
// only its copy in the log record outlives the call.
var payloadBufs = sync.Pool{New: func() any { return new([]byte) }}

// Durable is true: Add returns after its record reached the log file.
func (o *Outbox) Durable() bool { return true }

func (o *Outbox) Add(ctx context.Context, it service.Update) (service.Update, error) {
	if err := it.Validate(); err != nil {
		return service.Update{}, err
	}
	it.ID, it.Attempts = "", 0
	buf := payloadBufs.Get().(*[]byte)
	defer payloadBufs.Put(buf) // the record copied the payload
	payload, err := jsonenc.Update((*buf)[:0], it)
	*buf = payload
	if err != nil {
		return service.Update{}, fmt.Errorf("sqlite outbox: encode %s: %w", it, err)
	}
	stored := it // the payload's fields: no ID yet, no Lease
	stored.Lease = nil
	item := &logItem{lane: it.Lane, addedNs: o.db.clock.Now().UnixNano(), u: &stored, key: it.Key()}
	l := o.log
	l.mu.Lock()
	defer l.mu.Unlock()
	// Each update removes the pending one of its Key that it is Newer than
	// (a later event time; on a tie the later id, which it always has); one
	// older than the pending one is not stored (its ID stays empty).
	var drop *logItem
	if el, ok := l.newest[item.key]; ok {
		drop = el.Value.(*logItem)
		if it.At.Before(drop.u.At) {
			o.superseded.Superseded(it.Kind)
			return it, nil
		}
	}
	item.id = l.seq + 1
	var dropID int64
	if drop != nil {
		dropID = drop.id
	}
	if err := l.write(func(e *encoder) { encodeAdd(e, item, dropID, payload) }); err != nil {
		return service.Update{}, fmt.Errorf("sqlite outbox: add %s: %w", it, err)
	}
	if drop != nil {
		if drop.consumer != "" {
			// Claimed: its request may still reach Laravel.
			o.superseded.InFlight(strconv.FormatInt(drop.id, 10), drop.lane, it.Kind)
		} else {
			o.superseded.Superseded(it.Kind)
		}
	}
	if err := l.insert(item, dropID); err != nil {
		return service.Update{}, err // not reached: Validate checked the lane
	}
	it.ID = strconv.FormatInt(item.id, 10)
	return it, nil
}

// Claim takes this consumer's unacknowledged items, then unclaimed ones,
// then items another consumer has held longer than the claim timeout,
// oldest first in each; each claim renews the claim time and counts an
// attempt.
func (o *Outbox) Claim(ctx context.Context, lane service.Lane, max int) ([]service.Update, error) {
	if !lane.Valid() {
		return nil, service.Errorf(service.EINVALID, "unknown lane %q", lane)
	}
	if max <= 0 {
		return nil, nil
	}
	o.superseded.Claimed(lane)
	now := o.db.clock.Now().UnixNano()
	stale := now - o.cfg.ClaimTimeout.Nanoseconds()
	l := o.log
	l.mu.Lock()
	var own, free, taken []*logItem
	for el := l.lanes[lane].Front(); el != nil && len(own) < max; el = el.Next() {
		switch it := el.Value.(*logItem); {
		case it.consumer == o.cfg.Consumer:
			own = append(own, it)
		case it.consumer == "":
			if len(free) < max {
				free = append(free, it)
			}
		case it.claimedNs <= stale:
			if len(taken) < max {
				taken = append(taken, it)
			}
		}
	}
	picked := slices.Concat(own, free, taken)
	picked = picked[:min(len(picked), max)]
	if len(picked) == 0 {
		l.mu.Unlock()
		return nil, nil
	}
	ids := make([]int64, len(picked))
	for i, it := range picked {
		ids[i] = it.id
	}
	err := l.write(func(e *encoder) {
		e.byte(recClaim)
		e.string(o.cfg.Consumer)
		e.varint(now)
		encodeIDs(e, ids)
	})
	if err != nil {
		l.mu.Unlock()
		return nil, fmt.Errorf("sqlite outbox: claim %s: %w", lane, err)
	}
	items := make([]service.Update, 0, len(picked))
	var unreadable []string
	for _, it := range picked {
		it.claim(o.cfg.Consumer, now)
		id := strconv.FormatInt(it.id, 10)
		if it.u == nil {
			unreadable = append(unreadable, id)
			continue
		}
		u := *it.u
		u.ID, u.Lane, u.Attempts = id, lane, it.attempts
		items = append(items, u)
	}
	l.mu.Unlock()
	if len(unreadable) > 0 {
		o.deadLetterUnreadable(ctx, lane, unreadable)
	}
	slices.SortFunc(items, func(a, b service.Update) int { return service.CompareIDs(a.ID, b.ID) })
	return items, nil
}

// deadLetterUnreadable moves items that do not read out of the way, so
// they cannot block a lane.
func (o *Outbox) deadLetterUnreadable(ctx context.Context, lane service.Lane, ids []string) {
	o.lg.ErrorContext(ctx, "unreadable outbox items dead-lettered", "lane", lane, "ids", ids)
	dead := make([]service.DeadLetter, len(ids))
	for i, id := range ids {
		dead[i] = service.DeadLetter{Item: service.Update{ID: id, Lane: lane}, Reason: "unreadable outbox entry"}
	}
	if err := o.DeadLetter(ctx, lane, dead); err != nil {
		o.lg.ErrorContext(ctx, "dead-lettering unreadable items failed", "lane", lane, "err", err)
	}
}

func (o *Outbox) Ack(ctx context.Context, lane service.Lane, ids ...string) error {
	if !lane.Valid() {
		return service.Errorf(service.EINVALID, "unknown lane %q", lane)
	}
	if err := o.removeItems(lane, ids); err != nil {
		return fmt.Errorf("sqlite outbox: ack %d items of %s: %w", len(ids), lane, err)
	}
	o.superseded.Settled(lane, ids...)
	return nil
}

// removeItems drops the items of ids that wait in lane, after writing
// that they go; ids naming nothing pending are ignored.
func (o *Outbox) removeItems(lane service.Lane, ids []string) error {
	l := o.log
	l.mu.Lock()
	defer l.mu.Unlock()
	var pending []int64
	for _, s := range ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		if el, ok := l.byID[id]; ok && el.Value.(*logItem).lane == lane {
			pending = append(pending, id)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	err := l.write(func(e *encoder) {
		e.byte(recRemove)
		e.string(string(lane))
		encodeIDs(e, pending)
	})
	if err != nil {
		return err
	}
	for _, id := range pending {
		l.remove(lane, id)
	}
	return nil
}

func (o *Outbox) DeadLetter(ctx context.Context, lane service.Lane, dead []service.DeadLetter) error {
	if !lane.Valid() {
		return service.Errorf(service.EINVALID, "unknown lane %q", lane)
	}
	if len(dead) == 0 {
		return nil
	}
	now := o.db.clock.Now()
	for i := range dead {
		if dead[i].At.IsZero() {
			dead[i].At = now
		}
	}
	ids := make([]string, len(dead))
	for i, d := range dead {
		ids[i] = d.Item.ID
	}
	err := o.db.inTx(ctx, func(tx *sql.Tx) error {
		for _, d := range dead {
			d.ID = "" // the row's id is the dead letter's id
			b, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("encode dead letter %s: %w", d.Item, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO deadletter (session_id, dead_ns, dead) VALUES (?, ?, ?)`,
				d.Item.SessionID, d.At.UnixNano(), b); err != nil {
				return err
			}
		}
		// The cap holds between two PruneDeadLetters too.
		if _, err := tx.ExecContext(ctx, `DELETE FROM deadletter WHERE id <= (SELECT max(id) FROM deadletter) - ?`, o.cfg.DeadLetterCap); err != nil {
			return err
		}
		return nil
	})
	if err == nil {
		// After the dead letters committed: a crash between the two
		// delivers an item again, never loses it.
		err = o.removeItems(lane, ids)
	}
	if err != nil {
		return fmt.Errorf("sqlite outbox: dead-letter %d items of %s: %w", len(dead), lane, err)
	}
	o.superseded.Settled(lane, ids...)
	return nil
}

func (o *Outbox) DeadLetters(ctx context.Context, q service.DeadLetterQuery) ([]service.DeadLetter, error) {
	where, args := []string{"1"}, []any{}
	if len(q.IDs) > 0 {
		ids := rowIDs(q.IDs)
		if len(ids) == 0 {
			return nil, nil
		}
		where = append(where, `id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`)
		args = append(args, ids...)
	}
	if q.SessionID != "" {
		where, args = append(where, `session_id = ?`), append(args, q.SessionID)
	}
	if q.Before != "" {
		before, err := strconv.ParseInt(q.Before, 10, 64)
		if err != nil {
			return nil, nil // no dead letter of ours comes before an id we never gave
		}
		where, args = append(where, `id < ?`), append(args, before)
	}
	query := `SELECT id, dead FROM deadletter WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id DESC`
	if q.Limit > 0 {
		query, args = query+` LIMIT ?`, append(args, q.Limit)
	}
	rows, err := o.db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite outbox: list dead letters: %w", err)
	}
	defer rows.Close()
	var out []service.DeadLetter
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return out, fmt.Errorf("sqlite outbox: list dead letters: %w", err)
		}
		var d service.DeadLetter
		if json.Unmarshal(b, &d) == nil {
			d.ID = strconv.FormatInt(id, 10)
			out = append(out, d)
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("sqlite outbox: list dead letters: %w", err)
	}
	return out, nil
}

func (o *Outbox) DeleteDeadLetters(ctx context.Context, ids ...string) (int, error) {
	keys := rowIDs(ids)
	deleted := 0
	err := o.db.inTx(ctx, func(tx *sql.Tx) error {
		const chunk = 500
		for len(keys) > 0 {
			n := min(len(keys), chunk)
			res, err := tx.ExecContext(ctx, `DELETE FROM deadletter WHERE id IN (?`+strings.Repeat(",?", n-1)+`)`, keys[:n]...)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			deleted += int(k)
			keys = keys[n:]
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite outbox: delete dead letters: %w", err)
	}
	return deleted, nil
}

// PruneDeadLetters drops all but the newest keep, then those dead before
// olderThan (by their time, exactly: the table has it as a column).
func (o *Outbox) PruneDeadLetters(ctx context.Context, keep int, olderThan time.Time) (evicted, expired int, err error) {
	err = o.db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM deadletter WHERE id NOT IN (SELECT id FROM deadletter ORDER BY id DESC LIMIT ?)`, max(keep, 0))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		evicted = int(n)
		if res, err = tx.ExecContext(ctx, `DELETE FROM deadletter WHERE dead_ns < ?`, olderThan.UnixNano()); err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		expired = int(n)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite outbox: prune dead letters: %w", err)
	}
	return evicted, expired, nil
}

func (o *Outbox) Stats(ctx context.Context) (service.OutboxStats, error) {
	st := service.OutboxStats{
		Depth:     make(map[service.Lane]int, len(service.Lanes)),
		OldestAge: make(map[service.Lane]time.Duration, len(service.Lanes)),
	}
	o.log.stats(o.db.clock.Now(), &st)
	if err := o.db.db.QueryRowContext(ctx, `SELECT count(*) FROM deadletter`).Scan(&st.DeadLettered); err != nil {
		return st, fmt.Errorf("sqlite outbox: stats: %w", err)
	}
	st.Superseded = o.superseded.Counts()
	return st, nil
}

// rowIDs keeps the ids that can be rows (of dead letters); others name
// nothing stored.
func rowIDs(ids []string) []any {
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
