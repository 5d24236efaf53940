package http

import (
	"net/http"
	"strconv"

	"wagateway/service"
)

// Sizes of GET /sessions/{id}/history.
const (
	defaultHistoryLimit = 20
	maxHistoryLimit     = 1000
)

type historyResponse struct {
	SessionID string                 `json:"session_id"`
	History   []service.StatusChange `json:"history"`
}

// GET /sessions/{id}/history?limit=20: the last status changes, newest first.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit := defaultHistoryLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryLimit {
			s.fail(w, r, service.Errorf(service.EINVALID, "limit must be 1 to %d, got %q", maxHistoryLimit, v))
			return
		}
		limit = n
	}
	changes, err := s.cfg.History.History(r.Context(), id, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, historyResponse{SessionID: id, History: changes})
}
