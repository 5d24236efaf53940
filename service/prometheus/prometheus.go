// Package prometheus exposes the gateway's metrics in the Prometheus text
// format (GET /metrics) with client_golang, on a registry of its own.
//
// Counters of what happens (events accepted, requests to Laravel, items
// delivered or dead-lettered) are fed by a service.FlusherObserver and by
// thin wrappers around the Publisher and the Laravel client; gauges of what
// is (sessions, outbox depth, caches) are read from the domain at scrape
// time. It must never change what it observes: every hook only counts.
package prometheus

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wagateway/service"
)

const namespace = "wagateway"

// DefaultScrapeTimeout bounds the outbox read of one scrape.
const DefaultScrapeTimeout = 2 * time.Second

// SessionCounter counts this instance's live sessions by status; the
// session manager implements it. Counting only local sessions keeps a sum
// over instances right.
type SessionCounter interface {
	SessionsByStatus() map[service.Status]int
}

// Sources is what the scrape-time collectors read; nil parts are left out.
type Sources struct {
	Sessions SessionCounter // or later through CountSessions
	Outbox   service.Outbox
	L1       service.Cache // in-process cache
	L2       service.Cache // Redis cache; nil without Redis
	// Ready is the /ready check, read at scrape time as wagateway_ready;
	// nil leaves the gauge out.
	Ready func(ctx context.Context) error
	// Redis pings the shared store for wagateway_redis_up; nil without Redis.
	Redis func(ctx context.Context) error
	// Intervals are the lanes' flush intervals, published so alert rules can
	// speak in lane intervals; lanes left out are not published.
	Intervals map[service.Lane]time.Duration
	// ScrapeTimeout bounds Outbox.Stats and the checks; DefaultScrapeTimeout when zero.
	ScrapeTimeout time.Duration
	Clock         service.Clock // SystemClock when nil
}

// Metrics is the gateway's registry and the hooks that feed it. It is safe
// for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	accepted     *prometheus.CounterVec
	publishFails *prometheus.CounterVec
	requests     *prometheus.CounterVec
	itemsSent    *prometheus.CounterVec
	batchSize    *prometheus.HistogramVec
	delivery     *prometheus.HistogramVec
	retries      *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	responses    *prometheus.CounterVec
	laravelTime  *prometheus.HistogramVec
	closed       *prometheus.CounterVec
	deadHandled  *prometheus.CounterVec
	notices      *prometheus.CounterVec

	clock service.Clock
	// lastDelivery is the unix time (ns) of each lane's last 2xx, the start
	// time until the first one, so a lane that never delivered ages too.
	lastDelivery map[service.Lane]*atomic.Int64

	// acceptedN and requestsN give requests saved versus one request per event.
	acceptedN, requestsN atomic.Int64
}

var _ service.FlusherObserver = (*Metrics)(nil)

