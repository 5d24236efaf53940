package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
)

// Leases is service.Leases on Redis. Per session:
//
//   - {prefix}{core}:lease:<id> = "<token> <owner>", expiring by PX: who runs it;
//   - {prefix}{core}:fence:<id>, a counter that never expires: the last
//     token handed out, so a new holder always gets a larger one;
//   - membership of {prefix}{core}:running while the session should run
//     somewhere: a running session without a lease is an orphan that a
//     surviving instance takes over;
//   - membership of {prefix}{core}:sessions, the Known set;
//   - a score in {prefix}{core}:expiry, the lease's deadline in ms by
//     Redis's clock (0 when handed over): an index of the running hash, so
//     finding orphans costs what lapsed, not every running session.
//
// All of them share the {core} hash tag with the outbox, so one script can
// check a lease and write (a fenced write), on a Cluster too.
type Leases struct {
	rdb      goredis.UniversalClient
	prefix   string
	replicas *replicaAcks
	scans    atomic.Int64 // Orphans calls, for the periodic full sweep
	// beforeConfirm runs between reading the candidates and confirming
	// them (tests: a session ends in between).
	beforeConfirm func()

	// behind: the cache and history writes queued in this process, sent
	// before a lease is given up (AfterWrites).
	behind *WriteBehind

	endsMu sync.Mutex
	// ends holds the leases End gave up that no replica confirmed: a
	// Sentinel failover would bring the session back as an orphan and an
	// instance would start it again. Orphans applies them again first.
	ends map[string]service.Lease
}

// fullSweepEvery: one Orphans call in this many reads the whole running
// hash instead of the expiry index. It finds running sessions the index
// lacks: written before the index existed, or whose lease and score a
// Redis failover lost while the owner died before renewing.
const fullSweepEvery = 60

// WaitReplicas makes Take wait for n replicas to have the new lease
// (ReplicaAcks of the REDIS_URL).
func (l *Leases) WaitReplicas(n int) *Leases { l.replicas = &replicaAcks{n: n}; return l }

// NewLeases returns Leases on rdb; an empty prefix means DefaultPrefix.
func NewLeases(rdb goredis.UniversalClient, prefix string) *Leases {
	return &Leases{rdb: rdb, prefix: keyPrefix(prefix)}
}

// AfterWrites makes End and Handover send w's queued writes first: the
// session's last state (say its expired status) must be in Redis before its
// lease is free, or a crash right after would leave the cache showing an
// older state of a session nobody runs any more.
func (l *Leases) AfterWrites(w *WriteBehind) *Leases { l.behind = w; return l }

var _ service.Leases = (*Leases)(nil)

// deadlineLua sets local deadline to Redis's clock now + ARGV[ttl] ms, the
// score of a lease in the expiry index.
func deadlineLua(ttlArg int) string {
	return fmt.Sprintf("local now = redis.call('TIME')\nlocal deadline = now[1] * 1000 + math.floor(now[2] / 1000) + tonumber(ARGV[%d])\n", ttlArg)
}

// takeScript takes a free lease with a new token, or keeps (and extends) the
// one the same owner holds. KEYS lease, fence, running, expiry; ARGV owner,
// ttl ms, session id. Returns {token, 1} when owner holds it, {token, 0,
// holder} otherwise.
var takeScript = goredis.NewScript(deadlineLua(2) + `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sp = string.find(cur, ' ', 1, true)
  local tok, own = tonumber(string.sub(cur, 1, sp - 1)), string.sub(cur, sp + 1)
  if own ~= ARGV[1] then return {tok, 0, own} end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
  redis.call('ZADD', KEYS[4], deadline, ARGV[3])
  return {tok, 1}
end
local tok = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], tok .. ' ' .. ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], deadline, ARGV[3])
return {tok, 1}
`)

// renewScript extends the lease if it is still exactly this one, or takes
// it back with the same token when it is free and nobody got a newer token
// since (it lapsed, or a Redis failover lost the write): no one else can
// have held it in between. It also keeps the session in the running set.
// KEYS lease, fence, running, expiry; ARGV value, ttl ms, token, session
// id, owner.
//
// A free lease is taken back only if it was not given up: the running hash
// still names this owner, or a failover lost the take itself (the fence is
// older than the token). After End (no entry, fence equal) or Handover
// (entry "") a renewal that was in flight must not bring the session back.
var renewScript = goredis.NewScript(deadlineLua(2) + `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif cur == false then
  local fence, tok = tonumber(redis.call('GET', KEYS[2])) or 0, tonumber(ARGV[3])
  local last = redis.call('HGET', KEYS[3], ARGV[4])
  if fence > tok or not (last == ARGV[5] or (last == false and fence < tok)) then return 0 end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3])
else
  return 0
end
redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[4], deadline, ARGV[4])
return 1
`)

