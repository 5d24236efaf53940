package config_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/config"
)

// env turns "K=V" pairs into a getenv function.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(env())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"GATEWAY_ADDR", c.Addr, ":4000"},
		{"LARAVEL_URL", c.LaravelURL.String(), "http://localhost:8000"},
		{"LARAVEL_TOKEN", c.LaravelToken, ""},
		{"LARAVEL_TIMEOUT", c.LaravelTimeout, 10 * time.Second},
		{"LARAVEL_SIGNING_SECRET", c.LaravelSigningSecret, ""},
		{"REDIS_URL", c.RedisURL, ""},
		{"API_KEY", c.APIKey, ""},
		{"DATA_DIR", c.DataDir, "data"},
		{"OUTBOX", c.Outbox, ""},
		{"WA_DRIVER", c.Driver, config.DriverWhatsmeow},
		{"WA_STORE", c.Store, "file:data/whatsmeow.db"},
		{"WA_VERSION", c.WAVersion, [3]uint32{}},
		{"DELIVERY_MODE", c.DeliveryMode, service.DeliveryModeBatch},
		{"BATCH_SIZE", c.BatchSize, 50},
		{"BATCH_INTERVAL", c.BatchInterval, 5 * time.Second},
		{"PRIORITY_INTERVAL", c.PriorityInterval, time.Second},
		{"CACHE_TTL_QR", c.CacheTTLQR, 120 * time.Second},
		{"CACHE_TTL_STATUS", c.CacheTTLStatus, 300 * time.Second},
		{"CACHE_TTL_CONNECTION", c.CacheTTLConnection, 30 * time.Second},
		{"CACHE_TTL_SESSION", c.CacheTTLSession, 24 * time.Hour},
		{"QR_THROTTLE", c.QRThrottle, 30 * time.Second},
		{"QR_EXPIRES", c.QRExpires, 120 * time.Second},
		{"SHUTDOWN_TIMEOUT", c.ShutdownTimeout, 10 * time.Second},
		{"METRICS_PUBLIC", c.MetricsPublic, false},
		{"PPROF_ADDR", c.PprofAddr, ""},
		{"SIM_TIME_SCALE", c.SimTimeScale, 1.0},
		{"SIM_SCAN_PROBABILITY", c.SimScanProbability, 0.7},
		{"SIM_SCAN_DELAY", c.SimScanDelay, 30 * time.Second},
		{"LOG_LEVEL", c.LogLevel, slog.LevelInfo},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s default = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if !strings.HasSuffix(c.InstanceID, fmt.Sprintf("-%d", os.Getpid())) {
		t.Errorf("INSTANCE_ID default = %q, want hostname-pid", c.InstanceID)
	}
}

