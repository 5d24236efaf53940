package redis_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

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
	o := rdb.Options()
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
