package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/jsonenc"
	"wagateway/service"
)

// Defaults of OutboxConfig.
const (
	DefaultClaimTimeout  = 30 * time.Second
	DefaultBufferSize    = 10_000
	DefaultDeadLetterCap = 10_000
	DefaultProbeInterval = time.Second

	group        = "flushers"
	probeTimeout = 500 * time.Millisecond
)

// OutboxConfig configures an Outbox; zero fields take the defaults.
type OutboxConfig struct {
	// Consumer names this gateway instance in the consumer groups; it must
	// differ between instances and stay the same across restarts of one
	// instance to pick its own pending items up at once. Default host-pid.
	Consumer string
	// ClaimTimeout is how long an item may stay claimed by another consumer
	// before this one takes it over (default 30s).
	ClaimTimeout time.Duration
	Clock        service.Clock
	Logger       *slog.Logger
	// BufferSize bounds the items kept in memory while Redis is unreachable
	// (default 10 000); beyond it Add fails with EUNAVAILABLE.
	BufferSize int
	// Prefix starts every key (default DefaultPrefix).
	Prefix string
	// DeadLetterCap is the approximate length the dead-letter stream is
	// trimmed to (default 10 000).
	DeadLetterCap int
	// ProbeInterval is how often, during an outage, a call tries Redis again
	// (default 1s); between probes calls go to the buffer without waiting
	// on the network.
	ProbeInterval time.Duration
	// ReplicaAcks is how many replicas must confirm an Add (ReplicaAcks of
	// the REDIS_URL; 0 = none).
	ReplicaAcks int
}

// Outbox is the durable service.Outbox: one Redis stream per lane
// ({prefix}outbox:high, {prefix}outbox:normal) read by the consumer group
// "flushers", and a capped dead-letter stream ({prefix}deadletter).
// Delivered items are deleted from their stream, so a stream's length is
// the number of items still waiting.
//
// When Redis is unreachable, Add keeps items in a bounded memory buffer
// (ids "mem-N") that Claim hands out too, so delivery to Laravel goes on;
// the first Claim of a lane after Redis answers again writes that lane's
// buffered items to its stream, in order. This relies on what the Flusher
// does anyway: one Claim-deliver-Ack loop per lane and consumer.
type Outbox struct {
	rdb     goredis.UniversalClient
	cfg     OutboxConfig
	log     *slog.Logger
	streams map[service.Lane]string
	deadKey string
	// newestKey is a hash: update key (kind:session) → "lane id micros" of
	// the one pending update of that key, so Add can drop the one it
	// supersedes without reading the streams.
	newestKey  string
	superseded service.SupersededCounts // updates Add removed or refused

	buf       *buffer
	acks      *replicaAcks
	unconf    *unconfirmed // accepted, not yet on a replica (ReplicaAcks > 0)
	down      atomic.Bool
	probeMu   sync.Mutex // one probe at a time; others use the buffer meanwhile
	lastProbe atomic.Int64
}

