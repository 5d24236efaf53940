package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service"
)

// Leases is service.Leases on Redis: {prefix}lease:{id} holds the owner and
// expires by PX; {prefix}sessions is the SET of known session ids.
type Leases struct {
	rdb    *goredis.Client
	prefix string
}

// NewLeases returns Leases on rdb; an empty prefix means DefaultPrefix.
func NewLeases(rdb *goredis.Client, prefix string) *Leases {
	return &Leases{rdb: rdb, prefix: keyPrefix(prefix)}
}

var _ service.Leases = (*Leases)(nil)

// acquireScript takes a free lease (SET NX PX) or renews one the owner
// already holds, in one round trip; another live owner's lease is left alone.
var acquireScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
`)

// releaseScript deletes the lease only if owner still holds it.
var releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

func (l *Leases) Acquire(ctx context.Context, sessionID, owner string, ttl time.Duration) (bool, error) {
	if err := service.ValidateLease(sessionID, owner, ttl); err != nil {
		return false, err
	}
	n, err := acquireScript.Run(ctx, l.rdb, []string{l.key(sessionID)}, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redis leases: acquire %s: %w", sessionID, err)
	}
	return n == 1, nil
}

func (l *Leases) Release(ctx context.Context, sessionID, owner string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	if err := releaseScript.Run(ctx, l.rdb, []string{l.key(sessionID)}, owner).Err(); err != nil {
		return fmt.Errorf("redis leases: release %s: %w", sessionID, err)
	}
	return nil
}

func (l *Leases) Owner(ctx context.Context, sessionID string) (string, error) {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	owner, err := l.rdb.Get(ctx, l.key(sessionID)).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("redis leases: owner of %s: %w", sessionID, err)
	}
	return owner, nil
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

func (l *Leases) Forget(ctx context.Context, sessionID string) error {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return err
	}
	if err := l.rdb.SRem(ctx, l.knownKey(), sessionID).Err(); err != nil {
		return fmt.Errorf("redis leases: forget %s: %w", sessionID, err)
	}
	return nil
}

func (l *Leases) key(sessionID string) string { return l.prefix + "lease:" + sessionID }
func (l *Leases) knownKey() string            { return l.prefix + "sessions" }
