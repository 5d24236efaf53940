package mocklaravel

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Stats keys of the Laravel endpoints.
const (
	KeyQRBatch     = "POST /api/qr/batch"
	KeyStatusBatch = "POST /api/whatsapp/status/batch"
	KeyQR          = "POST /api/qr"
	KeyStatus      = "POST /api/whatsapp/status"
	KeyGetStatus   = "GET /api/whatsapp/status/{sessionId}"
	KeyUnmatched   = "unmatched" // unknown routes (404) and wrong methods (405)
)

type route struct {
	key, method string
	path        string // exact path, or a prefix ending in "/" that takes one segment
	handle      func(s *Server, r *http.Request, c apiCall) reply
}

// apiCall is what serveAPI hands an endpoint besides the request.
type apiCall struct {
	param    string          // the {sessionId} of the path
	rejected map[string]bool // the reject_sessions fault read at the start of the request
}

var routes = []route{
	{KeyQRBatch, http.MethodPost, "/api/qr/batch", (*Server).qrBatch},
	{KeyStatusBatch, http.MethodPost, "/api/whatsapp/status/batch", (*Server).statusBatch},
	{KeyQR, http.MethodPost, "/api/qr", (*Server).qrSingle},
	{KeyStatus, http.MethodPost, "/api/whatsapp/status", (*Server).statusSingle},
	{KeyGetStatus, http.MethodGet, "/api/whatsapp/status/", (*Server).getStatus},
}

func endpointKeys() []string {
	keys := make([]string, len(routes))
	for i, rt := range routes {
		keys[i] = rt.key
	}
	return keys
}

// match finds the route of method and path like Laravel's router: a path
// served by other methods only is a 405 (allowed lists them), no path is a 404.
func match(method, path string) (rt *route, param string, allowed []string) {
	for i := range routes {
		c := &routes[i]
		p, ok := c.matchPath(path)
		if !ok {
			continue
		}
		// Laravel serves HEAD wherever it serves GET.
		if c.method == method || (method == http.MethodHead && c.method == http.MethodGet) {
			return c, p, nil
		}
		allowed = append(allowed, c.method)
	}
	return nil, "", allowed
}

func (rt *route) matchPath(path string) (string, bool) {
	if !strings.HasSuffix(rt.path, "/") {
		return "", path == rt.path
	}
	p, ok := strings.CutPrefix(path, rt.path)
	return p, ok && p != "" && !strings.Contains(p, "/")
}

// serveAPI answers one /api request. Order: maintenance (down) and
// error_rate faults, routing, authentication, the endpoint; latency is
// added last, after the work is done.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start, now := time.Now(), s.clock()
	rt, param, allowed := match(r.Method, r.URL.Path)
	key := KeyUnmatched
	if rt != nil {
		key = rt.key
	}
	f, rejected, _ := s.faults.current(now)
	var rep reply
	switch {
	case f.Down:
		rep = faultReply(http.StatusServiceUnavailable, f.RetryAfterS)
	case f.ErrorRate > 0 && s.roll() < f.ErrorRate:
		rep = faultReply(orDefault(f.Status, http.StatusServiceUnavailable), f.RetryAfterS)
	case rt == nil && len(allowed) > 0:
		rep = messageReply(http.StatusMethodNotAllowed, fmt.Sprintf(
			"The %s method is not supported for route %s. Supported methods: %s.",
			r.Method, strings.TrimPrefix(r.URL.Path, "/"), strings.Join(allowed, ", ")))
		rep.header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
	case rt == nil:
		rep = messageReply(http.StatusNotFound, fmt.Sprintf("The route %s could not be found.", strings.TrimPrefix(r.URL.Path, "/")))
	case !s.authorized(r):
		rep = messageReply(http.StatusUnauthorized, "Unauthenticated.")
	case !s.verifySignature(r, &rep): // sets rep (401) when the signature is bad
	default:
		replay := false
		if rt.method == http.MethodPost {
			// Recorded before processing: a retry of a request that failed
			// validation is a replay too.
			replay = s.idem.observe(rt.key, r.Header.Get("Idempotency-Key"))
		}
		rep = rt.handle(s, r, apiCall{param: param, rejected: rejected})
		rep.replay = replay
	}
	if f.LatencyMS > 0 {
		s.sleep(r.Context(), time.Duration(f.LatencyMS)*time.Millisecond)
	}
	writeReply(w, rep)
	latency := time.Since(start)
	s.stats.record(outcome{key: key, status: rep.status, items: rep.items, bytes: rep.bytes,
		updated: rep.updated, failed: rep.failed, replay: rep.replay, latency: latency, at: now})
	// Checked first: building the attributes costs allocations on every request.
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.DebugContext(r.Context(), "api request", "endpoint", key, "status", rep.status,
			"items", rep.items, "updated", rep.updated, "failed", rep.failed, "replay", rep.replay,
			"latency_ms", float64(latency)/float64(time.Millisecond))
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1
}

// decodeBody reads a JSON body into v. On failure it returns the answer to
// send: 415 for another content type, 413 above the size limit, 400 for
// malformed JSON. A body that is valid JSON but not an object has no
// members, and the validator reports what is missing, as in Laravel.
func (s *Server) decodeBody(r *http.Request, v any) (n int64, rep reply, ok bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return 0, messageReply(http.StatusUnsupportedMediaType, "Unsupported Media Type: send Content-Type: application/json."), false
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return 0, tooLarge(s.cfg.MaxBodyBytes), false
	}
	body, err := readBody(r, s.cfg.MaxBodyBytes)
	n = int64(len(body))
	switch {
	case err != nil:
		return n, messageReply(http.StatusBadRequest, "Could not read the request body."), false
	case n > s.cfg.MaxBodyBytes:
		return n, tooLarge(s.cfg.MaxBodyBytes), false
	}
	if err := json.Unmarshal(body, v); err != nil {
		return n, messageReply(http.StatusBadRequest, "Malformed JSON: "+err.Error()), false
	}
	return n, reply{}, true
}