// NewOutbox returns an Outbox on rdb and creates its consumer groups. A
// Redis that does not answer yet is not an error: the outbox starts in
// outage mode and catches up when Redis answers.
func NewOutbox(rdb goredis.UniversalClient, cfg OutboxConfig) (*Outbox, error) {
	if cfg.Consumer == "" {
		host, _ := os.Hostname()
		cfg.Consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if cfg.ClaimTimeout <= 0 {
		cfg.ClaimTimeout = DefaultClaimTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = service.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler) // loggers are injected; none means quiet
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.DeadLetterCap <= 0 {
		cfg.DeadLetterCap = DefaultDeadLetterCap
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = DefaultProbeInterval
	}
	cfg.Prefix = keyPrefix(cfg.Prefix)
	o := &Outbox{
		rdb:     rdb,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "redis_outbox", "consumer", cfg.Consumer),
		streams: make(map[service.Lane]string),
		deadKey: coreKey(cfg.Prefix, "deadletter"),

		newestKey: coreKey(cfg.Prefix, "outbox:newest"),
		acks:      &replicaAcks{n: cfg.ReplicaAcks},
		unconf:    newUnconfirmed(),
		buf:       newBuffer(cfg.BufferSize, cfg.DeadLetterCap),
	}
	for _, l := range service.Lanes {
		o.streams[l] = coreKey(cfg.Prefix, "outbox:"+string(l))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.ensureGroups(ctx); err != nil {
		if !isConnError(err) {
			return nil, err
		}
		o.markDown(err)
	}
	return o, nil
}

var _ service.Outbox = (*Outbox)(nil)

// Durable is true: an item Add accepted into Redis survives this process.
// Items buffered during an outage do not; Stats.Buffered counts them.
func (o *Outbox) Durable() bool { return true }

// Healthy reports whether the last call reached Redis.
func (o *Outbox) Healthy() bool { return !o.down.Load() }

// Buffered returns how many items wait in memory for Redis to come back.
func (o *Outbox) Buffered() int { return o.buf.len() }

// Ping checks Redis now; when it answers after an outage the outbox leaves
// outage mode (buffered items move to Redis at their lane's next Claim).
func (o *Outbox) Ping(ctx context.Context) error {
	err := o.rdb.Ping(ctx).Err()
	if err == nil && o.down.Load() {
		err = o.recover(ctx)
	}
	if err != nil {
		if isConnError(err) {
			o.markDown(err)
		}
		return fmt.Errorf("redis outbox: ping: %w", err)
	}
	return nil
}

func (o *Outbox) Add(ctx context.Context, it service.Update) (service.Update, error) {
	if err := it.Validate(); err != nil {
		return service.Update{}, err
	}
	lease := it.Lease
	if lease != nil && (lease.SessionID != it.SessionID || !lease.Valid()) {
		return service.Update{}, service.Errorf(service.EINVALID, "fenced add of %s needs its session's lease", it)
	}
	it.ID, it.Attempts, it.Lease = "", 0, nil
	if o.usable(ctx) {
		payload, err := jsonenc.Update(nil, it)
		if err != nil {
			return service.Update{}, fmt.Errorf("redis outbox: encode %s: %w", it, err)
		}
		keys := []string{o.streams[service.LaneHigh], o.streams[service.LaneNormal], o.newestKey}
		args := []any{laneIndex(it.Lane), it.Key(), payload, it.At.UnixMicro(), group}
		if lease != nil {
			keys, args = o.fence(keys, args, *lease)
		}
		cmd, confirmed := acked(ctx, o.rdb, o.acks, func(p goredis.Pipeliner) *goredis.Cmd {
			// Eval, not Run: a pipeline cannot fall back from EVALSHA on NOSCRIPT.
			return addScript.Eval(ctx, p, keys, args...)
		})
		res, err := cmd.Slice()
		if err != nil && lease != nil && strings.HasPrefix(err.Error(), "FENCED") {
			return service.Update{}, fmt.Errorf("redis outbox: add %s: %w", it,
				service.Errorf(service.ECONFLICT, "lease of %s (token %d) is no longer held by %s", it.SessionID, lease.Token, lease.Owner))
		}
		if err == nil && len(res) != 4 {
			return service.Update{}, fmt.Errorf("redis outbox: add %s: unexpected reply %v", it, res)
		}
		if err == nil {
			it.ID, _ = res[0].(string)
			if it.ID != "" && o.acks.n > 0 {
				// Only the master may have it: a failover would lose it.
				if confirmed {
					o.unconf.confirmedAdd(it)
				} else {
					o.unconf.keep(it, o.cfg.Clock.Now())
				}
			}
			if n, _ := res[1].(int64); n > 0 {
				// A removed update a consumer had claimed may still reach
				// Laravel: it counts only if its delivery fails.
				if claimed, _ := res[2].(string); claimed != "" {
					lane, _ := res[3].(int64)
					o.superseded.InFlight(claimed, laneOfIndex(lane), it.Kind)
				} else {
					o.superseded.Superseded(it.Kind)
				}
			}
			return it, nil
		}
		// A timeout after the write reached Redis leaves a copy there too:
		// at worst that item is delivered twice, never lost.
		if !isConnError(err) || ctx.Err() != nil {
			return service.Update{}, fmt.Errorf("redis outbox: add %s: %w", it, err)
		}
		o.markDown(err)
	}
	return o.buf.add(it, o.cfg.Clock.Now())
}

func (o *Outbox) Claim(ctx context.Context, lane service.Lane, max int) ([]service.Update, error) {
	if !lane.Valid() {
		return nil, service.Errorf(service.EINVALID, "unknown lane %q", lane)
	}
	if max <= 0 {
		return nil, nil
	}
	o.superseded.Claimed(lane)
	if o.usable(ctx) {
		err := o.moveBuffered(ctx, lane)
		if err == nil && o.acks.n > 0 {
			err = o.confirm(ctx, lane)
		}
		if err == nil {
			var items []service.Update
			items, err = o.claimStream(ctx, lane, max)
			if err == nil {
				return items, nil
			}
		}
		if !isConnError(err) || ctx.Err() != nil {
			return nil, err
		}
		o.markDown(err)
	}
	return o.buf.claim(lane, max), nil
}

func (o *Outbox) Ack(ctx context.Context, lane service.Lane, ids ...string) error {
	if !lane.Valid() {
		return service.Errorf(service.EINVALID, "unknown lane %q", lane)
	}
	mem, stored := splitIDs(ids)
	o.buf.remove(lane, mem)
	if len(stored) == 0 {
		return nil
	}
	o.unconf.settled(lane, stored) // delivered, whatever Redis loses
	if !o.usable(ctx) {
		return unavailable("ack %d items of %s", len(stored), lane)
	}
	stream := o.streams[lane]
	_, err := o.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		o.forgetNewest(ctx, p, lane, stored)
		p.XAck(ctx, stream, group, stored...)
		p.XDel(ctx, stream, stored...)
		return nil
	})
	if err == nil {
		o.superseded.Settled(lane, stored...)
	}
	return o.storeErr(err, "ack %d items of %s", len(stored), lane)
}