// New registers every metric, the scrape-time collectors over src, and the
// Go runtime and process collectors, on a new registry.
func New(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	if src.Clock == nil {
		src.Clock = service.SystemClock{}
	}
	m := &Metrics{reg: reg, clock: src.Clock, lastDelivery: map[service.Lane]*atomic.Int64{}}
	f := factory{reg}

	m.accepted = f.counter("events_accepted_total", "Events written to the outbox, by kind and lane.", "kind", "lane")
	m.publishFails = f.counter("events_publish_errors_total", "Events the outbox could not take, by kind and lane.", "kind", "lane")
	m.requests = f.counter("laravel_batches_total",
		"Requests the flusher sent to Laravel, retries included, by lane, kind, delivery mode and outcome (sent, retry, refused).",
		"lane", "kind", "mode", "outcome")
	m.itemsSent = f.counter("items_sent_total", "Items Laravel acknowledged with 2xx, by lane and kind.", "lane", "kind")
	m.batchSize = f.histogram("batch_size_items", "Items per request to Laravel.",
		[]float64{1, 2, 5, 10, 20, 30, 40, 50, 100}, "lane", "kind")
	m.delivery = f.histogram("delivery_latency_seconds", "Time from an event to Laravel's 2xx for its item.",
		[]float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 20, 30, 60, 120, 300}, "lane", "kind")
	m.retries = f.counter("laravel_retries_total", "Requests to Laravel that were retries, by lane and kind.", "lane", "kind")
	m.deadLettered = f.counter("items_dead_lettered_total", "Items Laravel refused for good, by lane and kind.", "lane", "kind")
	m.responses = f.counter("laravel_responses_total",
		`Answers from Laravel by endpoint and status code ("2xx" for a success, "none" when no answer came).`, "endpoint", "code")
	m.laravelTime = f.histogram("laravel_request_duration_seconds", "Duration of requests to Laravel, by endpoint.",
		prometheus.DefBuckets, "endpoint")
	m.closed = f.counter("sessions_closed_total",
		"Sessions that became inactive, by reason (logged_out, banned, temporary_ban, stream_replaced, … or other).", "reason")

	m.deadHandled = f.counter("dead_letters_handled_total",
		"Dead letters that left the dead-letter list, by outcome (replayed, deleted, expired by age, evicted by the cap).", "outcome")
	m.notices = f.counter("alert_notices_total",
		"Failure notices to ALERT_WEBHOOK_URL, by kind and outcome (sent, failed, dropped when the queue is full, suppressed as a duplicate or by the rate limit).",
		"kind", "outcome")
	for _, o := range DeadLetterOutcomes {
		m.deadHandled.WithLabelValues(o)
	}
	for _, k := range NoticeKinds {
		for _, o := range NoticeOutcomes {
			m.notices.WithLabelValues(k, o)
		}
	}

	// Series an alert or a panel takes increase() of exist from the start at
	// 0, so the first dead letter or logout counts (increase needs two samples).
	for _, l := range service.Lanes {
		for _, k := range []service.Kind{service.KindQR, service.KindStatus} {
			m.itemsSent.WithLabelValues(string(l), string(k))
			m.deadLettered.WithLabelValues(string(l), string(k))
			m.retries.WithLabelValues(string(l), string(k))
			m.publishFails.WithLabelValues(string(k), string(l))
		}
	}
	for _, r := range closeReasons {
		m.closed.WithLabelValues(r)
	}
	start := src.Clock.Now().UnixNano()
	for _, l := range service.Lanes {
		m.lastDelivery[l] = &atomic.Int64{}
		m.lastDelivery[l].Store(start)
	}
	lastDelivery := prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "lane_last_delivery_timestamp_seconds"),
		"Unix time of the lane's last request Laravel answered 2xx (the start time before the first).", []string{"lane"}, nil)
	reg.MustRegister(collectorFunc{[]*prometheus.Desc{lastDelivery}, func(ch chan<- prometheus.Metric) {
		for _, l := range service.Lanes {
			ch <- prometheus.MustNewConstMetric(lastDelivery, prometheus.GaugeValue,
				float64(m.lastDelivery[l].Load())/1e9, string(l))
		}
	}})
	if len(src.Intervals) > 0 {
		interval := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "lane_interval_seconds",
			Help: "The lane's flush interval (PRIORITY_INTERVAL for high, BATCH_INTERVAL for normal)."}, []string{"lane"})
		for l, d := range src.Intervals {
			interval.WithLabelValues(string(l)).Set(d.Seconds())
		}
		reg.MustRegister(interval)
	}

	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "requests_saved",
		Help: "Events accepted minus requests sent to Laravel: the requests batching saved versus one request per event.",
	}, func() float64 { return float64(m.acceptedN.Load() - m.requestsN.Load()) }))
	reg.MustRegister(newStateCollector(src))
	if src.Sessions != nil {
		m.CountSessions(src.Sessions)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CountSessions adds the sessions gauges over sc; call it once, when
// Sources.Sessions was nil (the manager is built after the metrics).
func (m *Metrics) CountSessions(sc SessionCounter) {
	m.reg.MustRegister(newSessionCollector(sc))
}

// Registry is the registry behind Handler, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector still lets the others be served.
		ErrorHandling:     promhttp.ContinueOnError,
		Timeout:           10 * time.Second,
		EnableOpenMetrics: true,
	})
}

