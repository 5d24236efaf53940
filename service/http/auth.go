package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"wagateway/service"
)

// authenticate requires API_KEY (Authorization: Bearer or X-API-Key) on
// every route but /health and /ready (probes carry no key), and /metrics,
// /metrics/* when they are public. No key: open.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.cfg.APIKey == "" {
		return next
	}
	// Comparing digests keeps the comparison constant-time whatever the length.
	want := sha256.Sum256([]byte(s.cfg.APIKey))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPublic(r.URL.Path, s.cfg.MetricsPublic) {
			next.ServeHTTP(w, r)
			return
		}
		got := r.Header.Get("X-API-Key")
		if auth := r.Header.Get("Authorization"); got == "" && len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
			got = strings.TrimSpace(auth[7:])
		}
		sum := sha256.Sum256([]byte(got))
		if got == "" || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wagateway"`)
			s.fail(w, r, service.Errorf(service.EUNAUTHORIZED, "missing or wrong API key"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isPublic(path string, metricsPublic bool) bool {
	switch {
	case path == "/health", path == "/ready":
		return true
	case metricsPublic:
		return path == "/metrics" || strings.HasPrefix(path, "/metrics/")
	}
	return false
}