func (o *Outbox) DeadLetter(ctx context.Context, lane service.Lane, dead []service.DeadLetter) error {
	if !lane.Valid() {
		return service.Errorf(service.EINVALID, "unknown lane %q", lane)
	}
	now := o.cfg.Clock.Now()
	var memDead, stored []service.DeadLetter
	var memIDs, storedIDs []string
	for _, d := range dead {
		if d.At.IsZero() {
			d.At = now
		}
		if isMemID(d.Item.ID) {
			memDead, memIDs = append(memDead, d), append(memIDs, d.Item.ID)
		} else {
			stored, storedIDs = append(stored, d), append(storedIDs, d.Item.ID)
		}
	}
	if len(memIDs) > 0 {
		// The item leaves the buffer either way; its dead letter waits in
		// memory only as long as Redis is away.
		o.buf.remove(lane, memIDs)
	}
	o.unconf.settled(lane, storedIDs)
	if len(stored) > 0 && !o.usable(ctx) {
		o.buf.keepDead(memDead...)
		return unavailable("dead-letter %d items of %s", len(stored), lane)
	}
	if o.down.Load() {
		o.buf.keepDead(memDead...)
		return nil
	}
	stored = append(stored, memDead...)
	if len(stored) == 0 {
		return nil
	}
	stream := o.streams[lane]
	_, err := o.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, d := range stored {
			o.xaddDead(ctx, p, d)
		}
		if len(storedIDs) > 0 {
			o.forgetNewest(ctx, p, lane, storedIDs)
			p.XAck(ctx, stream, group, storedIDs...)
			p.XDel(ctx, stream, storedIDs...)
		}
		return nil
	})
	if err != nil && len(memDead) > 0 && isConnError(err) {
		o.buf.keepDead(memDead...)
	}
	if err == nil {
		o.superseded.Settled(lane, storedIDs...)
	}
	return o.storeErr(err, "dead-letter %d items of %s", len(stored), lane)
}

