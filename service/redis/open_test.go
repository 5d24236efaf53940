package redis_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/redistest"
	"wagateway/service/redis"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	rdb, err := redis.Open(ctx, redistest.URL(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// A Redis that stops answering must become an outage within seconds.
	single, ok := rdb.(*goredis.Client)
	if !ok {
		t.Fatalf("Open of one server gave a %T, want a *redis.Client", rdb)
	}
	o := single.Options()
	if o.DialTimeout != 2*time.Second || o.ReadTimeout != 2*time.Second || o.WriteTimeout != 2*time.Second || o.PoolTimeout != 3*time.Second {
		t.Errorf("timeouts dial %s read %s write %s pool %s, want 2 s, 2 s, 2 s, 3 s", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout)
	}
	if o.MaxRetries != 1 || o.DialerRetries != 2 || o.MinIdleConns != 2 {
		t.Errorf("retries %d, dialer retries %d, idle %d; want 1, 2, 2", o.MaxRetries, o.DialerRetries, o.MinIdleConns)
	}
}

func TestOpenErrorsHidePassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	for _, url := range []string{"redis://user:s3cret@" + addr + "/0", "http://user:s3cret@" + addr} {
		_, err := redis.Open(context.Background(), url)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "user:xxxxx@") {
			t.Fatalf("error does not name the URL without its password: %v", err)
		}
	}
}

func TestParseURLTopologies(t *testing.T) {
	tests := []struct {
		url        string
		addrs      []string
		master     string
		db         int
		cluster    bool
		password   string
		wantErrSub string
	}{
		{url: "redis://:pw@10.0.0.1:6380/2", addrs: []string{"10.0.0.1:6380"}, db: 2, password: "pw"},
		{url: "redis-sentinel://:pw@s1:26379,s2:26379/1?master=gw", addrs: []string{"s1:26379", "s2:26379"}, master: "gw", db: 1, password: "pw"},
		{url: "redis-cluster://n1:7000,n2:7001", addrs: []string{"n1:7000", "n2:7001"}, cluster: true},
		{url: "redis-cluster://n1:7000", addrs: []string{"n1:7000"}, cluster: true},
		{url: "redis-sentinel://s1:26379", wantErrSub: "master=NAME"},
		{url: "redis-cluster://n1:7000/3", wantErrSub: "only database 0"},
		{url: "redis-cluster://n1", wantErrSub: "needs a port"},
		{url: "http://x:1", wantErrSub: "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			o, err := redis.ParseURL(tt.url)
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.Addrs, tt.addrs) || o.MasterName != tt.master || o.DB != tt.db ||
				o.IsClusterMode != tt.cluster || o.Password != tt.password {
				t.Fatalf("options %+v", o)
			}
		})
	}
}

// Open on each topology gives a client of the matching kind that answers.
func TestOpenClusterAndSentinel(t *testing.T) {
	ctx := context.Background()
	rdb, err := redis.Open(ctx, redistest.ClusterURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if !redis.IsCluster(rdb) {
		t.Fatalf("redis-cluster:// gave a %T", rdb)
	}
	s := sharedSentinel(t)
	sdb, err := redis.Open(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if redis.IsCluster(sdb) {
		t.Fatal("redis-sentinel:// gave a Cluster client")
	}
	if err := sdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("write through sentinel: %v", err)
	}
}
