package http

import (
	"context"
	"net/http"
	"time"

	"wagateway/service"
)

type healthResponse struct {
	Status         string `json:"status"`
	ActiveSessions int    `json:"activeSessions"`
	Redis          string `json:"redis"`
	Laravel        string `json:"laravel"`
	UptimeS        int64  `json:"uptime_s"`
	// The last answer Laravel gave: its status code (0: no answer) and when.
	LaravelStatusCode int    `json:"laravel_last_status_code"`
	LaravelSeenAt     string `json:"laravel_last_seen_at,omitempty"`
	// Instance and Instances appear when several instances share Redis.
	Instance  string             `json:"instance,omitempty"`
	Instances []service.Instance `json:"instances,omitempty"`
}

// GET /health: always 200 while the process serves; "degraded" says a
// dependency is down (the gateway keeps working on its buffers).
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.health(r.Context()))
}

func (s *Server) health(ctx context.Context) healthResponse {
	res := healthResponse{
		Status:         "ok",
		ActiveSessions: s.cfg.Sessions.ActiveSessions(),
		Redis:          "disabled",
		Laravel:        "unknown",
		UptimeS:        int64(s.cfg.Clock.Now().Sub(s.started) / time.Second),
	}
	if s.cfg.Redis != nil {
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.cfg.Redis(pingCtx)
		cancel()
		res.Redis = "up"
		if err != nil {
			res.Redis = "down"
			s.log.Warn("health: redis check failed", "err", err)
		}
	}
	if s.cfg.Laravel != nil {
		lh := s.cfg.Laravel(ctx)
		res.Laravel, res.LaravelStatusCode = lh.State, lh.StatusCode
		if !lh.At.IsZero() {
			res.LaravelSeenAt = lh.At.UTC().Format(service.TimeFormat)
		}
	}
	if s.cfg.Instances != nil {
		res.Instance = s.cfg.Instance
		liveCtx, cancel := context.WithTimeout(ctx, time.Second)
		live, err := s.cfg.Instances(liveCtx)
		cancel()
		if err != nil {
			s.log.Warn("health: live instances", "err", err)
		}
		res.Instances = live
	}
	if res.Redis == "down" || res.Laravel == service.LaravelDown {
		res.Status = "degraded"
	}
	return res
}

// GET /ready: 200 when the instance can do its work, 503 until then (a
// load balancer sends it no traffic); /health stays a liveness check.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		err := s.cfg.Ready(ctx)
		cancel()
		if err != nil {
			// /ready is open to probes without a key: the cause goes to the log only.
			s.log.Warn("not ready", "err", err)
			s.writeError(w, http.StatusServiceUnavailable, service.EUNAVAILABLE, "not ready")
			return
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) batchMetrics(ctx context.Context) service.BatchMetrics {
	if s.cfg.Batch == nil {
		return service.BatchMetrics{}
	}
	return s.cfg.Batch.Metrics(ctx)
}

// GET /metrics/batch
func (s *Server) handleBatchMetrics(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.batchMetrics(r.Context()))
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
	res.HitRate = service.HitRate(res.Hits, res.Misses)
	return res
}

// GET /metrics/cache
func (s *Server) handleCacheMetrics(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.cacheMetrics())
}
