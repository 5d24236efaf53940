package prometheus_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wagateway/service"
	"wagateway/service/prometheus"
)

type sessionCounts map[service.Status]int

func (s sessionCounts) SessionsByStatus() map[service.Status]int { return s }

// outboxStub answers Stats only; the embedded nil interface panics on anything else.
type outboxStub struct {
	service.Outbox
	stats   service.OutboxStats
	err     error
	durable bool
}

func (o *outboxStub) Stats(context.Context) (service.OutboxStats, error) { return o.stats, o.err }
func (o *outboxStub) Durable() bool                                      { return o.durable }

type cacheStub struct {
	service.Cache
	m service.CacheMetrics
}

func (c cacheStub) Metrics() service.CacheMetrics { return c.m }

type publisherFunc func(context.Context, service.Update) error

func (f publisherFunc) Publish(ctx context.Context, it service.Update) error { return f(ctx, it) }

func scrape(t *testing.T, m *prometheus.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return string(b)
}

func mustContain(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("metrics lack %q", l)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
}

func TestStateAtScrape(t *testing.T) {
	ob := &outboxStub{durable: true, stats: service.OutboxStats{
		Depth:        map[service.Lane]int{service.LaneHigh: 3, service.LaneNormal: 7},
		OldestAge:    map[service.Lane]time.Duration{service.LaneHigh: 1500 * time.Millisecond},
		Buffered:     2,
		Unconfirmed:  4,
		DeadLettered: 1,
	}}
	m := prometheus.New(prometheus.Sources{
		Sessions: sessionCounts{service.StatusPending: 2, service.StatusActive: 5},
		Outbox:   ob,
		L1:       cacheStub{m: service.CacheMetrics{Hits: 10, Misses: 4, Sets: 3}},
		L2:       cacheStub{m: service.CacheMetrics{Hits: 1, Misses: 2, Errors: 6}},
	})
	mustContain(t, scrape(t, m),
		`wagateway_sessions{status="active"} 5`,
		`wagateway_sessions{status="pending"} 2`,
		`wagateway_sessions{status="expired"} 0`,
		`wagateway_sessions_active 5`,
		`wagateway_outbox_depth{lane="high"} 3`,
		`wagateway_outbox_depth{lane="normal"} 7`,
		`wagateway_outbox_oldest_age_seconds{lane="high"} 1.5`,
		`wagateway_outbox_oldest_age_seconds{lane="normal"} 0`,
		`wagateway_outbox_buffered 2`,
		`wagateway_outbox_unconfirmed 4`,
		`wagateway_cache_hits_total{level="l1"} 10`,
		`wagateway_cache_misses_total{level="l2"} 2`,
		`wagateway_redis_errors_total{source="cache"} 6`,
		`wagateway_redis_errors_total{source="outbox_stats"} 0`,
		`wagateway_requests_saved 0`,
	)

	// An outbox that cannot answer costs its own series only, and counts.
	ob.err = errors.New("redis: connection refused")
	if _, err := m.Registry().Gather(); err == nil {
		t.Error("gather hid the outbox error")
	}
	text := scrape(t, m)
	mustContain(t, text, `wagateway_sessions_active 5`, `wagateway_redis_errors_total{source="outbox_stats"} 2`)
	if strings.Contains(text, "wagateway_outbox_depth{") {
		t.Error("stale outbox depth served after an error")
	}
}