func TestLoadValid(t *testing.T) {
	tests := []struct {
		env   string
		check func(config.Config) any
		want  any
	}{
		{"GATEWAY_ADDR=127.0.0.1:0", func(c config.Config) any { return c.Addr }, "127.0.0.1:0"},
		{"GATEWAY_ADDR=localhost:8080", func(c config.Config) any { return c.Addr }, "localhost:8080"},
		{"GATEWAY_ADDR=[::1]:4000", func(c config.Config) any { return c.Addr }, "[::1]:4000"},
		{"LARAVEL_URL=https://app.example.com/base", func(c config.Config) any { return c.LaravelURL.Path }, "/base"},
		{"LARAVEL_TOKEN=tok", func(c config.Config) any { return c.LaravelToken }, "tok"},
		{"LARAVEL_TIMEOUT=2s", func(c config.Config) any { return c.LaravelTimeout }, 2 * time.Second},
		{"LARAVEL_SIGNING_SECRET=s3", func(c config.Config) any { return c.LaravelSigningSecret }, "s3"},
		{"REDIS_URL=redis://:pw@localhost:6379/2", func(c config.Config) any { return c.RedisURL }, "redis://:pw@localhost:6379/2"},
		{"REDIS_URL=rediss://r.example:6380", func(c config.Config) any { return c.RedisURL }, "rediss://r.example:6380"},
		{"REDIS_URL=unix:///run/redis.sock", func(c config.Config) any { return c.RedisURL }, "unix:///run/redis.sock"},
		{"API_KEY=k", func(c config.Config) any { return c.APIKey }, "k"},
		{"DATA_DIR=/var/lib/wagateway", func(c config.Config) any { return c.DataDir }, "/var/lib/wagateway"},
		// The whatsmeow file follows DATA_DIR unless WA_STORE says otherwise.
		{"DATA_DIR=/var/lib/wagateway", func(c config.Config) any { return c.Store }, "file:/var/lib/wagateway/whatsmeow.db"},
		{"OUTBOX=memory", func(c config.Config) any { return c.Outbox }, config.OutboxMemory},
		{"WA_DRIVER=sim", func(c config.Config) any { return c.Driver }, config.DriverSim},
		{"WA_STORE=postgres://u:p@db/wa", func(c config.Config) any { return c.Store }, "postgres://u:p@db/wa"},
		{"WA_STORE=file:/tmp/x.db?_pragma=foreign_keys(1)", func(c config.Config) any { return c.Store }, "file:/tmp/x.db?_pragma=foreign_keys(1)"},
		{"WA_VERSION=2.3000.1023456789", func(c config.Config) any { return c.WAVersion }, [3]uint32{2, 3000, 1023456789}},
		{"DELIVERY_MODE=direct", func(c config.Config) any { return c.DeliveryMode }, service.DeliveryModeDirect},
		{"BATCH_SIZE=1", func(c config.Config) any { return c.BatchSize }, 1},
		{"BATCH_SIZE=500", func(c config.Config) any { return c.BatchSize }, 500},
		{"BATCH_INTERVAL=10s", func(c config.Config) any { return c.BatchInterval }, 10 * time.Second},
		{"PRIORITY_INTERVAL=250ms", func(c config.Config) any { return c.PriorityInterval }, 250 * time.Millisecond},
		{"CACHE_TTL_QR=1m", func(c config.Config) any { return c.CacheTTLQR }, time.Minute},
		{"CACHE_TTL_STATUS=1m", func(c config.Config) any { return c.CacheTTLStatus }, time.Minute},
		{"CACHE_TTL_CONNECTION=1m", func(c config.Config) any { return c.CacheTTLConnection }, time.Minute},
		{"CACHE_TTL_SESSION=1h", func(c config.Config) any { return c.CacheTTLSession }, time.Hour},
		{"QR_THROTTLE=0", func(c config.Config) any { return c.QRThrottle }, time.Duration(0)},
		{"QR_EXPIRES=90s", func(c config.Config) any { return c.QRExpires }, 90 * time.Second},
		{"INSTANCE_ID=gw-1.eu", func(c config.Config) any { return c.InstanceID }, "gw-1.eu"},
		{"SHUTDOWN_TIMEOUT=30s", func(c config.Config) any { return c.ShutdownTimeout }, 30 * time.Second},
		{"METRICS_PUBLIC=true", func(c config.Config) any { return c.MetricsPublic }, true},
		{"PPROF_ADDR=127.0.0.1:6060", func(c config.Config) any { return c.PprofAddr }, "127.0.0.1:6060"},
		{"PPROF_ADDR=127.0.0.2:0", func(c config.Config) any { return c.PprofAddr }, "127.0.0.2:0"},
		{"PPROF_ADDR=[::1]:6060", func(c config.Config) any { return c.PprofAddr }, "[::1]:6060"},
		{"PPROF_ADDR=localhost:6060", func(c config.Config) any { return c.PprofAddr }, "localhost:6060"},
		{"SIM_TIME_SCALE=60", func(c config.Config) any { return c.SimTimeScale }, 60.0},
		{"SIM_SCAN_PROBABILITY=0", func(c config.Config) any { return c.SimScanProbability }, 0.0},
		{"SIM_SCAN_PROBABILITY=1", func(c config.Config) any { return c.SimScanProbability }, 1.0},
		{"SIM_SCAN_DELAY=0", func(c config.Config) any { return c.SimScanDelay }, time.Duration(0)},
		{"LOG_LEVEL=debug", func(c config.Config) any { return c.LogLevel }, slog.LevelDebug},
		{"LOG_LEVEL=WARN", func(c config.Config) any { return c.LogLevel }, slog.LevelWarn},
		{"BATCH_SIZE= 20 ", func(c config.Config) any { return c.BatchSize }, 20},
		{"REDIS_URL=redis-sentinel://s1:26379,s2:26379/0?master=gw", func(c config.Config) any { return c.RedisURL }, "redis-sentinel://s1:26379,s2:26379/0?master=gw"},
		{"REDIS_URL=redis-cluster://n1:7000,n2:7001", func(c config.Config) any { return c.RedisURL }, "redis-cluster://n1:7000,n2:7001"},
		{"REDIS_CLUSTER_ADDRS=n1:7000, n2:7001", func(c config.Config) any { return c.RedisURL }, "redis-cluster://n1:7000,n2:7001"},
		{"LEASE_TTL=3s", func(c config.Config) any { return c.LeaseTTL }, 3 * time.Second},
		{"MAX_SESSIONS=500", func(c config.Config) any { return c.MaxSessions }, 500},
		{"ADVERTISE_URL=http://10.0.0.5:4000/", func(c config.Config) any { return c.AdvertiseURL }, "http://10.0.0.5:4000"},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			c, err := config.Load(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.check(c); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		env     []string
		bad     string // variable the error must name
		allowed string // part of the "want …" text
	}{
		{[]string{"GATEWAY_ADDR=bogus"}, "GATEWAY_ADDR", "host:port"},
		{[]string{"GATEWAY_ADDR=:99999"}, "GATEWAY_ADDR", "port 0-65535"},
		{[]string{"GATEWAY_ADDR=:http"}, "GATEWAY_ADDR", "host:port"},
		{[]string{"GATEWAY_ADDR=bad_host!:80"}, "GATEWAY_ADDR", "host:port"},
		{[]string{"LARAVEL_URL=localhost:8000"}, "LARAVEL_URL", "http://"},
		{[]string{"LARAVEL_URL=ftp://x"}, "LARAVEL_URL", "http://"},
		{[]string{"LARAVEL_URL=http://"}, "LARAVEL_URL", "http://"},
		{[]string{"LARAVEL_URL=http://[::1"}, "LARAVEL_URL", "http://"},
		{[]string{"LARAVEL_TIMEOUT=0"}, "LARAVEL_TIMEOUT", "duration > 0"},
		{[]string{"REDIS_URL=localhost:6379"}, "REDIS_URL", "redis://"},
		{[]string{"REDIS_URL=http://localhost"}, "REDIS_URL", "redis://"},
		{[]string{"REDIS_URL=redis-sentinel://s1:26379"}, "REDIS_URL", "master=NAME"},
		{[]string{"REDIS_URL=redis-cluster://n1"}, "REDIS_URL", "redis-cluster://"},
		{[]string{"REDIS_URL=redis://x:1", "REDIS_CLUSTER_ADDRS=n1:7000"}, "REDIS_URL", "only one of"},
		{[]string{"REDIS_CLUSTER_ADDRS=n1"}, "REDIS_CLUSTER_ADDRS", "host:port"},
		{[]string{"REDIS_SENTINEL_ADDRS=s1:26379"}, "REDIS_SENTINEL_MASTER", "master name"},
		{[]string{"LEASE_TTL=500ms"}, "LEASE_TTL", "at least 1s"},
		{[]string{"MAX_SESSIONS=-1"}, "MAX_SESSIONS", "integer from 0"},
		{[]string{"ADVERTISE_URL=10.0.0.5:4000"}, "ADVERTISE_URL", "http://"},
		{[]string{"WA_DRIVER=whatsapp"}, "WA_DRIVER", "whatsmeow, sim"},
		{[]string{"WA_STORE=data/wa.db"}, "WA_STORE", "file:"},
		{[]string{"WA_STORE=mysql://db/wa"}, "WA_STORE", "postgres://"},
		{[]string{"WA_VERSION=2.3000"}, "WA_VERSION", "2.3000."},
		{[]string{"WA_VERSION=2.3000.x"}, "WA_VERSION", "2.3000."},
		{[]string{"WA_VERSION=2.3000.99999999999"}, "WA_VERSION", "2.3000."},
		{[]string{"DELIVERY_MODE=bulk"}, "DELIVERY_MODE", "batch, direct"},
		{[]string{"BATCH_SIZE=0"}, "BATCH_SIZE", "1 to 500"},
		{[]string{"BATCH_SIZE=501"}, "BATCH_SIZE", "1 to 500"},
		{[]string{"BATCH_SIZE=ten"}, "BATCH_SIZE", "1 to 500"},
		{[]string{"OUTBOX=redis"}, "OUTBOX", "one of memory"},
		{[]string{"OUTBOX=memory", "REDIS_URL=redis://localhost:6379/0"}, "OUTBOX", "empty when REDIS_URL is set"},
		{[]string{"BATCH_INTERVAL=5"}, "BATCH_INTERVAL", "duration > 0"},
		{[]string{"BATCH_INTERVAL=0s"}, "BATCH_INTERVAL", "duration > 0"},
		{[]string{"BATCH_INTERVAL=-1s"}, "BATCH_INTERVAL", "duration > 0"},
		{[]string{"PRIORITY_INTERVAL=5s"}, "PRIORITY_INTERVAL", "shorter than BATCH_INTERVAL"},
		{[]string{"PRIORITY_INTERVAL=2s", "BATCH_INTERVAL=1s"}, "PRIORITY_INTERVAL", "shorter than BATCH_INTERVAL (1s)"},
		{[]string{"PRIORITY_INTERVAL=abc"}, "PRIORITY_INTERVAL", "duration > 0"},
		{[]string{"CACHE_TTL_QR=2 minutes"}, "CACHE_TTL_QR", "duration > 0"},
		{[]string{"CACHE_TTL_STATUS=0"}, "CACHE_TTL_STATUS", "duration > 0"},
		{[]string{"CACHE_TTL_CONNECTION=x"}, "CACHE_TTL_CONNECTION", "duration > 0"},
		{[]string{"CACHE_TTL_SESSION=1d"}, "CACHE_TTL_SESSION", "duration > 0"},
		{[]string{"QR_THROTTLE=-5s"}, "QR_THROTTLE", "duration ≥ 0"},
		{[]string{"QR_EXPIRES=0"}, "QR_EXPIRES", "duration > 0"},
		{[]string{"INSTANCE_ID=has space"}, "INSTANCE_ID", "1-64 characters"},
		{[]string{"INSTANCE_ID=" + strings.Repeat("a", 65)}, "INSTANCE_ID", "1-64 characters"},
		{[]string{"SHUTDOWN_TIMEOUT=soon"}, "SHUTDOWN_TIMEOUT", "duration > 0"},
		{[]string{"METRICS_PUBLIC=yes"}, "METRICS_PUBLIC", "true or false"},
		{[]string{"PPROF_ADDR=:6060"}, "PPROF_ADDR", "loopback listen address"},
		{[]string{"PPROF_ADDR=0.0.0.0:6060"}, "PPROF_ADDR", "loopback listen address"},
		{[]string{"PPROF_ADDR=[::]:6060"}, "PPROF_ADDR", "loopback listen address"},
		{[]string{"PPROF_ADDR=10.0.0.5:6060"}, "PPROF_ADDR", "loopback listen address"},
		{[]string{"PPROF_ADDR=gateway.internal:6060"}, "PPROF_ADDR", "loopback listen address"},
		{[]string{"PPROF_ADDR=127.0.0.1"}, "PPROF_ADDR", "loopback listen address"},
		{[]string{"PPROF_ADDR=127.0.0.1:99999"}, "PPROF_ADDR", "loopback listen address"},
		{[]string{"SIM_TIME_SCALE=0"}, "SIM_TIME_SCALE", "number > 0"},
		{[]string{"SIM_TIME_SCALE=-2"}, "SIM_TIME_SCALE", "number > 0"},
		{[]string{"SIM_TIME_SCALE=NaN"}, "SIM_TIME_SCALE", "number > 0"},
		{[]string{"SIM_SCAN_PROBABILITY=1.5"}, "SIM_SCAN_PROBABILITY", "0.0 to 1.0"},
		{[]string{"SIM_SCAN_PROBABILITY=-0.1"}, "SIM_SCAN_PROBABILITY", "0.0 to 1.0"},
		{[]string{"SIM_SCAN_DELAY=later"}, "SIM_SCAN_DELAY", "duration ≥ 0"},
		{[]string{"LOG_LEVEL=verbose"}, "LOG_LEVEL", "debug, info, warn, error"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.env, ","), func(t *testing.T) {
			_, err := config.Load(env(tc.env...))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Var != tc.bad {
				t.Fatalf("error %q does not name %s first", msg, tc.bad)
			}
			if name, value, _ := strings.Cut(tc.env[0], "="); name == tc.bad && !strings.Contains(msg, fmt.Sprintf("%q", value)) {
				t.Errorf("error %q does not quote the value %q", msg, value)
			}
			if !strings.Contains(msg, tc.allowed) {
				t.Errorf("error %q does not say what is allowed (%q)", msg, tc.allowed)
			}
		})
	}
}