// DeadLetters reads the dead-letter stream newest first (ids are its
// entry ids), after the dead letters held in memory during an outage, which
// have no id yet and only show on a first page.
func (o *Outbox) DeadLetters(ctx context.Context, q service.DeadLetterQuery) ([]service.DeadLetter, error) {
	var out []service.DeadLetter
	if len(q.IDs) == 0 && q.Before == "" {
		for _, d := range o.buf.deadLetters(0) {
			if !q.Full(len(out)) && q.Match(d) {
				out = append(out, d)
			}
		}
	}
	if q.Full(len(out)) {
		return out, nil
	}
	if !o.usable(ctx) {
		return out, unavailable("list dead letters")
	}
	if len(q.IDs) > 0 {
		return o.deadLettersByID(ctx, q, out)
	}
	const page = 500
	cursor := "+"
	if q.Before != "" {
		if !streamID(q.Before) {
			return nil, service.Errorf(service.EINVALID, "dead letter id %q is not a stream id", q.Before)
		}
		cursor = "(" + q.Before
	}
	for {
		msgs, err := o.rdb.XRevRangeN(ctx, o.deadKey, cursor, "-", page).Result()
		if err != nil {
			return out, o.storeErr(err, "list dead letters")
		}
		for _, m := range msgs {
			if d, ok := decodeDead(m); ok && q.Match(d) {
				out = append(out, d)
				if q.Full(len(out)) {
					return out, nil
				}
			}
		}
		if len(msgs) < page {
			return out, nil
		}
		cursor = "(" + msgs[len(msgs)-1].ID
	}
}

func (o *Outbox) deadLettersByID(ctx context.Context, q service.DeadLetterQuery, out []service.DeadLetter) ([]service.DeadLetter, error) {
	var cmds []*goredis.XMessageSliceCmd
	_, err := o.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, id := range q.IDs {
			if streamID(id) {
				cmds = append(cmds, p.XRange(ctx, o.deadKey, id, id))
			}
		}
		return nil
	})
	if err != nil {
		return out, o.storeErr(err, "read dead letters")
	}
	var found []service.DeadLetter
	for _, c := range cmds {
		for _, m := range c.Val() {
			if d, ok := decodeDead(m); ok && q.Match(d) {
				found = append(found, d)
			}
		}
	}
	slices.SortFunc(found, func(a, b service.DeadLetter) int { return service.CompareIDs(b.ID, a.ID) })
	for _, d := range found {
		if q.Full(len(out)) {
			break
		}
		out = append(out, d)
	}
	return out, nil
}

func (o *Outbox) DeleteDeadLetters(ctx context.Context, ids ...string) (int, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !streamID(id) })
	if len(ids) == 0 {
		return 0, nil
	}
	if !o.usable(ctx) {
		return 0, unavailable("delete dead letters")
	}
	n, err := o.rdb.XDel(ctx, o.deadKey, ids...).Result()
	return int(n), o.storeErr(err, "delete %d dead letters", len(ids))
}

// PruneDeadLetters trims the stream to keep entries, then deletes from the
// oldest end while entries are older than olderThan.
func (o *Outbox) PruneDeadLetters(ctx context.Context, keep int, olderThan time.Time) (evicted, expired int, err error) {
	if !o.usable(ctx) {
		return 0, 0, unavailable("prune dead letters")
	}
	n, err := o.rdb.XTrimMaxLen(ctx, o.deadKey, int64(max(keep, 0))).Result()
	if err != nil {
		return 0, 0, o.storeErr(err, "trim dead letters")
	}
	evicted = int(n)
	const page = 500
	for cursor := "-"; ; {
		msgs, err := o.rdb.XRangeN(ctx, o.deadKey, cursor, "+", page).Result()
		if err != nil {
			return evicted, expired, o.storeErr(err, "read old dead letters")
		}
		var old []string
		stop := len(msgs) < page
		for _, m := range msgs {
			d, ok := decodeDead(m)
			if ok && !d.At.Before(olderThan) {
				stop = true
				break
			}
			old = append(old, m.ID) // expired, or unreadable: nothing to keep
		}
		if len(old) > 0 {
			n, err := o.rdb.XDel(ctx, o.deadKey, old...).Result()
			expired += int(n)
			if err != nil {
				return evicted, expired, o.storeErr(err, "delete old dead letters")
			}
		}
		if stop {
			return evicted, expired, nil
		}
		cursor = "(" + msgs[len(msgs)-1].ID
	}
}

