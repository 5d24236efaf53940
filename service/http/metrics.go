package http

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"wagateway/service"
)

type healthResponse struct {
	Status         string `json:"status"`
	ActiveSessions int    `json:"activeSessions"`
	Redis          string `json:"redis"`
	Laravel        string `json:"laravel"`
	UptimeS        int64  `json:"uptime_s"`
}

// GET /health: always 200 while the process serves; "degraded" says a
// dependency is down (the gateway keeps working on its buffers).
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	res := healthResponse{
		Status:         "ok",
		ActiveSessions: s.cfg.Sessions.ActiveSessions(),
		Redis:          "disabled",
		Laravel:        "unknown",
		UptimeS:        int64(s.cfg.Clock.Now().Sub(s.started) / time.Second),
	}
	if s.cfg.Redis != nil {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		err := s.cfg.Redis(ctx)
		cancel()
		res.Redis = "up"
		if err != nil {
			res.Redis = "down"
			s.log.Warn("health: redis check failed", "err", err)
		}
	}
	if s.cfg.Laravel != nil {
		res.Laravel = s.cfg.Laravel(r.Context())
	}
	if res.Redis == "down" || res.Laravel == "down" {
		res.Status = "degraded"
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) batchMetrics(ctx context.Context) service.BatchMetrics {
	if s.cfg.Batch == nil {
		return service.BatchMetrics{}
	}
	return s.cfg.Batch.Metrics(ctx)
}

// GET /metrics/batch
func (s *Server) handleBatchMetrics(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.batchMetrics(r.Context()))
}

// cacheResponse has the seed's totals at the top level and each level below.
type cacheResponse struct {
	service.CacheMetrics
	L1 *service.CacheMetrics `json:"l1"`
	L2 *service.CacheMetrics `json:"l2"` // null without Redis
}

func (s *Server) cacheMetrics() cacheResponse {
	var res cacheResponse
	for _, lv := range []struct {
		c   service.Cache
		dst **service.CacheMetrics
	}{{s.cfg.L1, &res.L1}, {s.cfg.L2, &res.L2}} {
		if lv.c == nil {
			continue
		}
		m := lv.c.Metrics()
		*lv.dst = &m
		res.Hits += m.Hits
		res.Misses += m.Misses
		res.Sets += m.Sets
		res.Invalidations += m.Invalidations
		res.Errors += m.Errors
	}
	if n := res.Hits + res.Misses; n > 0 {
		res.HitRate = float64(res.Hits) / float64(n)
	}
	return res
}

// GET /metrics/cache
func (s *Server) handleCacheMetrics(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.cacheMetrics())
}

// GET /metrics: a minimal hand-written Prometheus text exposition.
func (s *Server) handlePrometheus(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	metric := func(name, typ, help string, samples ...sample) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, sm := range samples {
			fmt.Fprintf(&b, "%s%s %v\n", name, sm.labels, sm.value)
		}
	}
	bm := s.batchMetrics(r.Context())
	metric("wagateway_sessions_active", "gauge", "Sessions connected through this instance.", sample{"", s.cfg.Sessions.ActiveSessions()})
	metric("wagateway_uptime_seconds", "gauge", "Seconds since the gateway started.", sample{"", int64(s.cfg.Clock.Now().Sub(s.started) / time.Second)})
	metric("wagateway_outbox_accepted_total", "counter", "Events written to the outbox.", sample{"", bm.Accepted})
	metric("wagateway_laravel_requests_total", "counter", "Requests sent to Laravel, retries included.", sample{"", bm.Requests})
	metric("wagateway_items_sent_total", "counter", "Items Laravel acknowledged.", sample{"", bm.Sent})
	metric("wagateway_items_superseded_total", "counter", "Items replaced by a newer one before sending.", sample{"", bm.Superseded})
	metric("wagateway_laravel_failed_total", "counter", "Failed requests to Laravel.", sample{"", bm.Failed})
	metric("wagateway_laravel_retries_total", "counter", "Requests that were retries.", sample{"", bm.Retries})
	metric("wagateway_items_dead_lettered_total", "counter", "Items Laravel refused for good.", sample{"", bm.DeadLettered})

	lanes := make([]string, 0, len(bm.Lanes))
	for l := range bm.Lanes {
		lanes = append(lanes, string(l))
	}
	sort.Strings(lanes)
	var pending, oldest []sample
	for _, l := range lanes {
		lm := bm.Lanes[service.Lane(l)]
		lbl := fmt.Sprintf("{lane=%q}", l)
		pending = append(pending, sample{lbl, lm.Pending})
		oldest = append(oldest, sample{lbl, float64(lm.OldestMs) / 1000})
	}
	metric("wagateway_outbox_pending", "gauge", "Items waiting per lane.", pending...)
	metric("wagateway_outbox_oldest_seconds", "gauge", "Age of the oldest waiting item per lane.", oldest...)

	cm := s.cacheMetrics()
	var hits, misses, sets []sample
	for _, lv := range []struct {
		name string
		m    *service.CacheMetrics
	}{{"l1", cm.L1}, {"l2", cm.L2}} {
		if lv.m == nil {
			continue
		}
		lbl := fmt.Sprintf("{level=%q}", lv.name)
		hits = append(hits, sample{lbl, lv.m.Hits})
		misses = append(misses, sample{lbl, lv.m.Misses})
		sets = append(sets, sample{lbl, lv.m.Sets})
	}
	metric("wagateway_cache_hits_total", "counter", "Cache hits per level.", hits...)
	metric("wagateway_cache_misses_total", "counter", "Cache misses per level.", misses...)
	metric("wagateway_cache_sets_total", "counter", "Cache writes per level.", sets...)

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

type sample struct {
	labels string
	value  any
}