// OnBatch counts one request of the flusher.
func (m *Metrics) OnBatch(r service.BatchReport) {
	lane, kind := string(r.Lane), string(r.Kind)
	m.requests.WithLabelValues(lane, kind, string(r.Mode), r.Outcome()).Inc()
	if last, ok := m.lastDelivery[r.Lane]; ok && r.Err == nil {
		last.Store(m.clock.Now().UnixNano())
	}
	m.batchSize.WithLabelValues(lane, kind).Observe(float64(r.Items))
	if r.Attempt > 0 {
		m.retries.WithLabelValues(lane, kind).Inc()
	}
	m.requestsN.Add(1)
}

// OnDelivered counts one acknowledged item and its event-to-2xx latency.
func (m *Metrics) OnDelivered(it service.Update, latency time.Duration) {
	m.itemsSent.WithLabelValues(string(it.Lane), string(it.Kind)).Inc()
	m.delivery.WithLabelValues(string(it.Lane), string(it.Kind)).Observe(max(latency, 0).Seconds())
}

// DeadLetterOutcomes lists every outcome of dead_letters_handled_total.
var DeadLetterOutcomes = []string{service.DeadLetterReplayed, service.DeadLetterDeleted, service.DeadLetterExpired, service.DeadLetterEvicted}

var _ service.DeadLetterObserver = (*Metrics)(nil)

// DeadLettersHandled counts n dead letters that left the list with outcome.
func (m *Metrics) DeadLettersHandled(outcome string, n int) {
	m.deadHandled.WithLabelValues(outcome).Add(float64(n))
}

// Kinds and outcomes of alert_notices_total.
var (
	NoticeKinds    = []string{service.NoticeDeadLetter, service.NoticeLaneStalled, service.NoticeLaneRecovered}
	NoticeOutcomes = []string{service.NoticeSent, service.NoticeFailed, service.NoticeDropped, service.NoticeSuppressed}
)

// Notice counts one failure notice of kind with outcome.
func (m *Metrics) Notice(kind, outcome string) {
	m.notices.WithLabelValues(kind, outcome).Inc()
}

// OnDeadLettered counts one refused item.
func (m *Metrics) OnDeadLettered(dl service.DeadLetter) {
	m.deadLettered.WithLabelValues(string(dl.Item.Lane), string(dl.Item.Kind)).Inc()
}

// Publisher wraps p to count the events it accepts.
func (m *Metrics) Publisher(p service.Publisher) service.Publisher {
	return publisher{p, m}
}

type publisher struct {
	next service.Publisher
	m    *Metrics
}

func (p publisher) Publish(ctx context.Context, it service.Update) error {
	err := p.next.Publish(ctx, it)
	if err != nil {
		p.m.publishFails.WithLabelValues(string(it.Kind), string(it.Lane)).Inc()
		return err
	}
	p.m.accepted.WithLabelValues(string(it.Kind), string(it.Lane)).Inc()
	p.m.acceptedN.Add(1)
	if it.Kind == service.KindStatus && it.Status == service.StatusInactive {
		p.m.closed.WithLabelValues(closeReason(it.Reason)).Inc()
	}
	return nil
}

// closeReasons are the reasons sessions_closed_total keeps apart; any other
// is "other", so a driver's new reason cannot grow the series without bound.
var closeReasons = []string{
	service.ReasonLoggedOut, service.ReasonBanned, service.ReasonTemporaryBan, service.ReasonReplaced,
	service.ReasonClientOutdated, service.ReasonPairError, service.ReasonNetwork,
	service.ReasonStopped, service.ReasonLogout, "other",
}

func closeReason(r string) string {
	for _, known := range closeReasons {
		if r == known {
			return r
		}
	}
	return "other"
}

// collectorFunc is a collector of fixed descriptions read by collect.
type collectorFunc struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// factory registers vectors under the namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}
