package mocklaravel

import (
	"encoding/json"
	"net/http"
)

// adminRoutes are the /__mock/ endpoints: never behind the token or faults.
func (s *Server) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /__mock/health", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, reply{status: http.StatusOK, body: map[string]string{"status": "ok"}})
	})
	mux.HandleFunc("GET /__mock/stats", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, reply{status: http.StatusOK, body: s.Stats()})
	})
	mux.HandleFunc("POST /__mock/reset", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reset(r.Context()); err != nil {
			s.log.ErrorContext(r.Context(), "reset failed", "err", err)
			writeReply(w, messageReply(http.StatusInternalServerError, err.Error()))
			return
		}
		writeReply(w, reply{status: http.StatusOK, body: map[string]bool{"success": true}})
	})
	mux.HandleFunc("GET /__mock/faults", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, reply{status: http.StatusOK, body: s.Faults()})
	})
	mux.HandleFunc("POST /__mock/faults", s.postFaults)
	mux.HandleFunc("DELETE /__mock/faults", func(w http.ResponseWriter, r *http.Request) {
		_ = s.SetFaults(Faults{}) // the zero Faults is always valid
		writeReply(w, reply{status: http.StatusOK, body: s.Faults()})
	})
	mux.HandleFunc("GET /__mock/accounts", s.listAccounts)
	mux.HandleFunc("POST /__mock/accounts", s.postAccount)
	mux.HandleFunc("GET /__mock/accounts/{id}", s.getAccount)
	mux.HandleFunc("DELETE /__mock/accounts/{id}", s.deleteAccount)
	mux.HandleFunc("GET /__mock/idempotency", s.getIdempotency)
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, messageReply(http.StatusNotFound, "no such mock endpoint: "+r.Method+" "+r.URL.Path))
	}
	mux.HandleFunc("/__mock/", notFound)
	mux.HandleFunc("/__mock", notFound)
	return mux
}

// decodeStrict reads a /__mock/ body, rejecting unknown members so a typo
// in a fault ("latency" for "latency_ms") fails loudly instead of doing nothing.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, DefaultMaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeReply(w, messageReply(http.StatusBadRequest, "invalid JSON body: "+err.Error()))
		return false
	}
	return true
}

func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if !decodeStrict(w, r, &f) {
		return
	}
	if err := s.SetFaults(f); err != nil {
		writeReply(w, messageReply(http.StatusUnprocessableEntity, err.Error()))
		return
	}
	writeReply(w, reply{status: http.StatusOK, body: s.Faults()})
}

// listAccounts answers {"accounts":[…],"count":N}; ?estado_qr= filters.
func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	estado := r.URL.Query().Get("estado_qr")
	if estado != "" && !validStatus(estado) {
		writeReply(w, messageReply(http.StatusUnprocessableEntity, "unknown estado_qr "+estado))
		return
	}
	as, err := s.store.accounts(r.Context(), estado)
	if err != nil {
		s.log.ErrorContext(r.Context(), "list accounts failed", "err", err)
		writeReply(w, messageReply(http.StatusInternalServerError, err.Error()))
		return
	}
	writeReply(w, reply{status: http.StatusOK, body: struct {
		Accounts []Account `json:"accounts"`
		Count    int       `json:"count"`
	}{as, len(as)}})
}

func (s *Server) postAccount(w http.ResponseWriter, r *http.Request) {
	var a Account
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, DefaultMaxBodyBytes)).Decode(&a); err != nil {
		writeReply(w, messageReply(http.StatusBadRequest, "invalid JSON body: "+err.Error()))
		return
	}
	if err := s.UpsertAccount(r.Context(), a); err != nil {
		writeReply(w, messageReply(http.StatusUnprocessableEntity, err.Error()))
		return
	}
	stored, _, err := s.Account(r.Context(), a.SessionID)
	if err != nil {
		writeReply(w, messageReply(http.StatusInternalServerError, err.Error()))
		return
	}
	writeReply(w, reply{status: http.StatusOK, body: stored})
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	a, ok, err := s.Account(r.Context(), r.PathValue("id"))
	switch {
	case err != nil:
		writeReply(w, messageReply(http.StatusInternalServerError, err.Error()))
	case !ok:
		writeReply(w, messageReply(http.StatusNotFound, "no account "+r.PathValue("id")))
	default:
		writeReply(w, reply{status: http.StatusOK, body: a})
	}
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) {
	ok, err := s.DeleteAccount(r.Context(), r.PathValue("id"))
	switch {
	case err != nil:
		writeReply(w, messageReply(http.StatusInternalServerError, err.Error()))
	case !ok:
		writeReply(w, messageReply(http.StatusNotFound, "no account "+r.PathValue("id")))
	default:
		writeReply(w, reply{status: http.StatusOK, body: map[string]bool{"success": true}})
	}
}

// getIdempotency answers {"keys":N,"replays":R}, plus "seen" (times per
// endpoint) for ?key=.
func (s *Server) getIdempotency(w http.ResponseWriter, r *http.Request) {
	st := s.Stats()
	body := map[string]any{"keys": st.IdempotencyKeys, "replays": st.Replays, "capacity": IdempotencyCapacity}
	if key := r.URL.Query().Get("key"); key != "" {
		body["key"] = key
		body["seen"] = s.IdempotencyCount(key)
	}
	writeReply(w, reply{status: http.StatusOK, body: body})
}