func TestFlusherObserver(t *testing.T) {
	m := prometheus.New(prometheus.Sources{})
	var obs service.FlusherObserver = m
	pub := m.Publisher(publisherFunc(func(context.Context, service.Update) error { return nil }))
	for range 5 {
		if err := pub.Publish(context.Background(), service.Update{Kind: service.KindQR, Lane: service.LaneHigh}); err != nil {
			t.Fatal(err)
		}
	}
	failing := m.Publisher(publisherFunc(func(context.Context, service.Update) error { return errors.New("full") }))
	if err := failing.Publish(context.Background(), service.Update{Kind: service.KindStatus, Lane: service.LaneNormal}); err == nil {
		t.Fatal("the wrapper swallowed the error")
	}

	high := func(attempt int, err error) service.BatchReport {
		return service.BatchReport{Lane: service.LaneHigh, Kind: service.KindQR, Mode: service.DeliveryModeBatch, Items: 5, Attempt: attempt, Err: err}
	}
	obs.OnBatch(high(0, &service.DeliveryError{StatusCode: 503}))
	obs.OnBatch(high(1, nil))
	for range 4 {
		obs.OnDelivered(service.Update{Kind: service.KindQR, Lane: service.LaneHigh}, 1200*time.Millisecond)
	}
	obs.OnDeadLettered(service.DeadLetter{Item: service.Update{Kind: service.KindQR, Lane: service.LaneHigh}, Reason: "422"})

	mustContain(t, scrape(t, m),
		`wagateway_events_accepted_total{kind="qr",lane="high"} 5`,
		`wagateway_events_publish_errors_total{kind="status",lane="normal"} 1`,
		`wagateway_laravel_batches_total{kind="qr",lane="high",mode="batch",outcome="retry"} 1`,
		`wagateway_laravel_batches_total{kind="qr",lane="high",mode="batch",outcome="sent"} 1`,
		`wagateway_laravel_retries_total{kind="qr",lane="high"} 1`,
		`wagateway_items_sent_total{kind="qr",lane="high"} 4`,
		`wagateway_items_dead_lettered_total{kind="qr",lane="high"} 1`,
		`wagateway_batch_size_items_count{kind="qr",lane="high"} 2`,
		`wagateway_batch_size_items_sum{kind="qr",lane="high"} 10`,
		`wagateway_delivery_latency_seconds_bucket{kind="qr",lane="high",le="2"} 4`,
		`wagateway_delivery_latency_seconds_bucket{kind="qr",lane="high",le="1"} 0`,
		// 5 events, 2 requests: 3 saved.
		`wagateway_requests_saved 3`,
	)
}

// laravelStub answers every call with err.
type laravelStub struct{ err error }

func (l laravelStub) PostQRBatch(context.Context, string, []service.QRUpdate) (service.BatchResult, error) {
	return service.BatchResult{}, l.err
}
func (l laravelStub) PostStatusBatch(context.Context, string, []service.StatusUpdate) (service.BatchResult, error) {
	return service.BatchResult{}, l.err
}
func (l laravelStub) PostQR(context.Context, string, service.QRUpdate) error         { return l.err }
func (l laravelStub) PostStatus(context.Context, string, service.StatusUpdate) error { return l.err }
func (l laravelStub) SessionStatus(context.Context, string) (service.StatusRecord, error) {
	return service.StatusRecord{}, l.err
}

func TestLaravelResponses(t *testing.T) {
	m := prometheus.New(prometheus.Sources{})
	ctx := context.Background()
	_, _ = m.Laravel(laravelStub{}).PostQRBatch(ctx, "k", nil)
	_, _ = m.Laravel(laravelStub{&service.DeliveryError{StatusCode: 422}}).PostStatusBatch(ctx, "k", nil)
	_ = m.Laravel(laravelStub{&service.DeliveryError{}}).PostQR(ctx, "k", service.QRUpdate{})
	_ = m.Laravel(laravelStub{}).PostStatus(ctx, "k", service.StatusUpdate{})
	_, _ = m.Laravel(laravelStub{service.Errorf(service.ENOTFOUND, "unknown")}).SessionStatus(ctx, "s")
	// Refused before sending: not an answer from Laravel.
	_, _ = m.Laravel(laravelStub{service.Errorf(service.EINVALID, "bad id")}).SessionStatus(ctx, "../x")

	mustContain(t, scrape(t, m),
		`wagateway_laravel_responses_total{code="2xx",endpoint="qr_batch"} 1`,
		`wagateway_laravel_responses_total{code="422",endpoint="status_batch"} 1`,
		`wagateway_laravel_responses_total{code="none",endpoint="qr"} 1`,
		`wagateway_laravel_responses_total{code="2xx",endpoint="status"} 1`,
		`wagateway_laravel_responses_total{code="404",endpoint="status_lookup"} 1`,
		`wagateway_laravel_request_duration_seconds_count{endpoint="status_lookup"} 1`,
	)
	if n := testutil.CollectAndCount(m.Registry(), "wagateway_laravel_responses_total"); n != 5 {
		t.Errorf("%d response series, want 5", n)
	}
}

