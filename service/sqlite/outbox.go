package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wagateway/service"
)

// Defaults of OutboxConfig.
const (
	DefaultClaimTimeout  = 30 * time.Second
	DefaultDeadLetterCap = 10_000
	DefaultConsumer      = "gateway"

	// maxGroup bounds the items one group commit writes, so one transaction
	// stays short while a burst queues up behind it.
	maxGroup = 1_000
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

// Outbox is the durable service.Outbox in SQLite: one row per item in the
// table outbox, claimed by setting its consumer and claim time, deleted on
// Ack; refused items move to the table deadletter with the reason.
//
// Add commits before it returns. Concurrent Adds share one transaction
// (group commit): while one caller commits, the others queue up and the
// next caller to commit writes the whole queue at once.
type Outbox struct {
	db  *DB
	cfg OutboxConfig
	log *slog.Logger

	queueMu sync.Mutex
	queue   []*pendingAdd
	commit  chan struct{} // held by the caller writing a group; a channel to select on
	// Prepared once: parsing a statement per call cost a tenth of an Add.
	insert, supersede *sql.Stmt
	claims            [3]claimPass

	// The newest pending update of each Key, kept in memory: this process
	// owns the file (the lock), so no one else changes the table, and Add
	// finds what it supersedes without an index to maintain on disk.
	keysMu     sync.Mutex
	newest     map[string]pendingKey    // Key → its pending update
	keyOf      map[int64]string         // row id → Key
	superseded service.SupersededCounts // updates Add removed or refused, since start
}

// pendingKey is where the newest pending update of a Key is.
type pendingKey struct {
	id   int64
	atNs int64
}

// pendingAdd is one Add waiting for its group's commit.
type pendingAdd struct {
	item    service.Update
	payload []byte
	added   int64
	done    chan error // buffered 1; item.ID is set before nil is sent
}

// NewOutbox returns the Outbox of db and releases claims the previous
// process left (it died, or db would not have opened).
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
	o := &Outbox{db: db, cfg: cfg, log: db.log.With("consumer", cfg.Consumer),
		commit: make(chan struct{}, 1), newest: make(map[string]pendingKey), keyOf: make(map[int64]string)}
	res, err := db.db.ExecContext(ctx, `UPDATE outbox SET consumer = NULL WHERE consumer IS NOT NULL AND consumer != ?`, cfg.Consumer)
	if err != nil {
		return nil, fmt.Errorf("sqlite outbox: release old claims: %w", err)
	}
	waiting, err := o.loadKeys(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.prepareAll(ctx, "outbox",
		toPrepare{&o.insert, `INSERT INTO outbox (lane, item, added_ns) VALUES (?, ?, ?)`},
		toPrepare{&o.supersede, `DELETE FROM outbox WHERE id = ? RETURNING lane, consumer`},
		toPrepare{&o.claims[0].stmt, fmt.Sprintf(claimSQL, `consumer = ?1`)},
		toPrepare{&o.claims[1].stmt, fmt.Sprintf(claimSQL, `consumer IS NULL`)},
		toPrepare{&o.claims[2].stmt, fmt.Sprintf(claimSQL, `consumer != ?1 AND claimed_ns <= ?5`)},
	); err != nil {
		return nil, err
	}
	o.claims[2].stale = true
	released, _ := res.RowsAffected()
	o.log.InfoContext(ctx, "sqlite outbox open", "path", db.path, "waiting", waiting, "released_claims", released)
	return o, nil
}

var _ service.Outbox = (*Outbox)(nil)

// loadKeys reads the Key of every waiting row; it returns how many wait.
func (o *Outbox) loadKeys(ctx context.Context) (int, error) {
	rows, err := o.db.db.QueryContext(ctx, `SELECT id, item FROM outbox ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("sqlite outbox: read keys: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return n, fmt.Errorf("sqlite outbox: read keys: %w", err)
		}
		n++
		var it service.Update
		if json.Unmarshal(b, &it) != nil {
			continue // Claim dead-letters it
		}
		// Rows of one key from before superseding existed: the last wins.
		o.newest[it.Key()], o.keyOf[id] = pendingKey{id: id, atNs: it.At.UnixNano()}, it.Key()
	}
	return n, rows.Err()
}

// forget drops ids from the key index (acknowledged or dead-lettered).
func (o *Outbox) forget(ids []any) {
	o.keysMu.Lock()
	defer o.keysMu.Unlock()
	for _, v := range ids {
		id := v.(int64)
		if k, ok := o.keyOf[id]; ok {
			if o.newest[k].id == id {
				delete(o.newest, k)
			}
			delete(o.keyOf, id)
		}
	}
}

// Durable is true: Add returns after its commit reached the database file.
func (o *Outbox) Durable() bool { return true }

func (o *Outbox) Add(ctx context.Context, it service.Update) (service.Update, error) {
	if err := it.Validate(); err != nil {
		return service.Update{}, err
	}
	it.ID, it.Attempts = "", 0
	payload, err := json.Marshal(it)
	if err != nil {
		return service.Update{}, fmt.Errorf("sqlite outbox: encode %s: %w", it, err)
	}
	p := &pendingAdd{item: it, payload: payload, added: o.db.clock.Now().UnixNano(), done: make(chan error, 1)}
	o.queueMu.Lock()
	o.queue = append(o.queue, p)
	o.queueMu.Unlock()

	select {
	case err := <-p.done: // a caller committing before us took ours along
		return p.result(err)
	case o.commit <- struct{}{}:
	case <-ctx.Done():
		// The item may still be committed by another caller's group: at
		// worst it is delivered although Add failed, never lost silently.
		return service.Update{}, fmt.Errorf("sqlite outbox: add %s: %w", it, ctx.Err())
	}
	defer func() { <-o.commit }()
	select {
	case err := <-p.done: // committed while we waited for the turn
		return p.result(err)
	default:
	}
	// Holding commit: nobody else can take p from the queue now.
	o.queueMu.Lock()
	n := min(len(o.queue), maxGroup)
	group := slices.Clone(o.queue[:n])
	o.queue = slices.Delete(o.queue, 0, n)
	o.queueMu.Unlock()
	if !slices.Contains(group, p) {
		// Older queued items filled the group; ours goes in the next one.
		o.writeGroup(context.WithoutCancel(ctx), group)
		o.queueMu.Lock()
		o.queue = slices.DeleteFunc(o.queue, func(q *pendingAdd) bool { return q == p })
		o.queueMu.Unlock()
		group = []*pendingAdd{p}
	}
	o.writeGroup(context.WithoutCancel(ctx), group)
	return p.result(<-p.done)
}

func (p *pendingAdd) result(err error) (service.Update, error) {
	if err != nil {
		return service.Update{}, err
	}
	return p.item, nil
}

// writeGroup inserts group in one transaction and tells each caller. Each
// update removes the pending one of its Key that it is Newer than (a later
// event time; on a tie the later id, which it always has), and one older
// than the pending one is not stored (its ID stays empty). It ignores the
// callers' contexts: they share the transaction.
func (o *Outbox) writeGroup(ctx context.Context, group []*pendingAdd) {
	ids := make([]int64, len(group))
	// Decided against the index plus this group's own changes; applied to
	// the index only once the commit succeeded.
	o.keysMu.Lock()
	overlay := make(map[string]pendingKey, len(group))
	lookup := func(k string) (pendingKey, bool) {
		if v, ok := overlay[k]; ok {
			return v, v.id != 0
		}
		v, ok := o.newest[k]
		return v, ok
	}
	var dropped []int64
	var counted []service.Kind // superseded, not claimed
	var inFlight []service.Update
	err := o.db.inTx(ctx, func(tx *sql.Tx) error {
		counted, inFlight = counted[:0], inFlight[:0]
		stmt := tx.StmtContext(ctx, o.insert)
		for i, p := range group {
			k, atNs := p.item.Key(), p.item.At.UnixNano()
			if cur, ok := lookup(k); ok {
				if atNs < cur.atNs {
					counted = append(counted, p.item.Kind)
					ids[i] = 0 // a newer update of its key waits already
					continue
				}
				var lane string
				var consumer sql.NullString
				err := tx.StmtContext(ctx, o.supersede).QueryRowContext(ctx, cur.id).Scan(&lane, &consumer)
				switch {
				case err == nil && consumer.Valid:
					// Claimed: its request may still reach Laravel.
					inFlight = append(inFlight, service.Update{ID: strconv.FormatInt(cur.id, 10), Lane: service.Lane(lane), Kind: p.item.Kind})
				case err == nil || errors.Is(err, sql.ErrNoRows):
					counted = append(counted, p.item.Kind)
				default:
					return err
				}
				dropped = append(dropped, cur.id)
			}
			res, err := stmt.ExecContext(ctx, string(p.item.Lane), p.payload, p.added)
			if err != nil {
				return err
			}
			if ids[i], err = res.LastInsertId(); err != nil {
				return err
			}
			overlay[k] = pendingKey{id: ids[i], atNs: atNs}
		}
		// The cache rows of these events (written just before) share the commit.
		return o.db.cache.writeIn(ctx, tx, o.db.clock.Now())
	})
	if err == nil {
		for _, id := range dropped {
			delete(o.keyOf, id)
		}
		for k, v := range overlay {
			o.newest[k], o.keyOf[v.id] = v, k
		}
		for _, kind := range counted {
			o.superseded.Superseded(kind)
		}
		for _, it := range inFlight {
			o.superseded.InFlight(it.ID, it.Lane, it.Kind)
		}
	}
	o.keysMu.Unlock()
	for i, p := range group {
		switch {
		case err != nil:
			p.done <- fmt.Errorf("sqlite outbox: add %s: %w", p.item, err)
			continue
		case ids[i] != 0:
			p.item.ID = strconv.FormatInt(ids[i], 10)
		}
		p.done <- nil
	}
}

// claimSQL claims up to ?4 items of lane ?3 that match a condition, for
// consumer ?1 at time ?2 (?5: the oldest claim time another consumer may
// still hold); Claim runs it for its three conditions, in order.
const claimSQL = `UPDATE outbox SET consumer = ?1, claimed_ns = ?2, attempts = attempts + 1
	WHERE id IN (SELECT id FROM outbox WHERE lane = ?3 AND %s ORDER BY id LIMIT ?4)
	RETURNING id, item, attempts`

// claimPass is one of Claim's passes: its prepared claimSQL, and whether
// its condition takes ?5 (a statement must get exactly its parameters).
type claimPass struct {
	stmt  *sql.Stmt
	stale bool
}

// Claim takes, in one transaction, this consumer's unacknowledged items,
// then unclaimed ones, then items another consumer has held longer than
// the claim timeout; each claim renews the claim time and counts an attempt.
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
	var items []service.Update
	var unreadable []string
	err := o.db.inTx(ctx, func(tx *sql.Tx) error {
		items, unreadable = items[:0], unreadable[:0]
		for _, pass := range o.claims {
			if len(items)+len(unreadable) >= max {
				break
			}
			args := []any{o.cfg.Consumer, now, string(lane), max - len(items) - len(unreadable)}
			if pass.stale {
				args = append(args, stale)
			}
			rows, err := tx.StmtContext(ctx, pass.stmt).QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var payload []byte
				var attempts int
				if err := rows.Scan(&id, &payload, &attempts); err != nil {
					rows.Close()
					return err
				}
				var it service.Update
				if err := json.Unmarshal(payload, &it); err != nil || it.Validate() != nil {
					unreadable = append(unreadable, strconv.FormatInt(id, 10))
					continue
				}
				it.ID, it.Lane, it.Attempts = strconv.FormatInt(id, 10), lane, attempts
				items = append(items, it)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite outbox: claim %s: %w", lane, err)
	}
	if len(unreadable) > 0 {
		o.deadLetterUnreadable(ctx, lane, unreadable)
	}
	slices.SortFunc(items, func(a, b service.Update) int { return service.CompareIDs(a.ID, b.ID) })
	return items, nil
}

// deadLetterUnreadable moves rows that are not items out of the way, so
// they cannot block a lane.
func (o *Outbox) deadLetterUnreadable(ctx context.Context, lane service.Lane, ids []string) {
	o.log.ErrorContext(ctx, "unreadable outbox rows dead-lettered", "lane", lane, "ids", ids)
	dead := make([]service.DeadLetter, len(ids))
	for i, id := range ids {
		dead[i] = service.DeadLetter{Item: service.Update{ID: id, Lane: lane}, Reason: "unreadable outbox entry"}
	}
	if err := o.DeadLetter(ctx, lane, dead); err != nil {
		o.log.ErrorContext(ctx, "dead-lettering unreadable rows failed", "lane", lane, "err", err)
	}
}

func (o *Outbox) Ack(ctx context.Context, lane service.Lane, ids ...string) error {
	if !lane.Valid() {
		return service.Errorf(service.EINVALID, "unknown lane %q", lane)
	}
	keys := rowIDs(ids)
	if len(keys) == 0 {
		return nil
	}
	err := o.db.inTx(ctx, func(tx *sql.Tx) error {
		return deleteItems(ctx, tx, lane, keys)
	})
	if err != nil {
		return fmt.Errorf("sqlite outbox: ack %d items of %s: %w", len(keys), lane, err)
	}
	o.forget(keys)
	o.superseded.Settled(lane, ids...)
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
		return deleteItems(ctx, tx, lane, rowIDs(ids))
	})
	if err != nil {
		return fmt.Errorf("sqlite outbox: dead-letter %d items of %s: %w", len(dead), lane, err)
	}
	o.forget(rowIDs(ids))
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
	now := o.db.clock.Now()
	st := service.OutboxStats{
		Depth:     make(map[service.Lane]int, len(service.Lanes)),
		OldestAge: make(map[service.Lane]time.Duration, len(service.Lanes)),
	}
	for _, l := range service.Lanes {
		st.Depth[l], st.OldestAge[l] = 0, 0
	}
	rows, err := o.db.db.QueryContext(ctx, `SELECT lane, count(*), min(added_ns) FROM outbox GROUP BY lane`)
	if err != nil {
		return st, fmt.Errorf("sqlite outbox: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var lane string
		var n int
		var oldest int64
		if err := rows.Scan(&lane, &n, &oldest); err != nil {
			return st, fmt.Errorf("sqlite outbox: stats: %w", err)
		}
		l := service.Lane(lane)
		st.Depth[l] = n
		st.OldestAge[l] = max(0, now.Sub(time.Unix(0, oldest)))
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("sqlite outbox: stats: %w", err)
	}
	rows.Close()
	if err := o.db.db.QueryRowContext(ctx, `SELECT count(*) FROM deadletter`).Scan(&st.DeadLettered); err != nil {
		return st, fmt.Errorf("sqlite outbox: stats: %w", err)
	}
	st.Superseded = o.superseded.Counts()
	return st, nil
}

// rowIDs keeps the ids that can be rows of the outbox; others name nothing
// stored, and acknowledging nothing is harmless.
func rowIDs(ids []string) []any {
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// deleteItems removes ids of lane, in chunks under SQLite's limit of
// parameters per statement.
func deleteItems(ctx context.Context, tx *sql.Tx, lane service.Lane, ids []any) error {
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := append([]any{string(lane)}, ids[:n]...)
		q := `DELETE FROM outbox WHERE lane = ? AND id IN (?` + strings.Repeat(",?", n-1) + `)`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
