// Package redis keeps the gateway's shared state in Redis: the L2 cache, the
// durable outbox (one stream and consumer group per lane) and the session
// leases that make each WhatsApp session owned by one gateway instance.
//
// Every key starts with a prefix (DefaultPrefix) so several deployments can
// share a Redis; cache invalidation must never touch outbox or lease keys.
// The same code runs on one Redis, behind Sentinel and on a Cluster (see
// Open and keys.go).
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key this package writes.
const DefaultPrefix = "wagateway:"

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
