package http

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"time"

	"wagateway/service"
)

// UIConfig is the operator dashboard's part of Config; every field is optional.
type UIConfig struct {
	// Feed says which sessions changed, for live updates; nil: the page shows
	// what it loaded and says it is not live.
	Feed service.SessionFeed
	// Traffic is Laravel's answers by status code and the requests-per-minute
	// chart; nil: the panel omits them.
	Traffic func() service.DeliveryTraffic
	// DeadLetters lists dead-lettered items, newest first; nil: none shown.
	DeadLetters func(ctx context.Context, limit int) ([]service.DeadLetter, error)
	// SessionTTL is how long a dashboard login lasts (default 12 h).
	SessionTTL time.Duration
	// DeliveryEvery is how often the delivery panel is pushed when it
	// changed (default 1 s).
	DeliveryEvery time.Duration
}

// uiAssets are the dashboard's files, built into the binary: no CDN and no
// download at run time.
//
//go:embed ui
var uiAssets embed.FS

// contentSecurityPolicy allows only this gateway's own files: no inline
// script or style, no other origin, no framing. QR codes are data: images.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (s *Server) uiRoutes() {
	files, err := fs.Sub(uiAssets, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	assets := http.StripPrefix("/ui/assets/", http.FileServerFS(files))
	s.mux.Handle("GET /ui", uiHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, files, "index.html")
	})))
	s.mux.Handle("GET /ui/{$}", http.RedirectHandler("/ui", http.StatusMovedPermanently))
	s.mux.Handle("GET /ui/assets/", uiHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	})))
	s.mux.HandleFunc("POST /ui/login", s.handleUILogin)
	s.mux.HandleFunc("POST /ui/logout", s.handleUILogout)
	s.mux.HandleFunc("GET /ui/session", s.handleUISession)
	s.mux.HandleFunc("GET /ui/events", s.handleUIEvents)
}

// uiHeaders adds the dashboard's security headers.
func uiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// SessionStopper disconnects a session and keeps its device (status
// inactive, reason stopped); the session manager implements it.
type SessionStopper interface {
	Stop(ctx context.Context, id string) error
}

func (s *Server) stopper() SessionStopper {
	st, _ := s.cfg.Sessions.(SessionStopper)
	return st
}

// POST /sessions/{id}/stop
func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.stopper().Stop(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, startResponse{SessionID: id, Status: string(service.StatusInactive)})
}
