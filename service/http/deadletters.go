package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"wagateway/service"
)

// DeadLetters is what the API needs of the dead-letter service
// (service/delivery).
type DeadLetters interface {
	List(ctx context.Context, q service.DeadLetterQuery) ([]service.DeadLetter, error)
	Replay(ctx context.Context, q service.DeadLetterQuery) (service.ReplayResult, error)
	Delete(ctx context.Context, id string) error
}

// Page sizes of GET /deadletters.
const (
	defaultDeadLetterPage = 50
	maxDeadLetterPage     = 500
)

type deadLetterResponse struct {
	ID        string         `json:"id"`
	SessionID string         `json:"session_id"`
	Kind      service.Kind   `json:"kind"`
	Lane      service.Lane   `json:"lane"`
	Reason    string         `json:"reason"`
	Attempts  int            `json:"attempts"`
	DeadAt    time.Time      `json:"dead_at"`
	Item      service.Update `json:"item"`
}

type deadLettersPage struct {
	DeadLetters []deadLetterResponse `json:"dead_letters"`
	// Next is the before= of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// GET /deadletters?limit=50&before=<id>&session_id=<id>: newest first.
func (s *Server) handleDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := service.DeadLetterQuery{Limit: defaultDeadLetterPage, Before: r.URL.Query().Get("before"),
		SessionID: r.URL.Query().Get("session_id")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeadLetterPage {
			s.fail(w, r, service.Errorf(service.EINVALID, "limit must be 1 to %d, got %q", maxDeadLetterPage, v))
			return
		}
		q.Limit = n
	}
	if q.SessionID != "" {
		if err := service.ValidateSessionID(q.SessionID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	// One more than the page tells whether another page follows.
	want := q.Limit
	q.Limit++
	list, err := s.cfg.DeadLetters.List(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := deadLettersPage{DeadLetters: make([]deadLetterResponse, 0, min(len(list), want))}
	if len(list) > want {
		list = list[:want]
		res.Next = list[want-1].ID
	}
	for _, dl := range list {
		res.DeadLetters = append(res.DeadLetters, deadLetterResponse{
			ID: dl.ID, SessionID: dl.Item.SessionID, Kind: dl.Item.Kind, Lane: dl.Item.Lane,
			Reason: dl.Reason, Attempts: dl.Item.Attempts, DeadAt: dl.At, Item: dl.Item,
		})
	}
	s.writeJSON(w, http.StatusOK, res)
}

type replayRequest struct {
	All       bool     `json:"all"`
	SessionID string   `json:"session_id"`
	IDs       []string `json:"ids"`
}

// POST /deadletters/replay {"all":true} | {"session_id":"…"} | {"ids":["…"]}:
// through the outbox again, then off the dead letters.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	var req replayRequest
	if err := decode(w, r, &req, false); err != nil {
		s.failDecode(w, r, err)
		return
	}
	picks := 0
	for _, set := range []bool{req.All, req.SessionID != "", len(req.IDs) > 0} {
		if set {
			picks++
		}
	}
	if picks != 1 {
		s.fail(w, r, service.Errorf(service.EINVALID, `give exactly one of "all":true, "session_id" or "ids"`))
		return
	}
	if req.SessionID != "" {
		if err := service.ValidateSessionID(req.SessionID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if len(req.IDs) > maxDeadLetterPage {
		s.fail(w, r, service.Errorf(service.EINVALID, "at most %d ids at once, got %d", maxDeadLetterPage, len(req.IDs)))
		return
	}
	res, err := s.cfg.DeadLetters.Replay(r.Context(), service.DeadLetterQuery{SessionID: req.SessionID, IDs: req.IDs})
	if err != nil && res.Replayed == 0 {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		// Part of it went through: say what, and log why the rest did not.
		s.log.Warn("replay stopped early", "replayed", res.Replayed, "err", err)
	}
	s.writeJSON(w, http.StatusOK, res)
}

// DELETE /deadletters/{id}
func (s *Server) handleDeleteDeadLetter(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.DeadLetters.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