// giveUpScript deletes the lease if it is still this one; with ARGV[3] = "1"
// the session also leaves the running hash (it ended: nobody resumes it),
// else its last owner there is cleared (handed over: take it at once) and
// its deadline in the expiry index is 0, long past.
// KEYS lease, running, expiry; ARGV value, session id, end.
var giveUpScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[3] == '1' then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
else
  redis.call('HSET', KEYS[2], ARGV[2], '')
  redis.call('ZADD', KEYS[3], 0, ARGV[2])
end
return 1
`)

// lapsedScript lists the running sessions whose deadline in the expiry
// index has passed by Redis's clock, flat as id, last owner, id, owner…;
// an index entry whose session no longer runs is dropped. The lease keys
// are read after it (a lease taken back by a fenced write has an old
// score until its next renewal).
// KEYS expiry, running.
var lapsedScript = goredis.NewScript(deadlineLua(1) + `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', deadline)) do
  local owner = redis.call('HGET', KEYS[2], id)
  if owner then
    out[#out + 1] = id
    out[#out + 1] = owner
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`)

// Take acquires the lease of sessionID for owner, with a fresh fencing
// token, or keeps the one owner already holds (same token, extended). When
// another live owner holds it, ok is false and the Lease names that holder.
func (l *Leases) Take(ctx context.Context, sessionID, owner string, ttl time.Duration) (service.Lease, bool, error) {
	if err := service.ValidateLease(sessionID, owner, ttl); err != nil {
		return service.Lease{}, false, err
	}
	l.endsMu.Lock()
	delete(l.ends, sessionID) // a new run here supersedes an unconfirmed end
	l.endsMu.Unlock()
	// An unconfirmed take still counts: a failover that loses it is
	// repaired by the owner's next renewal or fenced write, which take the
	// free lease back (renewScript); refusing it would stop every session
	// start while no replica is in sync.
	cmd, _ := acked(ctx, l.rdb, l.replicas, func(p goredis.Pipeliner) *goredis.Cmd {
		return takeScript.Eval(ctx, p, []string{l.key(sessionID), l.fenceKey(sessionID), l.runningKey(), l.expiryKey()},
			owner, ttl.Milliseconds(), sessionID)
	})
	res, err := cmd.Slice()
	if err != nil {
		return service.Lease{}, false, fmt.Errorf("redis leases: take %s: %w", sessionID, err)
	}
	tok, _ := res[0].(int64)
	held, _ := res[1].(int64)
	if held == 1 {
		return service.Lease{SessionID: sessionID, Owner: owner, Token: tok, TTL: ttl}, true, nil
	}
	holder, _ := res[2].(string)
	return service.Lease{SessionID: sessionID, Owner: holder, Token: tok}, false, nil
}

// Renew extends each lease still held exactly as given, in one pipeline
// (every lease key has the {core} tag: one Cluster node answers it all).
func (l *Leases) Renew(ctx context.Context, ttl time.Duration, leases ...service.Lease) ([]bool, error) {
	for _, lease := range leases {
		if err := service.ValidateLease(lease.SessionID, lease.Owner, ttl); err != nil {
			return nil, err
		}
	}
	held := make([]bool, len(leases))
	if len(leases) == 0 {
		return held, nil
	}
	cmds := make([]*goredis.Cmd, len(leases))
	_, err := l.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, lease := range leases {
			// Eval, not Run: a pipeline cannot fall back from EVALSHA on NOSCRIPT.
			cmds[i] = renewScript.Eval(ctx, p, []string{l.key(lease.SessionID), l.fenceKey(lease.SessionID), l.runningKey(), l.expiryKey()},
				leaseValue(lease), ttl.Milliseconds(), lease.Token, lease.SessionID, lease.Owner)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis leases: renew %d leases: %w", len(leases), err)
	}
	for i, c := range cmds {
		n, _ := c.Int()
		held[i] = n == 1
	}
	return held, nil
}

// End gives lease up for good: the session ended here (logged out, expired,
// closed, or stopped by the last instance), so no survivor resumes it.
func (l *Leases) End(ctx context.Context, lease service.Lease) error {
	return l.giveUp(ctx, lease, true)
}

// Handover gives lease up so that another instance takes the session over at
// once; the session stays in the running set.
func (l *Leases) Handover(ctx context.Context, lease service.Lease) error {
	return l.giveUp(ctx, lease, false)
}

func (l *Leases) giveUp(ctx context.Context, lease service.Lease, end bool) error {
	if err := service.ValidateSessionID(lease.SessionID); err != nil {
		return err
	}
	if l.behind != nil {
		l.behind.flushIf(ctx, "")
	}
	flag := "0"
	if end {
		flag = "1"
	}
	cmd, confirmed := acked(ctx, l.rdb, l.replicas, func(p goredis.Pipeliner) *goredis.Cmd {
		return giveUpScript.Eval(ctx, p, []string{l.key(lease.SessionID), l.runningKey(), l.expiryKey()},
			leaseValue(lease), lease.SessionID, flag)
	})
	n, err := cmd.Int()
	if err != nil {
		return fmt.Errorf("redis leases: give up %s: %w", lease.SessionID, err)
	}
	if end && n == 1 && !confirmed {
		// A handover lost the same way only delays the takeover.
		l.endsMu.Lock()
		if l.ends == nil {
			l.ends = make(map[string]service.Lease)
		}
		l.ends[lease.SessionID] = lease
		l.endsMu.Unlock()
	}
	return nil
}

// endAgainScript is End applied again for a lease whose end no replica
// confirmed: the lease goes if it is still this one, or free with no newer
// token handed out (a failover lost the end, then the lease lapsed), and
// the session leaves the running hash if this owner is still its last.
// KEYS lease, fence, running, expiry; ARGV value, token, session id, owner.
var endAgainScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] and (cur or (tonumber(redis.call('GET', KEYS[2])) or 0) > tonumber(ARGV[2])) then return 0 end
if cur then redis.call('DEL', KEYS[1]) end
if redis.call('HGET', KEYS[3], ARGV[3]) == ARGV[4] then
  redis.call('HDEL', KEYS[3], ARGV[3])
  redis.call('ZREM', KEYS[4], ARGV[3])
end
return 1
`)

// endAgain applies the unconfirmed ends again, with WAIT, and forgets them
// once a replica confirms. Best effort: Orphans fails on its own if Redis
// does not answer.
func (l *Leases) endAgain(ctx context.Context) {
	l.endsMu.Lock()
	if len(l.ends) == 0 {
		l.endsMu.Unlock()
		return
	}
	ends := slices.Collect(maps.Values(l.ends))
	l.endsMu.Unlock()
	for chunk := range slices.Chunk(ends, 256) {
		// Applied even while WAIT is skipped (the takes of new sessions use
		// up each second's WAIT): after a failover the new master needs the
		// end before this very scan reads the lapsed leases.
		var wait *goredis.Cmd
		waitOn := l.replicas.due()
		_, err := l.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, lease := range chunk {
				endAgainScript.Eval(ctx, p, []string{l.key(lease.SessionID), l.fenceKey(lease.SessionID), l.runningKey(), l.expiryKey()},
					leaseValue(lease), lease.Token, lease.SessionID, lease.Owner)
			}
			if waitOn {
				wait = l.replicas.wait(ctx, p)
			}
			return nil
		})
		if err != nil || !l.replicas.confirmed(wait) {
			return
		}
		l.endsMu.Lock()
		for _, lease := range chunk {
			if l.ends[lease.SessionID] == lease {
				delete(l.ends, lease.SessionID)
			}
		}
		l.endsMu.Unlock()
	}
}