func decodeDead(m goredis.XMessage) (service.DeadLetter, bool) {
	var d service.DeadLetter
	s, ok := m.Values["dead"].(string)
	if !ok || json.Unmarshal([]byte(s), &d) != nil {
		return d, false
	}
	d.ID = m.ID
	return d, true
}

// streamID reports whether id looks like a stream entry id ("ms-seq"), so
// no user input reaches Redis as a range bound it would misread.
func streamID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	return ok && digits(ms) && digits(seq)
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Stats counts the stream lengths plus the buffer. During an outage it
// reports the buffer alone, without an error, so /health keeps answering.
func (o *Outbox) Stats(ctx context.Context) (service.OutboxStats, error) {
	now := o.cfg.Clock.Now()
	bs := o.buf.stats()
	st := service.OutboxStats{
		Depth:        make(map[service.Lane]int),
		OldestAge:    make(map[service.Lane]time.Duration),
		DeadLettered: bs.dead,
		Buffered:     bs.total,
		Superseded:   o.superseded.Counts(),
		Unconfirmed:  o.unconf.len(),
	}
	for _, l := range service.Lanes {
		st.Depth[l] = bs.depth[l]
		st.OldestAge[l] = 0
		if t, ok := bs.oldest[l]; ok {
			st.OldestAge[l] = max(0, now.Sub(t))
		}
	}
	if !o.usable(ctx) {
		return st, nil
	}
	lens := make(map[service.Lane]*goredis.IntCmd)
	firsts := make(map[service.Lane]*goredis.XMessageSliceCmd)
	var deadLen *goredis.IntCmd
	_, err := o.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, l := range service.Lanes {
			lens[l] = p.XLen(ctx, o.streams[l])
			firsts[l] = p.XRangeN(ctx, o.streams[l], "-", "+", 1)
		}
		deadLen = p.XLen(ctx, o.deadKey)
		return nil
	})
	if err != nil {
		if isConnError(err) && ctx.Err() == nil {
			o.markDown(err)
			return st, nil
		}
		return st, fmt.Errorf("redis outbox: stats: %w", err)
	}
	for _, l := range service.Lanes {
		st.Depth[l] += int(lens[l].Val())
		if msgs := firsts[l].Val(); len(msgs) > 0 {
			st.OldestAge[l] = max(st.OldestAge[l], now.Sub(idTime(msgs[0].ID)), 0)
		}
	}
	st.DeadLettered += int(deadLen.Val())
	return st, nil
}

// addScript is Add in one round trip: the update goes to its lane's stream
// unless the pending update of its key is newer; an older pending one
// leaves its stream (and its consumer's pending list, so a failed delivery
// does not bring it back). Newer means a later event time, on a tie the
// later add, as service.Update.Newer.
// KEYS high stream, normal stream, newest hash; ARGV lane index (1 high,
// 2 normal), key, payload, event time µs, group. Returns {id or "",
// superseded (0 or 1), the superseded id if a consumer had claimed it (or
// "") and its lane index}.
// A fenced add (fenced.go) appends KEYS lease, fence, running and ARGV lease
// value, token, ttl ms, session id, owner: the update goes in only while
// the writer's lease is current, or free with no newer token handed out
// (a Redis failover lost it: then it is taken back, as a renewal would,
// and on the same terms: never after its session ended or was handed over).
var addScript = goredis.NewScript(`
if #KEYS > 3 then
  local cur = redis.call('GET', KEYS[4])
  if cur ~= ARGV[6] then
    local fence, tok = tonumber(redis.call('GET', KEYS[5])) or 0, tonumber(ARGV[7])
    local last = cur == false and redis.call('HGET', KEYS[6], ARGV[9])
    if cur == false and tonumber(ARGV[8]) > 0 and fence <= tok and (last == ARGV[10] or (last == false and fence < tok)) then
      redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[8])
      redis.call('SET', KEYS[5], ARGV[7])
      redis.call('HSET', KEYS[6], ARGV[9], ARGV[10])
    else
      return redis.error_reply('FENCED lease is not held')
    end
  end
end
local lane, key, at = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4])
local superseded, claimed, claimedLane = 0, '', 0
local cur = redis.call('HGET', KEYS[3], key)
if cur then
  local l, id, t = string.match(cur, '^(%d) (%S+) (%-?%d+)$')
  if l then
    if tonumber(t) > at then return {'', 1, '', 0} end
    local s = KEYS[tonumber(l)]
    if redis.call('XDEL', s, id) > 0 then superseded = 1 end
    if redis.call('XACK', s, ARGV[5], id) > 0 and superseded == 1 then
      claimed, claimedLane = id, tonumber(l)
    end
  end
end
local id = redis.call('XADD', KEYS[lane], '*', 'item', ARGV[3], 'key', key)
redis.call('HSET', KEYS[3], key, lane .. ' ' .. id .. ' ' .. ARGV[4])
return {id, superseded, claimed, claimedLane}
`)

