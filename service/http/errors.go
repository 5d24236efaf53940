package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"wagateway/service"
)

// codeStatus maps application error codes to HTTP statuses: the one table.
var codeStatus = map[string]int{
	service.EINVALID:      http.StatusBadRequest,
	service.ENOTFOUND:     http.StatusNotFound,
	service.ECONFLICT:     http.StatusConflict,
	service.EUNAUTHORIZED: http.StatusUnauthorized,
	service.EUNAVAILABLE:  http.StatusServiceUnavailable,
	service.EINTERNAL:     http.StatusInternalServerError,
}

// StatusOf returns the HTTP status of an application error code.
func StatusOf(code string) int {
	if st, ok := codeStatus[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// fail writes err as {"error":{…}}; internal details go to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := service.ErrorCode(err)
	status := StatusOf(code)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	s.writeError(w, status, code, service.ErrorMessage(err))
}

func (s *Server) writeError(w http.ResponseWriter, status int, code, message string) {
	var body errorBody
	body.Error.Code, body.Error.Message = code, message
	s.writeJSON(w, status, body)
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONHeader(w, status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("write response", "err", err) // the client went away
	}
}

// The header values of a JSON answer, shared by every response (net/http
// only reads them): Header().Set allocated a slice per value per answer.
var (
	jsonContentType = []string{"application/json"}
	// Answers are live session state and may carry a QR code: no proxy or
	// browser may keep them.
	noStore = []string{"no-store"}
)

// writeJSONHeader sends status with the headers of a JSON answer.
func writeJSONHeader(w http.ResponseWriter, status int) {
	h := w.Header()
	h["Content-Type"], h["Cache-Control"], h["Date"] = jsonContentType, noStore, httpDate(time.Now())
	w.WriteHeader(status)
}

// dateHeader is the Date header of one second.
type dateHeader struct {
	unix  int64
	value []string
}

var lastDate atomic.Pointer[dateHeader]

// httpDate returns the Date header for now, formatted once a second: net/http
// formats it for every answer that has none, and GET /sessions/{id} answers
// hundreds a second.
func httpDate(now time.Time) []string {
	sec := now.Unix()
	if d := lastDate.Load(); d != nil && d.unix == sec {
		return d.value
	}
	d := &dateHeader{unix: sec, value: []string{now.UTC().Format(http.TimeFormat)}}
	lastDate.Store(d)
	return d.value
}

// maxBody bounds every request body.
const maxBody = 64 << 10

// errTooLarge marks a body over maxBody: 413, not 400.
var errTooLarge = errors.New("request body too large")

// decode reads exactly one JSON object into v: unknown fields, trailing
// data and bodies over 64 KB are refused. An empty body is allowed when
// optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, optional)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		// err is nil when a second whole object follows ("{}{}").
		if err != nil && errors.Is(jsonError(err, false), errTooLarge) {
			return errTooLarge
		}
		return service.Errorf(service.EINVALID, "invalid JSON body: unexpected data after the object")
	}
	return nil
}

func jsonError(err error, optional bool) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return errTooLarge
	case errors.Is(err, io.EOF):
		if optional {
			return nil
		}
		return service.Errorf(service.EINVALID, "request body must be a JSON object")
	case errors.As(err, &syntax):
		return service.Errorf(service.EINVALID, "invalid JSON body at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return service.Errorf(service.EINVALID, "invalid JSON body: %s must be %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return service.Errorf(service.EINVALID, "invalid JSON body: unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return service.Errorf(service.EINVALID, "invalid JSON body: %s", err)
}

// failDecode answers a decode error: 413 for a body too large, else 400.
func (s *Server) failDecode(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errTooLarge) {
		s.writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", maxBody))
		return
	}
	s.fail(w, r, err)
}
