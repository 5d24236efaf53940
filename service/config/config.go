// Package config reads the gateway's settings from the environment, applies
// the defaults of Default and rejects bad values before anything starts.
//
// It must never start anything or reach the network: it only parses.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wagateway/service"
)

// WA_DRIVER values.
const (
	DriverWhatsmeow = "whatsmeow" // real WhatsApp
	DriverSim       = "sim"       // simulated phones (demo, e2e, load tests)
)

// OutboxMemory is OUTBOX=memory: outbox, L2 cache and leases in process
// memory, lost with it (tests, throw-away demos).
const OutboxMemory = "memory"

// MaxBatchSize is the largest BATCH_SIZE accepted: Laravel's validator (and
// the pact pinning it) refuses a batch of more than 500 items with a 422, so a
// bigger setting would turn every full batch into dead letters.
const MaxBatchSize = 500

// Config is every gateway setting, typed and validated.
type Config struct {
	Addr string // GATEWAY_ADDR, host:port to listen on

	LaravelURL           *url.URL      // LARAVEL_URL
	LaravelToken         string        // LARAVEL_TOKEN, sent as Authorization: Bearer
	LaravelTimeout       time.Duration // LARAVEL_TIMEOUT, per request
	LaravelSigningSecret string        // LARAVEL_SIGNING_SECRET, empty = requests unsigned

	// RedisURL is REDIS_URL (redis://, rediss://, unix://, redis-sentinel://,
	// redis-cluster://), or built from REDIS_CLUSTER_ADDRS or
	// REDIS_SENTINEL_ADDRS + REDIS_SENTINEL_MASTER; empty = the embedded
	// store in DataDir (or memory, see Outbox).
	RedisURL string
	APIKey   string // API_KEY, empty = API open

	// DataDir (DATA_DIR) holds the embedded durable store (outbox, L2 cache,
	// leases) when there is no Redis, and the default WA_STORE file.
	DataDir string
	// Outbox (OUTBOX) is "" (Redis with REDIS_URL, else the embedded store
	// in DataDir) or OutboxMemory.
	Outbox string

	Driver    string    // WA_DRIVER: DriverWhatsmeow or DriverSim
	Store     string    // WA_STORE: file:… SQLite DSN or postgres:// URL
	WAVersion [3]uint32 // WA_VERSION, zero = whatsmeow's built-in version

	DeliveryMode     service.DeliveryMode // DELIVERY_MODE
	BatchSize        int                  // BATCH_SIZE, items per Laravel request
	BatchInterval    time.Duration        // BATCH_INTERVAL, NORMAL lane flush period
	PriorityInterval time.Duration        // PRIORITY_INTERVAL, HIGH lane flush period

	CacheTTLQR         time.Duration // CACHE_TTL_QR
	CacheTTLStatus     time.Duration // CACHE_TTL_STATUS
	CacheTTLConnection time.Duration // CACHE_TTL_CONNECTION
	CacheTTLSession    time.Duration // CACHE_TTL_SESSION

	QRThrottle time.Duration // QR_THROTTLE, 0 = no throttle
	QRExpires  time.Duration // QR_EXPIRES

	InstanceID string // INSTANCE_ID, owner name for leases
	// AdvertiseURL is ADVERTISE_URL: how the other instances reach this one
	// (forwarded requests); empty = http://<this host>:<GATEWAY_ADDR port>.
	AdvertiseURL    string
	MaxSessions     int           // MAX_SESSIONS, sessions one instance runs at most; 0 = unlimited
	LeaseTTL        time.Duration // LEASE_TTL: how long a dead instance keeps its sessions; renewed every third
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT, deadline for the final flush
	MetricsPublic   bool          // METRICS_PUBLIC, /metrics without API_KEY
	PprofAddr       string        // PPROF_ADDR, loopback host:port for net/http/pprof, empty = off

	SimTimeScale       float64       // SIM_TIME_SCALE, >0; compresses the QR schedule
	SimScanProbability float64       // SIM_SCAN_PROBABILITY, 0..1
	SimScanDelay       time.Duration // SIM_SCAN_DELAY, max random delay before a simulated scan

	LogLevel slog.Level // LOG_LEVEL

	DeadLetterMax    int           // DEAD_LETTER_MAX, dead letters kept (the oldest go first)
	DeadLetterMaxAge time.Duration // DEAD_LETTER_MAX_AGE, dead letters older than this go

	AlertWebhookURL *url.URL      // ALERT_WEBHOOK_URL, nil = no failure notices
	AlertAfter      time.Duration // ALERT_AFTER, a lane delivering nothing this long while items wait is notified

	HistoryMax    int           // HISTORY_MAX, status changes kept per session
	HistoryMaxAge time.Duration // HISTORY_MAX_AGE, status changes older than this go

	// Settings without an environment variable: fixed by the design, kept
	// here so each has one home.
	BackoffBase time.Duration // the first retry of a failed Laravel request waits up to this
	BackoffMax  time.Duration // no retry waits longer, unless Laravel's Retry-After says so
}

