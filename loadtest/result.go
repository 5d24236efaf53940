package loadtest

import (
	"time"

	"wagateway/service"
)

// ModeResult is what one delivery mode did with the workload.
type ModeResult struct {
	Mode     service.DeliveryMode `json:"mode"`
	Duration float64              `json:"duration_s"` // gateway ready → outbox drained
	Drained  bool                 `json:"drained"`    // every accepted event left the outbox in time

	// The gateway's counts (GET /metrics/batch).
	Events       int64 `json:"events"` // accepted into the outbox
	Sent         int64 `json:"sent"`
	Superseded   int64 `json:"superseded"`
	DeadLettered int64 `json:"dead_lettered"`
	Retries      int64 `json:"retries"`
	Failed       int64 `json:"failed"`

	// What Laravel received (GET /__mock/stats).
	LaravelRequests    int64 `json:"laravel_requests"`     // delivery POSTs (the four QR/status endpoints)
	LaravelRequestsAll int64 `json:"laravel_requests_all"` // every request, status GETs included
	LaravelItems       int64 `json:"laravel_items"`
	// Handling is the mock's handling time per delivery endpoint, in ms; with
	// the real Laravel app, PHP's own time per request (its Server-Timing).
	Handling map[string]Summary `json:"handling_ms"`
	// With the real Laravel app (Options.LaravelApp): the php -S process's
	// user+system CPU seconds over the mode, its peak RSS, and the round
	// trip per endpoint (PHP's time plus the wait for the one PHP process).
	LaravelCPUSeconds float64            `json:"laravel_cpu_s,omitempty"`
	LaravelPeakRSSMB  float64            `json:"laravel_peak_rss_mb,omitempty"`
	LaravelRoundTrip  map[string]Summary `json:"laravel_round_trip_ms,omitempty"`

	// Delivery is event time → stored in the mock, per lane, ms (in-process mock only).
	Delivery map[service.Lane]Summary `json:"delivery_ms,omitempty"`
	// Slowest lists the latest items per lane (what they were, when stored).
	Slowest map[service.Lane][]SlowItem `json:"slowest,omitempty"`
	// FlushIntervalMS is each lane's flush interval as measured in this run
	// (see MeasuredInterval), ms; never below the configured one.
	FlushIntervalMS map[service.Lane]float64 `json:"flush_interval_ms,omitempty"`
	// ItemsStored is how many distinct items the mock stored.
	ItemsStored int `json:"items_stored"`

	// LowerBound is the fewest requests an ideal batcher could have sent
	// for this mode's event timeline (see LowerBound), per lane.
	LowerBound map[service.Lane]int `json:"lower_bound,omitempty"`

	GatewayCPUPercent     float64 `json:"gateway_cpu_pct"`         // average, % of one core
	GatewayCPUPeakPercent float64 `json:"gateway_cpu_peak_pct"`    // busiest sampling second
	GatewayPeakRSSMB      float64 `json:"gateway_peak_rss_mb"`     // VmHWM
	Store                 string  `json:"store"`                   // StoreRedis, StoreEmbedded or StoreMemory
	RedisUsedMemoryMB     float64 `json:"redis_used_memory_mb"`    // highest used_memory sampled
	StoreFileMB           float64 `json:"store_file_mb,omitempty"` // embedded store: largest DATA_DIR sampled (database + WAL)
	GatewayGoroutinesPeak int64   `json:"gateway_goroutines_peak"` // go_goroutines of GET /metrics, 0 if unavailable
	GatewayFDsPeak        int64   `json:"gateway_fds_peak"`        // entries of /proc/<pid>/fd

	Reads      Summary `json:"reads_ms"` // GET /sessions/{id} under concurrent readers
	ReadErrors int64   `json:"read_errors"`

	Actions      map[ActionKind]int `json:"actions"`
	ActionErrors map[string]int     `json:"action_errors,omitempty"` // "scan: 404" → count
	ActionLag    Summary            `json:"action_lag_ms"`           // how late the generator sent its requests

	// PerSecond is delivery requests Laravel answered in each second since the gateway was ready.
	PerSecond []int     `json:"per_second"`
	Origin    time.Time `json:"origin"`
}

// Undelivered is what was accepted and neither delivered, superseded nor dead-lettered.
func (m ModeResult) Undelivered() int64 {
	return m.Events - m.Sent - m.Superseded - m.DeadLettered
}

// HandlingP99 is the worst p99 over the mock's delivery endpoints.
func (m ModeResult) HandlingP99() float64 {
	var worst float64
	for _, s := range m.Handling {
		worst = max(worst, s.P99)
	}
	return worst
}

// Where a mode's gateway kept its outbox, cache and leases.
const (
	StoreRedis    = "redis"
	StoreEmbedded = "embedded" // SQLite in DATA_DIR, the default without REDIS_URL
	StoreMemory   = "memory"   // OUTBOX=memory: in process, not durable
)
