package mocklaravel

import (
	"math"
	"sort"
	"sync"
	"time"
)

// Stats is GET /__mock/stats: what the /api endpoints received since the
// start or the last reset.
type Stats struct {
	// Endpoints is keyed "METHOD /path" as routed, e.g. "POST /api/qr/batch",
	// "GET /api/whatsapp/status/{sessionId}"; "unmatched" collects 404/405s.
	Endpoints map[string]EndpointStats `json:"endpoints"`
	Requests  int64                    `json:"requests"`
	Items     int64                    `json:"items"`
	Bytes     int64                    `json:"bytes"`
	Replays   int64                    `json:"replays"`
	// IdempotencyKeys is how many distinct Idempotency-Key values are remembered.
	IdempotencyKeys int `json:"idempotency_keys"`
	// PerSecond is requests and items per wall-clock second over the last
	// PerSecondWindow seconds that saw traffic, oldest first.
	PerSecond []SecondStats `json:"per_second"`
	StartedAt int64         `json:"started_at"` // unix ms of the start or last reset
}

// EndpointStats counts one endpoint.
type EndpointStats struct {
	Requests int64 `json:"requests"`
	Items    int64 `json:"items"` // items in requests that were parsed (batch length, 1 for singles)
	Bytes    int64 `json:"bytes"` // request body bytes read
	Updated  int64 `json:"updated"`
	Failed   int64 `json:"failed"`
	// Status counts answers by HTTP status; JSON keys are strings ("200").
	Status    map[int]int64 `json:"status"`
	LatencyMS Latency       `json:"latency_ms"`
	Replays   int64         `json:"replays"`  // requests whose Idempotency-Key this endpoint had already seen
	FirstAt   int64         `json:"first_at"` // unix ms
	LastAt    int64         `json:"last_at"`  // unix ms
}

// Latency summarises handler time in milliseconds. Percentiles come from a
// log-bucketed histogram (each bucket 4% wide), so they are within 4% of the
// exact value; Max and Mean are exact.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// SecondStats is one second of traffic.
type SecondStats struct {
	T        int64 `json:"t"` // unix seconds
	Requests int64 `json:"requests"`
	Items    int64 `json:"items"`
}

// PerSecondWindow bounds Stats.PerSecond.
const PerSecondWindow = 300

// outcome is what one /api request did, for the stats.
type outcome struct {
	key             string
	status          int
	items, bytes    int64
	updated, failed int64
	replay          bool
	latency         time.Duration
	at              time.Time
}

// statsRecorder aggregates outcomes in constant memory.
type statsRecorder struct {
	mu        sync.Mutex
	startedAt time.Time
	endpoints map[string]*endpointCounter
	total     struct{ requests, items, bytes, replays int64 }
	seconds   [PerSecondWindow]SecondStats
}

type endpointCounter struct {
	EndpointStats
	hist histogram
}

func newStatsRecorder(now time.Time) *statsRecorder {
	return &statsRecorder{startedAt: now, endpoints: map[string]*endpointCounter{}}
}

func (s *statsRecorder) reset(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startedAt, s.endpoints = now, map[string]*endpointCounter{}
	s.total = struct{ requests, items, bytes, replays int64 }{}
	s.seconds = [PerSecondWindow]SecondStats{}
}

func (s *statsRecorder) record(o outcome) {
	ms := o.at.UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.endpoints[o.key]
	if e == nil {
		e = &endpointCounter{EndpointStats: EndpointStats{Status: map[int]int64{}, FirstAt: ms}}
		s.endpoints[o.key] = e
	}
	e.Requests++
	e.Items += o.items
	e.Bytes += o.bytes
	e.Updated += o.updated
	e.Failed += o.failed
	e.Status[o.status]++
	e.LastAt = max(e.LastAt, ms)
	e.FirstAt = min(e.FirstAt, ms)
	e.hist.observe(o.latency)
	s.total.requests++
	s.total.items += o.items
	s.total.bytes += o.bytes
	if o.replay {
		e.Replays++
		s.total.replays++
	}
	sec := o.at.Unix()
	slot := &s.seconds[uint64(sec)%PerSecondWindow]
	if slot.T != sec {
		*slot = SecondStats{T: sec}
	}
	slot.Requests++
	slot.Items += o.items
}

func (s *statsRecorder) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{
		Endpoints: make(map[string]EndpointStats, len(s.endpoints)),
		Requests:  s.total.requests, Items: s.total.items, Bytes: s.total.bytes, Replays: s.total.replays,
		PerSecond: []SecondStats{},
		StartedAt: s.startedAt.UnixMilli(),
	}
	for k, e := range s.endpoints {
		es := e.EndpointStats
		es.Status = make(map[int]int64, len(e.Status))
		for code, n := range e.Status {
			es.Status[code] = n
		}
		es.LatencyMS = e.hist.summary()
		out.Endpoints[k] = es
	}
	var newest int64
	for _, sl := range s.seconds {
		newest = max(newest, sl.T)
	}
	for _, sl := range s.seconds {
		if sl.Requests > 0 && sl.T > newest-PerSecondWindow {
			out.PerSecond = append(out.PerSecond, sl)
		}
	}
	sort.Slice(out.PerSecond, func(i, j int) bool { return out.PerSecond[i].T < out.PerSecond[j].T })
	return out
}

// histogram buckets durations logarithmically from 1 µs: bucket i holds
// values up to histGrowth^i µs. 480 buckets reach 144 s; the last is open-ended.
const (
	histGrowth  = 1.04
	histBuckets = 480
)

var logHistGrowth = math.Log(histGrowth)

type histogram struct {
	counts   [histBuckets]int64
	n        int64
	sum, max time.Duration
}

func (h *histogram) observe(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = min(int(math.Ceil(math.Log(us)/logHistGrowth)), histBuckets-1)
	}
	h.counts[i]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

func (h *histogram) summary() Latency {
	if h.n == 0 {
		return Latency{}
	}
	return Latency{
		P50: h.quantile(0.50), P95: h.quantile(0.95), P99: h.quantile(0.99),
		Max:  roundMS(h.max),
		Mean: roundMS(h.sum / time.Duration(h.n)),
	}
}

// quantile returns the upper bound of the bucket holding the q-th value,
// capped at the exact maximum (which the open-ended last bucket reports).
func (h *histogram) quantile(q float64) float64 {
	rank := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && i < histBuckets-1 {
			upper := time.Duration(math.Pow(histGrowth, float64(i)) * float64(time.Microsecond))
			return roundMS(min(upper, h.max))
		}
	}
	return roundMS(h.max)
}

func roundMS(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*1000) / 1000
}
