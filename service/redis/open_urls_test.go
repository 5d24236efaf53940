package redis_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/service/redis"
)

// The edges of REDIS_URL: database 0, empty hosts in a list, TLS,
// credentials, unix sockets, and which URLs wait for a replica.
func TestParseURLEdges(t *testing.T) {
	ok := func(url string) *goredis.UniversalOptions {
		t.Helper()
		o, err := redis.ParseURL(url)
		if err != nil {
			t.Fatalf("ParseURL(%s): %v", url, err)
		}
		return o
	}
	if o := ok("redis-sentinel://s1:26379/0?master=gw&sentinel_password=sp"); o.DB != 0 || o.SentinelPassword != "sp" {
		t.Fatalf("sentinel /0: %+v", o)
	}
	if o := ok("redis-cluster://n1:7000/0"); !slices.Equal(o.Addrs, []string{"n1:7000"}) {
		t.Fatalf("cluster /0: %+v", o)
	}
	if o := ok("redis-cluster://u:pw@n1:7000,,n2:7001?tls=true"); !slices.Equal(o.Addrs, []string{"n1:7000", "n2:7001"}) || o.Username != "u" || o.Password != "pw" || o.TLSConfig == nil {
		t.Fatalf("cluster with an empty host, credentials and TLS: %+v", o)
	}
	if o := ok("redis-cluster://n1:7000?tls=false"); o.TLSConfig != nil || o.Username != "" || o.Password != "" {
		t.Fatalf("cluster without TLS or credentials: %+v", o)
	}
	if o := ok("unix:///run/redis.sock"); o.Dialer == nil {
		t.Fatalf("unix socket without its dialer: %+v", o)
	}
	if o := ok("redis://h:6379"); o.Dialer != nil || o.TLSConfig != nil {
		t.Fatalf("redis:// with a dialer or TLS: %+v", o)
	}
	// Short timeouts on every topology: a Redis that stops answering is an
	// outage within seconds.
	for _, url := range []string{"redis://h:6379", "redis-cluster://n1:7000", "redis-sentinel://s1:26379?master=gw"} {
		o := ok(url)
		if o.DialTimeout != 2*time.Second || o.ReadTimeout != 2*time.Second || o.WriteTimeout != 2*time.Second ||
			o.PoolTimeout != 3*time.Second || o.MaxRetries != 1 || o.DialerRetries != 2 || o.MinIdleConns != 2 {
			t.Errorf("%s: timeouts %+v", url, o)
		}
	}
	for url, want := range map[string]string{
		"redis-sentinel://s1:26379/x?master=gw":  "not a number",
		"redis-sentinel://s1:26379/-1?master=gw": "not a number",
		"redis-cluster://,":                      "no host:port",
		"%zz":                                    "not a URL",
	} {
		if _, err := redis.ParseURL(url); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%s) = %v, want an error naming %q", url, err, want)
		}
	}
	for url, want := range map[string]int{"redis-sentinel://s1:26379?master=gw": 1, "redis://h:6379": 0, "redis-cluster://n1:7000": 0, "%zz": 0} {
		if got := redis.ReplicaAcks(url); got != want {
			t.Errorf("ReplicaAcks(%s) = %d, want %d", url, got, want)
		}
	}
}