// Default is every setting at its documented default: the one place a
// default is spelled. Load starts from it; the load test and the docs read it.
func Default() Config {
	return Config{
		Addr: ":4000",

		LaravelURL:     &url.URL{Scheme: "http", Host: "localhost:8000"},
		LaravelTimeout: 10 * time.Second,

		DataDir: "data",

		Driver: DriverWhatsmeow,
		Store:  storeIn("data"),

		DeliveryMode:     service.DeliveryModeBatch,
		BatchSize:        50,
		BatchInterval:    5 * time.Second,
		PriorityInterval: time.Second,

		CacheTTLQR:         120 * time.Second,
		CacheTTLStatus:     300 * time.Second,
		CacheTTLConnection: 30 * time.Second,
		CacheTTLSession:    24 * time.Hour,

		QRThrottle: 30 * time.Second,
		QRExpires:  120 * time.Second,

		InstanceID:      defaultInstanceID(),
		ShutdownTimeout: 10 * time.Second,

		SimTimeScale:       1.0,
		SimScanProbability: 0.7,
		SimScanDelay:       30 * time.Second,

		LogLevel: slog.LevelInfo,

		DeadLetterMax:    10_000,
		DeadLetterMaxAge: 7 * 24 * time.Hour,

		AlertAfter: 2 * time.Minute,

		HistoryMax:    50,
		HistoryMaxAge: 30 * 24 * time.Hour,

		LeaseTTL:    30 * time.Second,
		BackoffBase: 500 * time.Millisecond,
		BackoffMax:  30 * time.Second,
	}
}

// FromEnv is Load on the process environment.
func FromEnv() (Config, error) { return Load(os.Getenv) }