// readBody reads at most limit+1 bytes, in one allocation when the
// Content-Length is known (batches of QR codes are ~100 KB).
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > 0 && r.ContentLength <= limit {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, limit+1))
}

func tooLarge(limit int64) reply {
	return messageReply(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", limit))
}

// batchResult is the answer of both batch endpoints.
type batchResult struct {
	Success bool `json:"success"`
	Updated int  `json:"updated"`
	Failed  int  `json:"failed"`
}

func (s *Server) qrBatch(r *http.Request, c apiCall) reply {
	return s.batch(r, c, "qrs", qrShape, s.store.applyQRs)
}

func (s *Server) statusBatch(r *http.Request, c apiCall) reply {
	return s.batch(r, c, "statuses", statusShape, s.store.applyStatuses)
}

func (s *Server) batch(r *http.Request, c apiCall, key string, shape itemShape, apply applyFunc) reply {
	var body any
	n, rep, ok := s.decodeBody(r, &body)
	if !ok {
		return withBytes(rep, n, 0)
	}
	l := listOf(members(body)[key])
	cs, errs := validateBatch(key, shape, l, s.clock())
	return withBytes(s.applyBatch(r.Context(), c, key, cs, errs, apply), n, int64(len(l.items)))
}

type applyFunc func(ctx context.Context, cs []change, autoCreate bool) (updated, failed int, err error)

func (s *Server) applyBatch(ctx context.Context, c apiCall, key string, cs []change, errs *fieldErrors, apply applyFunc) reply {
	if errs != nil {
		return validationReply(errs)
	}
	if errs := rejectSessions(key, cs, c.rejected); errs != nil {
		return validationReply(errs)
	}
	// The batch is applied even if the client goes away meanwhile, as PHP would.
	updated, failed, err := apply(context.WithoutCancel(ctx), cs, !s.cfg.DisableAutoCreate)
	if err != nil {
		s.log.ErrorContext(ctx, "batch not stored", "batch", key, "items", len(cs), "err", err)
		return messageReply(http.StatusInternalServerError, "Server Error")
	}
	rep := reply{status: http.StatusOK, body: batchResult{Success: true, Updated: updated, Failed: failed}}
	rep.updated, rep.failed = int64(updated), int64(failed)
	return rep
}

func withBytes(rep reply, n, items int64) reply {
	rep.bytes, rep.items = n, items
	return rep
}

// The single endpoints take one item at the top level; the event time is
// optional there and defaults to now.
func (s *Server) qrSingle(r *http.Request, c apiCall) reply {
	return s.single(r, c, qrShape, s.store.applyQRs)
}

func (s *Server) statusSingle(r *http.Request, c apiCall) reply {
	return s.single(r, c, statusShape, s.store.applyStatuses)
}

func (s *Server) single(r *http.Request, c apiCall, shape itemShape, apply applyFunc) reply {
	var body any
	n, rep, ok := s.decodeBody(r, &body)
	if !ok {
		return withBytes(rep, n, 0)
	}
	return withBytes(s.applySingle(r.Context(), c, shape, shape.fields(body), apply), n, 1)
}

func (s *Server) applySingle(ctx context.Context, c apiCall, shape itemShape, item [3]field, apply applyFunc) reply {
	cs, errs := validateRows("", shape, [][3]field{item}, s.clock())
	if errs != nil {
		return validationReply(errs)
	}
	if errs := rejectSessions("", cs, c.rejected); errs != nil {
		return validationReply(errs)
	}
	updated, failed, err := apply(context.WithoutCancel(ctx), cs, !s.cfg.DisableAutoCreate)
	if err != nil {
		s.log.ErrorContext(ctx, "item not stored", "session_id", cs[0].sessionID, "err", err)
		return messageReply(http.StatusInternalServerError, "Server Error")
	}
	if failed > 0 {
		rep := messageReply(http.StatusNotFound, "WhatsApp account not found.")
		rep.failed = 1
		return rep
	}
	rep := reply{status: http.StatusOK, body: map[string]bool{"success": true}}
	rep.updated = int64(updated)
	return rep
}

// statusView is the answer of GET /api/whatsapp/status/{sessionId}.
type statusView struct {
	SessionID        string  `json:"session_id"`
	EstadoQR         string  `json:"estado_qr"`
	LastStatusUpdate *string `json:"last_status_update"`
}

func (s *Server) getStatus(r *http.Request, c apiCall) reply {
	id := c.param
	if !validSessionID(id) {
		return messageReply(http.StatusNotFound, "WhatsApp account not found.")
	}
	a, ok, err := s.store.account(r.Context(), id)
	switch {
	case err != nil:
		s.log.ErrorContext(r.Context(), "status not read", "session_id", id, "err", err)
		return messageReply(http.StatusInternalServerError, "Server Error")
	case !ok:
		return messageReply(http.StatusNotFound, "WhatsApp account not found.")
	}
	return reply{status: http.StatusOK, body: statusView{a.SessionID, a.EstadoQR, formatTime(a.LastStatusUpdate)}}
}