func TestLoadReportsEveryBadVariableOnOneLine(t *testing.T) {
	_, err := config.Load(env("GATEWAY_ADDR=bogus", "BATCH_SIZE=0", "WA_DRIVER=x"))
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want config.Errors", err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Var)
	}
	if got := strings.Join(names, ","); got != "GATEWAY_ADDR,WA_DRIVER,BATCH_SIZE" {
		t.Errorf("variables named = %s", got)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}
}

func TestLogValueRedactsSecrets(t *testing.T) {
	c, err := config.Load(env(
		"LARAVEL_URL=https://user:urlsecret@laravel.test",
		"LARAVEL_TOKEN=tokensecret",
		"LARAVEL_SIGNING_SECRET=signsecret",
		"REDIS_URL=redis://:redissecret@localhost:6379/0",
		"API_KEY=apisecret",
		"WA_STORE=postgres://wa:storesecret@db/wa",
	))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	out := b.String()
	for _, secret := range []string{"urlsecret", "tokensecret", "signsecret", "redissecret", "apisecret", "storesecret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %s: %s", secret, out)
		}
	}
	for _, want := range []string{`"API_KEY_set":true`, `"BATCH_SIZE":50`, `"REDIS_URL":"redis://:xxxxx@localhost:6379/0"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
}

// Load with nothing set is Default: the defaults are spelled once.
func TestLoadEmptyIsDefault(t *testing.T) {
	c, err := config.Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if d := config.Default(); !reflect.DeepEqual(c, d) {
		t.Errorf("Load(empty) = %+v\nDefault() = %+v", c, d)
	}
}

func TestOperationsSettings(t *testing.T) {
	env := map[string]string{
		"DEAD_LETTER_MAX": "20", "DEAD_LETTER_MAX_AGE": "1h",
		"ALERT_WEBHOOK_URL": "https://hooks.example.test/T0/secret", "ALERT_AFTER": "30s",
		"HISTORY_MAX": "5", "HISTORY_MAX_AGE": "24h",
	}
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.DeadLetterMax != 20 || c.DeadLetterMaxAge != time.Hour || c.AlertWebhookURL.String() != env["ALERT_WEBHOOK_URL"] ||
		c.AlertAfter != 30*time.Second || c.HistoryMax != 5 || c.HistoryMaxAge != 24*time.Hour {
		t.Fatalf("loaded %+v", c)
	}
	if d := config.Default(); d.AlertWebhookURL != nil || d.DeadLetterMax != 10_000 || d.HistoryMax != 50 {
		t.Fatalf("defaults: %+v", d)
	}
	_, err = config.Load(func(k string) string {
		return map[string]string{"ALERT_WEBHOOK_URL": "ftp://x/secret", "DEAD_LETTER_MAX": "0", "ALERT_AFTER": "-1s"}[k]
	})
	for _, v := range []string{"ALERT_WEBHOOK_URL", "DEAD_LETTER_MAX", "ALERT_AFTER"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("bad %s not reported: %v", v, err)
		}
	}
}