// Load reads every setting through getenv (empty = default). All bad values
// are reported together in one error line, so one start-up shows them all.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	d := Default()
	dataDir := r.str("DATA_DIR", d.DataDir)
	c := Config{
		Addr: r.addr("GATEWAY_ADDR", d.Addr),

		LaravelURL:           r.httpURL("LARAVEL_URL", d.LaravelURL.String()),
		LaravelToken:         r.str("LARAVEL_TOKEN", d.LaravelToken),
		LaravelTimeout:       r.positiveDuration("LARAVEL_TIMEOUT", d.LaravelTimeout),
		LaravelSigningSecret: r.str("LARAVEL_SIGNING_SECRET", d.LaravelSigningSecret),

		RedisURL: r.redisTopology(r.redisURL("REDIS_URL")),
		APIKey:   r.str("API_KEY", d.APIKey),
		DataDir:  dataDir,
		Outbox:   r.enum("OUTBOX", d.Outbox, OutboxMemory),

		Driver:    r.enum("WA_DRIVER", d.Driver, DriverWhatsmeow, DriverSim),
		Store:     r.store("WA_STORE", storeIn(dataDir)),
		WAVersion: r.waVersion("WA_VERSION"),

		DeliveryMode: service.DeliveryMode(r.enum("DELIVERY_MODE", string(d.DeliveryMode),
			string(service.DeliveryModeBatch), string(service.DeliveryModeDirect))),
		BatchSize:        r.intRange("BATCH_SIZE", d.BatchSize, 1, MaxBatchSize),
		BatchInterval:    r.positiveDuration("BATCH_INTERVAL", d.BatchInterval),
		PriorityInterval: r.positiveDuration("PRIORITY_INTERVAL", d.PriorityInterval),

		CacheTTLQR:         r.positiveDuration("CACHE_TTL_QR", d.CacheTTLQR),
		CacheTTLStatus:     r.positiveDuration("CACHE_TTL_STATUS", d.CacheTTLStatus),
		CacheTTLConnection: r.positiveDuration("CACHE_TTL_CONNECTION", d.CacheTTLConnection),
		CacheTTLSession:    r.positiveDuration("CACHE_TTL_SESSION", d.CacheTTLSession),

		QRThrottle: r.duration("QR_THROTTLE", d.QRThrottle),
		QRExpires:  r.positiveDuration("QR_EXPIRES", d.QRExpires),

		InstanceID:      r.instanceID("INSTANCE_ID", d.InstanceID),
		AdvertiseURL:    r.baseURL("ADVERTISE_URL"),
		MaxSessions:     r.intRange("MAX_SESSIONS", d.MaxSessions, 0, 10_000_000),
		LeaseTTL:        r.leaseTTL("LEASE_TTL", d.LeaseTTL),
		ShutdownTimeout: r.positiveDuration("SHUTDOWN_TIMEOUT", d.ShutdownTimeout),
		MetricsPublic:   r.boolean("METRICS_PUBLIC", d.MetricsPublic),
		PprofAddr:       r.loopbackAddr("PPROF_ADDR"),

		SimTimeScale:       r.positiveFloat("SIM_TIME_SCALE", d.SimTimeScale),
		SimScanProbability: r.probability("SIM_SCAN_PROBABILITY", d.SimScanProbability),
		SimScanDelay:       r.duration("SIM_SCAN_DELAY", d.SimScanDelay),

		LogLevel: r.logLevel("LOG_LEVEL", d.LogLevel),

		DeadLetterMax:    r.intRange("DEAD_LETTER_MAX", d.DeadLetterMax, 1, 10_000_000),
		DeadLetterMaxAge: r.positiveDuration("DEAD_LETTER_MAX_AGE", d.DeadLetterMaxAge),

		AlertWebhookURL: r.optionalHTTPURL("ALERT_WEBHOOK_URL"),
		AlertAfter:      r.positiveDuration("ALERT_AFTER", d.AlertAfter),

		HistoryMax:    r.intRange("HISTORY_MAX", d.HistoryMax, 1, 10_000),
		HistoryMaxAge: r.positiveDuration("HISTORY_MAX_AGE", d.HistoryMaxAge),

		BackoffBase: d.BackoffBase,
		BackoffMax:  d.BackoffMax,
	}
	// Cross-field rule: the HIGH lane must flush more often than the NORMAL one.
	if r.ok("PRIORITY_INTERVAL") && r.ok("BATCH_INTERVAL") && c.PriorityInterval >= c.BatchInterval {
		r.fail("PRIORITY_INTERVAL", c.PriorityInterval.String(),
			fmt.Sprintf("a duration shorter than BATCH_INTERVAL (%s)", c.BatchInterval))
	}
	if c.Outbox == OutboxMemory && c.RedisURL != "" {
		r.fail("OUTBOX", c.Outbox, "empty when REDIS_URL is set (memory and Redis exclude each other)")
	}
	if len(r.errs) > 0 {
		return Config{}, r.errs
	}
	return c, nil
}

// Error is one rejected setting.
type Error struct {
	Var     string // environment variable
	Value   string // the value given
	Allowed string // what would have been accepted
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s=%q is invalid: want %s", e.Var, e.Value, e.Allowed)
}

// Errors is every rejected setting of one Load, printed on one line.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return "config: " + strings.Join(msgs, "; ")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// storeIn is the default WA_STORE: the whatsmeow SQLite file in dataDir.
func storeIn(dataDir string) string {
	return "file:" + filepath.Join(dataDir, "whatsmeow.db")
}
