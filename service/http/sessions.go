package http

import (
	"net/http"
	"time"

	"wagateway/service"
)

type startRequest struct {
	UserID    *int64 `json:"user_id"`
	SessionID string `json:"session_id"`
}

// startResponse keeps the seed's field names: Laravel reads them.
type startResponse struct {
	SessionID string  `json:"session_id"`
	Status    string  `json:"estado_qr"`
	QR        *string `json:"qr"`
}

type sessionResponse struct {
	SessionID   string     `json:"session_id"`
	Status      string     `json:"estado_qr"`
	Reason      string     `json:"reason,omitempty"`
	JID         string     `json:"jid,omitempty"`
	QR          *string    `json:"qr"`
	QRExpiresAt *time.Time `json:"qr_expires_at,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	Source      string     `json:"source,omitempty"`
	Instance    string     `json:"instance,omitempty"` // the gateway instance running it
}

func toResponse(s service.Session) sessionResponse {
	out := sessionResponse{SessionID: s.ID, Status: string(s.Status), Reason: s.Reason, JID: s.JID, Instance: s.Instance}
	if s.QR != nil && s.QR.Image != "" {
		out.QR = &s.QR.Image
		if !s.QR.ExpiresAt.IsZero() {
			out.QRExpiresAt = &s.QR.ExpiresAt
		}
	}
	if !s.UpdatedAt.IsZero() {
		out.UpdatedAt = &s.UpdatedAt
	}
	return out
}

// POST /start {"user_id":1} or {"session_id":"abc123"}
func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	var req startRequest
	if err := decode(w, r, &req, false); err != nil {
		s.failDecode(w, r, err)
		return
	}
	id := req.SessionID
	switch {
	case id != "":
	case req.UserID == nil:
		s.fail(w, r, service.Errorf(service.EINVALID, "give session_id or user_id"))
		return
	case *req.UserID <= 0:
		s.fail(w, r, service.Errorf(service.EINVALID, "user_id must be a positive integer"))
		return
	default:
		id = service.UserSessionID(*req.UserID)
	}
	sess, err := s.cfg.Sessions.Start(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := startResponse{SessionID: sess.ID, Status: string(sess.Status)}
	if sess.QR != nil && sess.QR.Image != "" {
		res.QR = &sess.QR.Image
	}
	s.writeJSON(w, http.StatusOK, res)
}

// GET /sessions
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	var list []service.Session
	switch scope := r.URL.Query().Get("scope"); scope {
	case "local": // only what runs in this instance (operators, the e2e ownership check)
		list = s.cfg.Sessions.Local()
	case "", "cluster":
		var err error
		if list, err = s.cfg.Sessions.Sessions(r.Context()); err != nil {
			s.fail(w, r, err)
			return
		}
	default:
		s.fail(w, r, service.Errorf(service.EINVALID, "scope must be local or cluster, got %.20q", scope))
		return
	}
	out := make([]sessionResponse, 0, len(list))
	for _, sess := range list {
		out = append(out, toResponse(sess))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"sessions": out, "count": len(out)})
}

// pathID returns the {id} path value, validated.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	return id, service.ValidateSessionID(id)
}

// GET /sessions/{id}
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, src, err := s.cfg.Sessions.Session(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := toResponse(sess)
	res.Source = string(src)
	s.writeSession(w, http.StatusOK, res)
}

// GET /sessions/{id}/qr: the current QR code as a PNG.
func (s *Server) handleQR(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, _, err := s.cfg.Sessions.Session(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var png []byte
	if sess.QR != nil {
		png, err = s.cfg.QRImage(sess.QR.Image)
	}
	switch {
	case sess.QR == nil, service.ErrorCode(err) == service.EINVALID:
		s.fail(w, r, service.Errorf(service.ENOTFOUND, "session %s has no QR code (estado_qr %q)", id, sess.Status))
		return
	case err != nil:
		s.fail(w, r, err) // our own cache holds a broken image: internal
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store") // a code lives 20 s
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(png)
}

// POST /sessions/{id}/logout
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Sessions.Logout(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, startResponse{SessionID: id, Status: string(service.StatusInactive)})
}

// DELETE /sessions/{id}
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Sessions.Delete(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"session_id": id, "deleted": true})
}

// POST /sessions/{id}/pair-phone {"phone":"5511999990000"}
func (s *Server) handlePairPhone(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Phone string `json:"phone"`
	}
	if err := decode(w, r, &req, false); err != nil {
		s.failDecode(w, r, err)
		return
	}
	code, err := s.cfg.Pairer.PairPhone(r.Context(), id, req.Phone)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"session_id": id, "code": code})
}

// POST /sim/sessions/{id}/scan
func (s *Server) handleSimScan(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Sim.Scan(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusAccepted, map[string]string{"session_id": id, "action": "scan"})
}

// POST /sim/sessions/{id}/close, optional body {"reason":"logged_out"}
func (s *Server) handleSimClose(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &req, true); err != nil {
		s.failDecode(w, r, err)
		return
	}
	if req.Reason == "" {
		req.Reason = service.ReasonLoggedOut
	}
	if err := s.cfg.Sim.CloseSession(r.Context(), id, req.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusAccepted, map[string]string{"session_id": id, "action": "close", "reason": req.Reason})
}