// forgetScript drops the newest-hash entries that point at entries about
// to be deleted (delivered or dead-lettered), so the hash holds only keys
// with something pending. KEYS stream, newest hash; ARGV lane index, ids.
var forgetScript = goredis.NewScript(`
local lane = ARGV[1]
for i = 2, #ARGV do
  local e = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if e[1] then
    local f = e[1][2]
    for j = 1, #f, 2 do
      if f[j] == 'key' then
        local cur = redis.call('HGET', KEYS[2], f[j+1])
        if cur and string.sub(cur, 1, #lane + #ARGV[i] + 2) == lane .. ' ' .. ARGV[i] .. ' ' then
          redis.call('HDEL', KEYS[2], f[j+1])
        end
      end
    end
  end
end
return 0
`)

// forgetNewest queues forgetScript for ids of lane on p.
func (o *Outbox) forgetNewest(ctx context.Context, p goredis.Pipeliner, lane service.Lane, ids []string) {
	args := make([]any, 0, len(ids)+1)
	args = append(args, laneIndex(lane))
	for _, id := range ids {
		args = append(args, id)
	}
	forgetScript.Eval(ctx, p, []string{o.streams[lane], o.newestKey}, args...)
}

func laneIndex(l service.Lane) int {
	if l == service.LaneHigh {
		return 1
	}
	return 2
}

func laneOfIndex(i int64) service.Lane {
	if i == 1 {
		return service.LaneHigh
	}
	return service.LaneNormal
}

// claimScript is Claim in one round trip: this consumer's pending entries,
// then new ones, then entries idle longer than the claim timeout in other
// consumers' hands, with each entry's delivery count.
// KEYS[1] stream; ARGV group, consumer, max, min idle ms.
var claimScript = goredis.NewScript(`
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local max = tonumber(ARGV[3])
local out, stale = {}, {}
local function take(entries)
  for _, e in ipairs(entries) do
    if e[2] then out[#out+1] = e else stale[#stale+1] = e[1] end
  end
end
local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max, 'STREAMS', stream, '0')
if r then take(r[1][2]) end
if #out < max then
  r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - #out, 'STREAMS', stream, '>')
  if r then take(r[1][2]) end
end
if #out < max then
  r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[4], '0-0', 'COUNT', max - #out)
  take(r[2])
end
if #stale > 0 then redis.call('XACK', stream, group, unpack(stale)) end
local counts = {}
if #out > 0 then
  for _, p in ipairs(redis.call('XPENDING', stream, group, '-', '+', #out, consumer)) do
    counts[p[1]] = p[4]
  end
end
local res = {}
for i, e in ipairs(out) do
  local payload = ''
  for j = 1, #e[2], 2 do
    if e[2][j] == 'item' then payload = e[2][j+1] end
  end
  res[i] = {e[1], payload, counts[e[1]] or 1}
end
return res
`)

