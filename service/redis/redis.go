// Package redis keeps the gateway's shared state in Redis: the L2 cache, the
// durable outbox (one stream and consumer group per lane) and the session
// leases that make each WhatsApp session owned by one gateway instance.
//
// Every key starts with a prefix (DefaultPrefix) so several deployments can
// share a Redis; cache invalidation must never touch outbox or lease keys.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key this package writes.
const DefaultPrefix = "wagateway:"

// Open connects to the Redis that rawURL (REDIS_URL: redis:// or rediss://)
// names and pings it once, so a wrong URL stops start-up with a clear error.
func Open(ctx context.Context, rawURL string) (*goredis.Client, error) {
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %s: %w", redact(rawURL), err)
	}
	// Short timeouts: a Redis that stops answering must turn into an outage
	// the outbox buffers around within seconds, not hang the gateway.
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.WriteTimeout = 2 * time.Second
	opts.PoolTimeout = 3 * time.Second
	opts.MaxRetries = 1
	opts.DialerRetries = 2
	opts.MinIdleConns = 2
	rdb := goredis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis %s: ping: %w", redact(rawURL), err)
	}
	return rdb, nil
}

// redact hides the password of a Redis URL.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// isConnError reports whether err means Redis could not be reached (network,
// timeout, closed pool) rather than Redis answering with an error.
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		return false
	}
	return !errors.Is(err, context.Canceled)
}

func keyPrefix(p string) string {
	if p == "" {
		return DefaultPrefix
	}
	return p
}

// LogTo sends go-redis's own messages (failed dials, pool trouble) to l as
// structured warnings instead of its plain-text default on stderr. go-redis
// keeps one logger per process, so main calls this once.
func LogTo(l *slog.Logger) {
	goredis.SetLogger(slogAdapter{l.With("component", "go-redis")})
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	a.l.WarnContext(ctx, fmt.Sprintf(format, v...))
}