// Orphans maps the sessions that should run somewhere and have no lease to
// their last owner ("" when handed over): their instance died, was cut
// off, handed them over, or a Redis failover lost the lease.
//
// It reads the lapsed entries of the expiry index, so a scan costs what
// lapsed, not every running session (100,000 running sessions made each
// full read about 0.3 s, once a second on every instance). Every
// fullSweepEvery-th call, the first included, reads the whole running
// hash instead.
func (l *Leases) Orphans(ctx context.Context) (map[string]string, error) {
	l.endAgain(ctx)
	if l.scans.Add(1)%fullSweepEvery == 1 {
		return l.sweep(ctx)
	}
	flat, err := lapsedScript.Run(ctx, l.rdb, []string{l.expiryKey(), l.runningKey()}, 0).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis leases: lapsed sessions: %w", err)
	}
	last := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		last[flat[i]] = flat[i+1]
	}
	return l.unleased(ctx, last)
}

// sweep is Orphans over the whole running hash.
func (l *Leases) sweep(ctx context.Context) (map[string]string, error) {
	last, err := l.rdb.HGetAll(ctx, l.runningKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("redis leases: running sessions: %w", err)
	}
	return l.unleased(ctx, last)
}

// unleased keeps the sessions of last (id → last owner) that have no lease.
func (l *Leases) unleased(ctx context.Context, last map[string]string) (map[string]string, error) {
	if l.beforeConfirm != nil {
		l.beforeConfirm()
	}
	ids := slices.Sorted(maps.Keys(last))
	out := map[string]string{}
	// One script per chunk: every lease key has the {core} tag, so a chunk
	// sits in one Cluster slot.
	for chunk := range slices.Chunk(ids, 500) {
		keys := make([]string, 0, len(chunk)+1)
		args := make([]any, 0, 2*len(chunk))
		keys = append(keys, l.runningKey())
		for _, id := range chunk {
			keys = append(keys, l.key(id))
			args = append(args, id)
		}
		for _, id := range chunk {
			args = append(args, last[id])
		}
		orphans, err := confirmScript.Run(ctx, l.rdb, keys, args...).StringSlice()
		if err != nil {
			return nil, fmt.Errorf("redis leases: read leases: %w", err)
		}
		for _, id := range orphans {
			out[id] = last[id]
		}
	}
	return out, nil
}