func (o *Outbox) claimStream(ctx context.Context, lane service.Lane, max int) ([]service.Update, error) {
	stream := o.streams[lane]
	run := func() (any, error) {
		return claimScript.Run(ctx, o.rdb, []string{stream},
			group, o.cfg.Consumer, max, o.cfg.ClaimTimeout.Milliseconds()).Result()
	}
	res, err := run()
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		// Redis lost the group (restarted empty, flushed): make it again.
		if err = o.ensureGroups(ctx); err == nil {
			res, err = run()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("redis outbox: claim %s: %w", lane, err)
	}
	rows, _ := res.([]any)
	items := make([]service.Update, 0, len(rows))
	var bad []string
	for _, row := range rows {
		f, _ := row.([]any)
		if len(f) != 3 {
			continue
		}
		id, _ := f[0].(string)
		payload, _ := f[1].(string)
		count, _ := f[2].(int64)
		var it service.Update
		if err := json.Unmarshal([]byte(payload), &it); err != nil || it.Validate() != nil {
			bad = append(bad, id)
			continue
		}
		it.ID, it.Lane, it.Attempts = id, lane, int(count)
		items = append(items, it)
	}
	if len(bad) > 0 {
		o.deadLetterUnreadable(ctx, lane, bad)
	}
	slices.SortFunc(items, func(a, b service.Update) int { return service.CompareIDs(a.ID, b.ID) })
	return items, nil
}

// deadLetterUnreadable moves entries that are not items (written by hand or
// by a future version) out of the way, so they cannot block a lane.
func (o *Outbox) deadLetterUnreadable(ctx context.Context, lane service.Lane, ids []string) {
	o.log.ErrorContext(ctx, "unreadable outbox entries dead-lettered", "lane", lane, "ids", ids)
	dead := make([]service.DeadLetter, len(ids))
	for i, id := range ids {
		dead[i] = service.DeadLetter{Item: service.Update{ID: id, Lane: lane}, Reason: "unreadable outbox entry"}
	}
	if err := o.DeadLetter(ctx, lane, dead); err != nil {
		o.log.ErrorContext(ctx, "dead-lettering unreadable entries failed", "lane", lane, "err", err)
	}
}

// moveBuffered writes lane's buffered items to its stream in order, plus
// any dead letters kept during the outage. An item claimed from the buffer
// and not acknowledged by now is a failed delivery: it moves too, and this
// Claim reads it back from Redis.
func (o *Outbox) moveBuffered(ctx context.Context, lane service.Lane) error {
	dead := o.buf.takeDead()
	moved := o.buf.startMove(lane)
	if len(moved) == 0 && len(dead) == 0 {
		return nil
	}
	stream := o.streams[lane]
	cmds := make([]*goredis.StringCmd, len(moved))
	var deadCmds []*goredis.StringCmd
	var wait *goredis.Cmd
	waitOn := o.acks.due()
	_, err := o.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, e := range moved {
			it := e.item
			it.ID, it.Attempts = "", 0
			payload, _ := json.Marshal(it) // an Item always encodes
			cmds[i] = p.XAdd(ctx, &goredis.XAddArgs{Stream: stream, Values: []any{"item", payload}})
		}
		for _, d := range dead {
			deadCmds = append(deadCmds, o.xaddDead(ctx, p, d))
		}
		if waitOn && len(moved) > 0 {
			wait = o.acks.wait(ctx, p)
		}
		return nil
	})
	written := make([]string, len(moved))
	for i, c := range cmds {
		if c.Err() == nil {
			written[i] = c.Val()
		}
	}
	confirmed := len(moved) == 0 || o.acks.confirmed(wait)
	var lostDead []service.DeadLetter
	for i, c := range deadCmds {
		if c.Err() != nil {
			lostDead = append(lostDead, dead[i])
		}
	}
	o.buf.keepDead(lostDead...)
	acked := o.buf.finishMove(lane, moved, written)
	if len(acked) > 0 {
		// Acknowledged while being written: nobody has read them from the
		// stream yet, so deleting them is enough.
		if derr := o.rdb.XDel(ctx, stream, acked...).Err(); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	if !confirmed {
		// Written to the master alone: kept until a replica confirms.
		now := o.cfg.Clock.Now()
		for i, e := range moved {
			if written[i] != "" && !slices.Contains(acked, written[i]) {
				it := e.item
				it.ID, it.Attempts = written[i], 0
				o.unconf.keep(it, now)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("redis outbox: write buffered items of %s: %w", lane, err)
	}
	o.log.InfoContext(ctx, "buffered outbox items written to redis", "lane", lane, "items", len(moved), "dead_letters", len(dead))
	return nil
}

func (o *Outbox) xaddDead(ctx context.Context, p goredis.Pipeliner, d service.DeadLetter) *goredis.StringCmd {
	b, _ := json.Marshal(d) // a DeadLetter always encodes
	return p.XAdd(ctx, &goredis.XAddArgs{
		Stream: o.deadKey, MaxLen: int64(o.cfg.DeadLetterCap), Approx: true,
		Values: []any{"dead", b},
	})
}

// ensureGroups creates each lane's stream and consumer group if missing.
func (o *Outbox) ensureGroups(ctx context.Context) error {
	cmds := make([]*goredis.StatusCmd, 0, len(o.streams))
	_, err := o.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, l := range service.Lanes {
			// From "0": entries written before the group existed are delivered too.
			cmds = append(cmds, p.XGroupCreateMkStream(ctx, o.streams[l], group, "0"))
		}
		return nil
	})
	if err == nil {
		return nil
	}
	for _, c := range cmds {
		if c.Err() != nil && !strings.HasPrefix(c.Err().Error(), "BUSYGROUP") {
			return fmt.Errorf("redis outbox: create consumer group: %w", c.Err())
		}
	}
	return nil
}

