package loadtest

import (
	"math"
	"strconv"
	"time"

	"wagateway/service"
	"wagateway/service/config"
)

// defaults are the gateway's own (config.Default in service/config/config.go).
var defaults = config.Default()

// realIntervals are the gateway's real-time defaults that the time scale
// compresses; a compressed run keeps every ratio between them and the
// workload, so the request reduction it measures is not inflated.
var realIntervals = []struct {
	Env string
	D   time.Duration
}{
	{"BATCH_INTERVAL", defaults.BatchInterval},
	{"PRIORITY_INTERVAL", defaults.PriorityInterval},
	{"QR_EXPIRES", defaults.QRExpires}, // an unscanned session's last event
	{"QR_THROTTLE", defaults.QRThrottle},
	{"CACHE_TTL_QR", defaults.CacheTTLQR},
	{"CACHE_TTL_STATUS", defaults.CacheTTLStatus},
	{"CACHE_TTL_CONNECTION", defaults.CacheTTLConnection},
}

// Settings are the gateway settings of a run at one time scale.
type Settings struct {
	TimeScale float64 `json:"time_scale"`
	BatchSize int     `json:"batch_size"`
	// Scaled maps each compressed env var to the value the gateway got.
	Scaled map[string]string `json:"scaled"`
}

// NewSettings compresses the gateway's intervals by scale (1 = real time).
func NewSettings(scale float64, batchSize int) Settings {
	if scale <= 0 {
		scale = 1
	}
	s := Settings{TimeScale: scale, BatchSize: batchSize, Scaled: map[string]string{}}
	for _, iv := range realIntervals {
		s.Scaled[iv.Env] = durationEnv(Scale(iv.D, scale))
	}
	return s
}

// Interval returns a scaled interval by env name.
func (s Settings) Interval(env string) time.Duration {
	d, _ := time.ParseDuration(s.Scaled[env])
	return d
}

// LaneIntervals are the flush intervals per lane, scaled.
func (s Settings) LaneIntervals() map[service.Lane]time.Duration {
	return map[service.Lane]time.Duration{
		service.LaneHigh:   s.Interval("PRIORITY_INTERVAL"),
		service.LaneNormal: s.Interval("BATCH_INTERVAL"),
	}
}

// Env is the gateway's environment for mode; the sim never scans by itself
// (SIM_SCAN_PROBABILITY=0): the seeded plan scans, identically in both modes.
// With redisURL empty the gateway runs on its embedded store in dataDir.
func (s Settings) Env(mode service.DeliveryMode, addr, laravelURL, redisURL, store, dataDir string) []string {
	env := []string{
		"GATEWAY_ADDR=" + addr,
		"LARAVEL_URL=" + laravelURL,
		"REDIS_URL=" + redisURL,
		"DATA_DIR=" + dataDir,
		"WA_DRIVER=sim",
		"WA_STORE=" + store,
		"DELIVERY_MODE=" + string(mode),
		"BATCH_SIZE=" + strconv.Itoa(s.BatchSize),
		"SIM_TIME_SCALE=" + strconv.FormatFloat(s.TimeScale, 'f', -1, 64),
		"SIM_SCAN_PROBABILITY=0",
		"SIM_SCAN_DELAY=0s",
		"METRICS_PUBLIC=true",
		// Info logs cost a line per event; the run measures delivery, not logging.
		"LOG_LEVEL=warn",
	}
	for _, iv := range realIntervals {
		env = append(env, iv.Env+"="+s.Scaled[iv.Env])
	}
	return env
}

// durationEnv writes d in whole milliseconds (at least 1 ms) so the
// gateway's parser and a human read the same value.
func durationEnv(d time.Duration) string {
	ms := max(int64(math.Round(float64(d)/float64(time.Millisecond))), 1)
	return (time.Duration(ms) * time.Millisecond).String()
}
