package http

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"wagateway/service"
)

// Router says which gateway instance serves a session, when several share
// Redis behind a load balancer.
type Router interface {
	// Route returns the base URL (ADVERTISE_URL) of the instance that
	// should serve a request for session id, or "" when this one should.
	// starting says the request may start the session, so an unowned one
	// is placed on an instance with room (MAX_SESSIONS).
	Route(ctx context.Context, id string, starting bool) (string, error)
	// RouteRead is Route for a request that only reads the session (GET);
	// it may answer "" more often (see cluster.Node.RouteRead).
	RouteRead(ctx context.Context, id string) (string, error)
}

// ForwardedHeader marks a request one instance forwarded to another; the
// receiver serves it itself, so a request never travels more than once.
const ForwardedHeader = "X-Wagateway-Forwarded-By"

// forward sends a request for a session another instance runs to that
// instance, headers (and so the API key, checked again there) included.
// It sits behind authenticate: an unauthenticated request goes nowhere.
func (s *Server) forward(next http.Handler) http.Handler {
	if s.cfg.Router == nil {
		return next
	}
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ForwardedHeader) != "" {
			next.ServeHTTP(w, r)
			return
		}
		id, starting, ok := s.sessionOf(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		var target string
		var err error
		if r.Method == http.MethodGet {
			target, err = s.cfg.Router.RouteRead(r.Context(), id)
		} else {
			target, err = s.cfg.Router.Route(r.Context(), id, starting)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if target == "" {
			next.ServeHTTP(w, r)
			return
		}
		u, err := url.Parse(target)
		if err != nil {
			s.fail(w, r, service.Errorf(service.EINTERNAL, "instance URL %q: %v", target, err))
			return
		}
		s.log.Debug("request forwarded", "session_id", id, "to", target, "path", r.URL.Path)
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.Out.Host = u.Host
				pr.Out.Header.Set(ForwardedHeader, s.cfg.Instance)
			},
			Transport: transport,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				s.log.Warn("forward to owner failed", "session_id", id, "to", target, "err", err)
				s.fail(w, r, service.Errorf(service.EUNAVAILABLE,
					"session %s runs on an instance that does not answer; retry in a few seconds", id))
			},
		}
		proxy.ServeHTTP(w, r)
	})
}

// sessionOf finds the session a request is about: the {id} of the session
// and sim routes, or the body of POST /start (read and put back).
func (s *Server) sessionOf(r *http.Request) (id string, starting, ok bool) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/start":
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			return "", false, false
		}
		var req startRequest
		if json.Unmarshal(body, &req) != nil {
			return "", false, false // the handler answers the bad body
		}
		switch {
		case req.SessionID != "":
			id = req.SessionID
		case req.UserID != nil && *req.UserID > 0:
			id = service.UserSessionID(*req.UserID)
		}
		return id, true, service.ValidateSessionID(id) == nil
	case strings.HasPrefix(p, "/sessions/"), strings.HasPrefix(p, "/sim/sessions/"):
		rest := strings.TrimPrefix(strings.TrimPrefix(p, "/sim"), "/sessions/")
		id, action, _ := strings.Cut(rest, "/")
		if service.ValidateSessionID(id) != nil {
			return "", false, false
		}
		return id, action == "pair-phone", true
	}
	return "", false, false
}
