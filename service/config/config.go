// Package config reads the gateway's settings from the environment, applies
// the documented defaults and rejects bad values before anything starts.
//
// It must never start anything or reach the network: it only parses.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// WA_DRIVER values.
const (
	DriverWhatsmeow = "whatsmeow" // real WhatsApp
	DriverSim       = "sim"       // simulated phones (demo, e2e, load tests)
)

// DELIVERY_MODE values.
const (
	DeliveryBatch  = "batch"  // coalesced batches through the outbox
	DeliveryDirect = "direct" // one Laravel request per event (the old behaviour, for comparison)
)

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

	RedisURL string // REDIS_URL, empty = embedded in-memory cache and outbox (not durable)
	APIKey   string // API_KEY, empty = API open

	Driver    string    // WA_DRIVER: DriverWhatsmeow or DriverSim
	Store     string    // WA_STORE: file:… SQLite DSN or postgres:// URL
	WAVersion [3]uint32 // WA_VERSION, zero = whatsmeow's built-in version

	DeliveryMode     string        // DELIVERY_MODE: DeliveryBatch or DeliveryDirect
	BatchSize        int           // BATCH_SIZE, items per Laravel request
	BatchInterval    time.Duration // BATCH_INTERVAL, NORMAL lane flush period
	PriorityInterval time.Duration // PRIORITY_INTERVAL, HIGH lane flush period

	CacheTTLQR         time.Duration // CACHE_TTL_QR
	CacheTTLStatus     time.Duration // CACHE_TTL_STATUS
	CacheTTLConnection time.Duration // CACHE_TTL_CONNECTION
	CacheTTLSession    time.Duration // CACHE_TTL_SESSION

	QRThrottle time.Duration // QR_THROTTLE, 0 = no throttle
	QRExpires  time.Duration // QR_EXPIRES

	InstanceID      string        // INSTANCE_ID, owner name for leases
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT, deadline for the final flush
	MetricsPublic   bool          // METRICS_PUBLIC, /metrics without API_KEY

	SimTimeScale       float64       // SIM_TIME_SCALE, >0; compresses the QR schedule
	SimScanProbability float64       // SIM_SCAN_PROBABILITY, 0..1
	SimScanDelay       time.Duration // SIM_SCAN_DELAY, max random delay before a simulated scan

	LogLevel slog.Level // LOG_LEVEL
}

// FromEnv is Load on the process environment.
func FromEnv() (Config, error) { return Load(os.Getenv) }

// Load reads every setting through getenv (empty = default). All bad values
// are reported together in one error line, so one start-up shows them all.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		Addr: r.addr("GATEWAY_ADDR", ":4000"),

		LaravelURL:           r.httpURL("LARAVEL_URL", "http://localhost:8000"),
		LaravelToken:         r.str("LARAVEL_TOKEN", ""),
		LaravelTimeout:       r.positiveDuration("LARAVEL_TIMEOUT", 10*time.Second),
		LaravelSigningSecret: r.str("LARAVEL_SIGNING_SECRET", ""),

		RedisURL: r.redisURL("REDIS_URL"),
		APIKey:   r.str("API_KEY", ""),

		Driver:    r.enum("WA_DRIVER", DriverWhatsmeow, DriverWhatsmeow, DriverSim),
		Store:     r.store("WA_STORE", "file:data/whatsmeow.db"),
		WAVersion: r.waVersion("WA_VERSION"),

		DeliveryMode:     r.enum("DELIVERY_MODE", DeliveryBatch, DeliveryBatch, DeliveryDirect),
		BatchSize:        r.intRange("BATCH_SIZE", 50, 1, MaxBatchSize),
		BatchInterval:    r.positiveDuration("BATCH_INTERVAL", 5*time.Second),
		PriorityInterval: r.positiveDuration("PRIORITY_INTERVAL", time.Second),

		CacheTTLQR:         r.positiveDuration("CACHE_TTL_QR", 120*time.Second),
		CacheTTLStatus:     r.positiveDuration("CACHE_TTL_STATUS", 300*time.Second),
		CacheTTLConnection: r.positiveDuration("CACHE_TTL_CONNECTION", 30*time.Second),
		CacheTTLSession:    r.positiveDuration("CACHE_TTL_SESSION", 24*time.Hour),

		QRThrottle: r.duration("QR_THROTTLE", 30*time.Second),
		QRExpires:  r.positiveDuration("QR_EXPIRES", 120*time.Second),

		InstanceID:      r.instanceID("INSTANCE_ID"),
		ShutdownTimeout: r.positiveDuration("SHUTDOWN_TIMEOUT", 10*time.Second),
		MetricsPublic:   r.boolean("METRICS_PUBLIC", false),

		SimTimeScale:       r.positiveFloat("SIM_TIME_SCALE", 1.0),
		SimScanProbability: r.probability("SIM_SCAN_PROBABILITY", 0.7),
		SimScanDelay:       r.duration("SIM_SCAN_DELAY", 30*time.Second),

		LogLevel: r.logLevel("LOG_LEVEL", slog.LevelInfo),
	}
	// Cross-field rule: the HIGH lane must flush more often than the NORMAL one.
	if r.ok("PRIORITY_INTERVAL") && r.ok("BATCH_INTERVAL") && c.PriorityInterval >= c.BatchInterval {
		r.fail("PRIORITY_INTERVAL", c.PriorityInterval.String(),
			fmt.Sprintf("a duration shorter than BATCH_INTERVAL (%s)", c.BatchInterval))
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
