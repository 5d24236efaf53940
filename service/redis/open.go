package redis

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// REDIS_URL schemes beyond go-redis's own redis:// and rediss://.
const (
	// SchemeSentinel names Sentinels and a master:
	// redis-sentinel://[:password@]host:26379[,host:26379…][/db]?master=NAME
	// (password is the master's; sentinel_password=… if the Sentinels need one).
	SchemeSentinel = "redis-sentinel"
	// SchemeCluster names some nodes of a Redis Cluster:
	// redis-cluster://[:password@]host:7000[,host:7001…]
	SchemeCluster = "redis-cluster"
)

// Open connects to the Redis that rawURL (REDIS_URL) names: one server
// (redis://, rediss://), a master behind Sentinels (redis-sentinel://) or a
// Cluster (redis-cluster://), and pings it once, so a wrong URL stops
// start-up with a clear error. Every caller works on the returned
// UniversalClient alike: the keys this package writes together share a hash
// tag, so every script and transaction runs on Cluster too.
func Open(ctx context.Context, rawURL string) (goredis.UniversalClient, error) {
	opts, err := ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %s: %w", redact(rawURL), err)
	}
	rdb := goredis.NewUniversalClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis %s: ping: %w", redact(rawURL), err)
	}
	return rdb, nil
}

// ParseURL turns REDIS_URL into client options, with the gateway's short
// timeouts: a Redis that stops answering must turn into an outage the outbox
// buffers around within seconds, not hang the gateway.
func ParseURL(rawURL string) (*goredis.UniversalOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	var opts *goredis.UniversalOptions
	switch u.Scheme {
	case "redis", "rediss", "unix":
		o, err := goredis.ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		opts = &goredis.UniversalOptions{
			Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig,
		}
		if o.Network == "unix" {
			// UniversalOptions has no network: dial the socket ourselves.
			opts.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", addr)
			}
		}
	case SchemeSentinel, SchemeCluster:
		opts, err = parseMultiHost(u)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("scheme %q: want redis, rediss, unix, %s or %s", u.Scheme, SchemeSentinel, SchemeCluster)
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.WriteTimeout = 2 * time.Second
	opts.PoolTimeout = 3 * time.Second
	opts.MaxRetries = 1
	opts.DialerRetries = 2
	opts.MinIdleConns = 2
	return opts, nil
}

// parseMultiHost reads redis-sentinel:// and redis-cluster:// URLs, whose
// host part is a comma-separated list of host:port.
func parseMultiHost(u *url.URL) (*goredis.UniversalOptions, error) {
	opts := &goredis.UniversalOptions{}
	for _, h := range strings.Split(u.Host, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if !strings.Contains(h, ":") {
			return nil, fmt.Errorf("address %q needs a port", h)
		}
		opts.Addrs = append(opts.Addrs, h)
	}
	if len(opts.Addrs) == 0 {
		return nil, fmt.Errorf("no host:port in %s URL", u.Scheme)
	}
	if u.User != nil {
		opts.Username = u.User.Username()
		opts.Password, _ = u.User.Password()
	}
	q := u.Query()
	if q.Get("tls") == "true" {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	path := strings.Trim(u.Path, "/")
	switch u.Scheme {
	case SchemeCluster:
		if path != "" && path != "0" {
			return nil, fmt.Errorf("a Redis Cluster has only database 0, got /%s", path)
		}
		// UniversalClient picks Cluster for several addresses; one seed node
		// must be a Cluster too.
		opts.IsClusterMode = true
	case SchemeSentinel:
		opts.MasterName = q.Get("master")
		if opts.MasterName == "" {
			return nil, fmt.Errorf("%s URL needs ?master=NAME", SchemeSentinel)
		}
		opts.SentinelPassword = q.Get("sentinel_password")
		if path != "" {
			db, err := strconv.Atoi(path)
			if err != nil || db < 0 {
				return nil, fmt.Errorf("database %q is not a number", path)
			}
			opts.DB = db
		}
	}
	return opts, nil
}

// ReplicaAcks is how many replicas must confirm a write the gateway relies
// on after a failover (an outbox item, a lease, a device) before it counts:
// 1 behind Sentinel, whose replicas are copied asynchronously and would
// otherwise lose the last acknowledged writes when a replica is promoted;
// 0 elsewhere (one server has no replica; our Cluster runs without).
func ReplicaAcks(rawURL string) int {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == SchemeSentinel {
		return 1
	}
	return 0
}

// replicaWaitTimeout bounds WAIT: a replica that is down or resyncing (just
// after a failover) must not stall the gateway.
const replicaWaitTimeout = 100 * time.Millisecond

// replicaAcks makes writes wait for n replicas (WAIT), skipping the wait
// for a second after a WAIT that timed out: just after a failover the new
// master has no replica in sync yet, and every event must not pay the
// timeout meanwhile. A write that skipped WAIT is not confirmed: the outbox
// keeps such items until a replica confirms them (unconfirmed.go).
type replicaAcks struct {
	n         int
	skipUntil atomic.Int64 // unix ns
}

// due reports whether a write now sends WAIT.
func (ra *replicaAcks) due() bool {
	return ra != nil && ra.n > 0 && time.Now().UnixNano() >= ra.skipUntil.Load()
}

// confirmed reads the reply of a WAIT (nil: none was sent) and reports
// whether n replicas have the writes before it; when not, the next second's
// writes skip WAIT.
func (ra *replicaAcks) confirmed(wait *goredis.Cmd) bool {
	if ra == nil || ra.n <= 0 {
		return true
	}
	if wait == nil {
		return false
	}
	if got, err := wait.Int(); err == nil && got >= ra.n {
		return true
	}
	ra.skipUntil.Store(time.Now().Add(time.Second).UnixNano())
	return false
}

// wait adds WAIT for n replicas, bounded by replicaWaitTimeout, to p.
func (ra *replicaAcks) wait(ctx context.Context, p goredis.Pipeliner) *goredis.Cmd {
	return p.Do(ctx, "WAIT", ra.n, replicaWaitTimeout.Milliseconds())
}

// acked runs write and, while acks are on, WAIT in the same pipeline (one
// connection): confirmed reports whether the replicas have it, and every
// write Redis got before it (always true without acks). Bounded by
// replicaWaitTimeout; an unconfirmed write still happened on the master.
func acked[C goredis.Cmder](ctx context.Context, rdb goredis.UniversalClient, ra *replicaAcks, write func(p goredis.Pipeliner) C) (cmd C, confirmed bool) {
	var wait *goredis.Cmd
	on := ra.due()
	_, _ = rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		cmd = write(p)
		if on {
			wait = ra.wait(ctx, p)
		}
		return nil
	})
	return cmd, ra.confirmed(wait)
}

// IsCluster reports whether rdb talks to a Redis Cluster, where a command
// that scans keys must run on every master.
func IsCluster(rdb goredis.UniversalClient) bool {
	_, ok := rdb.(*goredis.ClusterClient)
	return ok
}

// forEachMaster runs fn on every master of a Cluster, or on rdb itself.
func forEachMaster(ctx context.Context, rdb goredis.UniversalClient, fn func(ctx context.Context, c goredis.UniversalClient) error) error {
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return fn(ctx, c) })
	}
	return fn(ctx, rdb)
}
