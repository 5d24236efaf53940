package prometheus

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"wagateway/service"
)

// stateCollector reads the gauges and the caches' own counters at scrape
// time, so nothing has to push them.
type stateCollector struct {
	src Sources

	// statsErrors counts Outbox.Stats failures, the Redis errors the
	// caches do not see.
	statsErrors atomic.Int64

	depth, oldest, buffered, deadLetter *prometheus.Desc
	unconfirmed                         *prometheus.Desc
	hits, misses, sets, invalidations   *prometheus.Desc
	cacheErrors, redisErrors            *prometheus.Desc
	ready, redisUp                      *prometheus.Desc
}

func newStateCollector(src Sources) *stateCollector {
	if src.ScrapeTimeout <= 0 {
		src.ScrapeTimeout = DefaultScrapeTimeout
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &stateCollector{
		src:           src,
		depth:         d("outbox_depth", "Items waiting in the outbox, by lane.", "lane"),
		oldest:        d("outbox_oldest_age_seconds", "Age of the oldest waiting item, by lane (0 when none waits).", "lane"),
		buffered:      d("outbox_buffered", "Items held only in memory while Redis is unreachable (lost if the process dies)."),
		deadLetter:    d("outbox_dead_letters", "Dead-lettered items kept for inspection."),
		unconfirmed:   d("outbox_unconfirmed", "Items Redis accepted that no replica confirmed yet (behind Sentinel), also held in memory until one does."),
		hits:          d("cache_hits_total", "Cache hits, by level (l1 memory, l2 Redis).", "level"),
		misses:        d("cache_misses_total", "Cache misses, by level.", "level"),
		sets:          d("cache_sets_total", "Cache writes, by level.", "level"),
		invalidations: d("cache_invalidations_total", "Cache invalidations, by level.", "level"),
		cacheErrors:   d("cache_errors_total", "Cache operations that failed, by level.", "level"),
		redisErrors:   d("redis_errors_total", "Redis operations that failed, by where (cache, outbox_stats).", "source"),
		ready:         d("ready", "1 when GET /ready would answer 200 (Redis answers, the outbox is readable), else 0."),
		redisUp:       d("redis_up", "1 when Redis answered a PING at scrape time, else 0 (absent without Redis)."),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.depth, c.oldest, c.buffered, c.deadLetter, c.unconfirmed,
		c.hits, c.misses, c.sets, c.invalidations, c.cacheErrors, c.redisErrors, c.ready, c.redisUp} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	check := func(d *prometheus.Desc, fn func(context.Context) error) {
		if fn == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.src.ScrapeTimeout)
		err := fn(ctx)
		cancel()
		up := 1.0
		if err != nil {
			up = 0
		}
		gauge(d, up)
	}
	check(c.ready, c.src.Ready)
	check(c.redisUp, c.src.Redis)

	if c.src.Outbox != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.src.ScrapeTimeout)
		st, err := c.src.Outbox.Stats(ctx)
		cancel()
		if err != nil {
			c.statsErrors.Add(1)
			ch <- prometheus.NewInvalidMetric(c.depth, err)
		} else {
			for _, l := range service.Lanes {
				gauge(c.depth, float64(st.Depth[l]), string(l))
				gauge(c.oldest, st.OldestAge[l].Seconds(), string(l))
			}
			gauge(c.buffered, float64(st.Buffered))
			gauge(c.deadLetter, float64(st.DeadLettered))
			gauge(c.unconfirmed, float64(st.Unconfirmed))
		}
	}

	for _, lv := range []struct {
		name  string
		cache service.Cache
	}{{"l1", c.src.L1}, {"l2", c.src.L2}} {
		if lv.cache == nil {
			continue
		}
		m := lv.cache.Metrics()
		counter(c.hits, m.Hits, lv.name)
		counter(c.misses, m.Misses, lv.name)
		counter(c.sets, m.Sets, lv.name)
		counter(c.invalidations, m.Invalidations, lv.name)
		counter(c.cacheErrors, m.Errors, lv.name)
		if lv.name == "l2" {
			counter(c.redisErrors, m.Errors, "cache")
		}
	}
	if c.src.Outbox != nil && c.src.Outbox.Durable() {
		counter(c.redisErrors, c.statsErrors.Load(), "outbox_stats")
	}
}

// sessionCollector reports a SessionCounter; registered apart because the
// session manager is built after the metrics it publishes through.
type sessionCollector struct {
	sc                       SessionCounter
	sessions, sessionsActive *prometheus.Desc
}

func newSessionCollector(sc SessionCounter) *sessionCollector {
	return &sessionCollector{
		sc: sc,
		sessions: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "sessions"),
			"Sessions running on this instance, by estado_qr.", []string{"status"}, nil),
		sessionsActive: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "sessions_active"),
			"Sessions connected through this instance.", nil, nil),
	}
}

func (c *sessionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sessions
	ch <- c.sessionsActive
}

func (c *sessionCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.sc.SessionsByStatus()
	// Every status is reported, 0 included, so a series never vanishes.
	for _, st := range []service.Status{service.StatusPending, service.StatusActive, service.StatusInactive, service.StatusExpired} {
		ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(c.sessionsActive, prometheus.GaugeValue, float64(counts[service.StatusActive]))
}