// confirmScript keeps, of the sessions read a moment ago with their last
// owners, those that still run under that owner and have no lease, in one
// atomic step: a session that ended since the read (its running entry is
// gone) is no orphan, or its own instance would start it again as a fresh
// pairing. KEYS running, lease of each; ARGV the ids, then their owners.
var confirmScript = goredis.NewScript(`
local n = #KEYS - 1
local out = {}
for i = 1, n do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 and redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[n + i] then
    out[#out + 1] = ARGV[i]
  end
end
return out
`)

// Owners maps each of ids that has a lease to its holder.
func (l *Leases) Owners(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = l.key(id)
		}
		vals, err := l.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, fmt.Errorf("redis leases: read leases: %w", err)
		}
		for i, v := range vals {
			if s, ok := v.(string); ok {
				if lease, ok := parseLease(chunk[i], s); ok {
					out[chunk[i]] = lease.Owner
				}
			}
		}
	}
	return out, nil
}

func (l *Leases) Owner(ctx context.Context, sessionID string) (string, error) {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	cur, err := l.current(ctx, sessionID)
	return cur.Owner, err
}

// current is the lease held on sessionID now, zero when none.
func (l *Leases) current(ctx context.Context, sessionID string) (service.Lease, error) {
	v, err := l.rdb.Get(ctx, l.key(sessionID)).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return service.Lease{}, nil
	case err != nil:
		return service.Lease{}, fmt.Errorf("redis leases: owner of %s: %w", sessionID, err)
	}
	lease, _ := parseLease(sessionID, v)
	return lease, nil
}

func (l *Leases) Known(ctx context.Context) ([]string, error) {
	ids, err := l.rdb.SMembers(ctx, l.knownKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("redis leases: known sessions: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

func (l *Leases) Register(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	if err := l.rdb.SAdd(ctx, l.knownKey(), sessionID).Err(); err != nil {
		return fmt.Errorf("redis leases: register %s: %w", sessionID, err)
	}
	return nil
}

// Forget drops sessionID from the Known and the running set.
func (l *Leases) Forget(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	_, err := l.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SRem(ctx, l.knownKey(), sessionID)
		p.HDel(ctx, l.runningKey(), sessionID)
		p.ZRem(ctx, l.expiryKey(), sessionID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis leases: forget %s: %w", sessionID, err)
	}
	return nil
}

func (l *Leases) key(sessionID string) string      { return coreKey(l.prefix, "lease:"+sessionID) }
func (l *Leases) fenceKey(sessionID string) string { return coreKey(l.prefix, "fence:"+sessionID) }
func (l *Leases) runningKey() string               { return coreKey(l.prefix, "running") } // hash: session → last owner
func (l *Leases) knownKey() string                 { return coreKey(l.prefix, "sessions") }
func (l *Leases) expiryKey() string                { return coreKey(l.prefix, "expiry") } // zset: session → lease deadline, ms

// leaseValue is what the lease key holds while lease is current.
func leaseValue(lease service.Lease) string {
	return strconv.FormatInt(lease.Token, 10) + " " + lease.Owner
}

func parseLease(sessionID, v string) (service.Lease, bool) {
	tok, owner, ok := strings.Cut(v, " ")
	n, err := strconv.ParseInt(tok, 10, 64)
	if !ok || err != nil {
		return service.Lease{}, false
	}
	return service.Lease{SessionID: sessionID, Owner: owner, Token: n}, true
}