// usable reports whether this call should talk to Redis: yes unless an
// outage is on and it is not yet time to probe again.
func (o *Outbox) usable(ctx context.Context) bool {
	if !o.down.Load() {
		return true
	}
	now := o.cfg.Clock.Now().UnixNano()
	if now-o.lastProbe.Load() < int64(o.cfg.ProbeInterval) || !o.probeMu.TryLock() {
		return false
	}
	defer o.probeMu.Unlock()
	o.lastProbe.Store(now)
	// A short probe: a Redis that drops packets must not hold this call
	// for the client's full dial timeout.
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if err := o.rdb.Ping(pctx).Err(); err != nil {
		return false
	}
	return o.recover(pctx) == nil
}

// recover leaves outage mode once the consumer groups exist again (a Redis
// restarted without its data has none).
func (o *Outbox) recover(ctx context.Context) error {
	if err := o.ensureGroups(ctx); err != nil {
		return err
	}
	if o.down.Swap(false) {
		o.log.InfoContext(ctx, "redis reachable again; outbox back on redis", "buffered", o.buf.len())
	}
	return nil
}

func (o *Outbox) markDown(err error) {
	o.lastProbe.Store(o.cfg.Clock.Now().UnixNano())
	if !o.down.Swap(true) {
		o.log.Warn("redis unreachable; outbox items are buffered in memory (not durable) until it returns",
			"err", err, "buffer_size", o.cfg.BufferSize)
	}
}

// storeErr wraps a failed Redis call, noting an outage; EUNAVAILABLE tells
// the caller to retry later rather than give up on the items.
func (o *Outbox) storeErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	if isConnError(err) {
		o.markDown(err)
		return fmt.Errorf("redis outbox: %s: %w: %w", msg, service.Errorf(service.EUNAVAILABLE, "redis unreachable"), err)
	}
	return fmt.Errorf("redis outbox: %s: %w", msg, err)
}

func unavailable(format string, args ...any) error {
	return fmt.Errorf("redis outbox: %s: %w", fmt.Sprintf(format, args...),
		service.Errorf(service.EUNAVAILABLE, "redis unreachable"))
}

func splitIDs(ids []string) (mem, stored []string) {
	for _, id := range ids {
		if isMemID(id) {
			mem = append(mem, id)
		} else if id != "" {
			stored = append(stored, id)
		}
	}
	return mem, stored
}

// idTime is the time a stream id's millisecond part records.
func idTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
