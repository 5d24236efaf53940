package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"wagateway/service"
)

// authenticate requires API_KEY (Authorization: Bearer or X-API-Key) on
// every route but /health and /ready (probes carry no key), /metrics,
// /metrics/* when they are public, and the dashboard's page and login. A
// dashboard cookie (ui_auth.go) stands for the key, and then every
// state-changing request must carry its CSRF token. No key: open.
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
		if got == "" {
			// A browser sends the cookie by itself: it proves nothing about
			// who asked for a change, the CSRF token does.
			if cookie, _, ok := s.uiSession(r); ok {
				if s.checkCSRF(w, r, cookie) {
					next.ServeHTTP(w, r)
				}
				return
			}
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
	case path == "/ui", path == "/ui/", path == "/ui/login", path == "/ui/session", strings.HasPrefix(path, "/ui/assets/"):
		return true // the page and its login; everything it shows comes from authenticated routes
	case metricsPublic:
		return path == "/metrics" || strings.HasPrefix(path, "/metrics/")
	}
	return false
}