// The registry is well-formed: no duplicate or inconsistent metrics.
func TestLint(t *testing.T) {
	m := prometheus.New(prometheus.Sources{Sessions: sessionCounts{}, Outbox: &outboxStub{}, L1: cacheStub{}})
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time                         { return c.t }
func (c *fixedClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// The series the alert rules (ops/prometheus/alerts.yml) stand on.
func TestAlertSeries(t *testing.T) {
	clock := &fixedClock{t: time.Unix(1000, 0)}
	readyErr := errors.New("outbox: unreachable")
	var failing bool
	check := func(context.Context) error {
		if failing {
			return readyErr
		}
		return nil
	}
	m := prometheus.New(prometheus.Sources{
		Ready: check, Redis: check, Clock: clock,
		Intervals: map[service.Lane]time.Duration{service.LaneHigh: time.Second, service.LaneNormal: 5 * time.Second},
	})
	text := scrape(t, m)
	mustContain(t, text,
		`wagateway_ready 1`,
		`wagateway_redis_up 1`,
		`wagateway_lane_interval_seconds{lane="high"} 1`,
		`wagateway_lane_interval_seconds{lane="normal"} 5`,
		// Before any delivery: the start time.
		`wagateway_lane_last_delivery_timestamp_seconds{lane="high"} 1000`,
		// Zero from the start, so the first one is an increase.
		`wagateway_items_dead_lettered_total{kind="status",lane="normal"} 0`,
		`wagateway_sessions_closed_total{reason="banned"} 0`,
	)

	failing = true
	clock.t = time.Unix(1042, 0)
	m.OnBatch(service.BatchReport{Lane: service.LaneHigh, Kind: service.KindQR, Items: 1})
	m.OnBatch(service.BatchReport{Lane: service.LaneNormal, Kind: service.KindStatus, Items: 1, Err: &service.DeliveryError{StatusCode: 503}})
	pub := m.Publisher(publisherFunc(func(context.Context, service.Update) error { return nil }))
	for _, reason := range []string{service.ReasonBanned, service.ReasonLoggedOut, "something new", ""} {
		it := service.Update{Kind: service.KindStatus, Lane: service.LaneHigh, Status: service.StatusInactive, Reason: reason}
		if err := pub.Publish(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	// An active status is no close.
	_ = pub.Publish(context.Background(), service.Update{Kind: service.KindStatus, Lane: service.LaneHigh, Status: service.StatusActive})
	mustContain(t, scrape(t, m),
		`wagateway_ready 0`,
		`wagateway_redis_up 0`,
		`wagateway_lane_last_delivery_timestamp_seconds{lane="high"} 1042`,
		// A failed request is no delivery.
		`wagateway_lane_last_delivery_timestamp_seconds{lane="normal"} 1000`,
		`wagateway_sessions_closed_total{reason="banned"} 1`,
		`wagateway_sessions_closed_total{reason="logged_out"} 1`,
		`wagateway_sessions_closed_total{reason="other"} 2`,
	)
}

// Without the checks the gauges are left out rather than made up.
func TestNoChecksNoGauges(t *testing.T) {
	text := scrape(t, prometheus.New(prometheus.Sources{}))
	for _, name := range []string{"wagateway_ready", "wagateway_redis_up", "wagateway_lane_interval_seconds"} {
		if strings.Contains(text, "\n"+name+" ") || strings.Contains(text, "\n"+name+"{") {
			t.Errorf("%s served without its source", name)
		}
	}
}
