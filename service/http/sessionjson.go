package http

import (
	"net/http"
	"sync"
	"time"

	"wagateway/internal/jsonenc"
)

// appendSession appends r as encoding/json writes it (json.Encoder.Encode:
// the same bytes, newline included), without reflection. GET
// /sessions/{id} is the gateway's busiest route (Laravel polls it), and
// encoding/json spent most of the handler's time on the 2 KB QR data URL;
// TestAppendSessionMatchesEncodingJSON holds the two to the same output.
func appendSession(b []byte, r sessionResponse) []byte {
	b = append(b, `{"session_id":`...)
	b = jsonenc.String(b, r.SessionID)
	b = append(b, `,"estado_qr":`...)
	b = jsonenc.String(b, r.Status)
	b = jsonenc.OmitEmpty(b, `,"reason":`, r.Reason)
	b = jsonenc.OmitEmpty(b, `,"jid":`, r.JID)
	b = append(b, `,"qr":`...)
	if r.QR == nil {
		b = append(b, "null"...)
	} else {
		b = jsonenc.String(b, *r.QR)
	}
	if r.QRExpiresAt != nil {
		b = append(b, `,"qr_expires_at":`...)
		b = jsonenc.Time(b, *r.QRExpiresAt)
	}
	if r.UpdatedAt != nil {
		b = append(b, `,"updated_at":`...)
		b = jsonenc.Time(b, *r.UpdatedAt)
	}
	b = jsonenc.OmitEmpty(b, `,"source":`, r.Source)
	b = jsonenc.OmitEmpty(b, `,"instance":`, r.Instance)
	return append(b, "}\n"...)
}

// sessionBufs keeps the buffers of writeSession.
var sessionBufs = sync.Pool{New: func() any { return new([]byte) }}

// encodableTime reports whether time.Time's MarshalJSON takes t (a year
// in 0–9999).
func encodableTime(t *time.Time) bool { return t == nil || jsonenc.Encodable(*t) }

// writeSession answers with r, as writeJSON would.
func (s *Server) writeSession(w http.ResponseWriter, status int, r sessionResponse) {
	if !encodableTime(r.QRExpiresAt) || !encodableTime(r.UpdatedAt) {
		s.writeJSON(w, status, r) // which reports the error as it always did
		return
	}
	writeJSONHeader(w, status)
	buf := sessionBufs.Get().(*[]byte)
	*buf = appendSession((*buf)[:0], r)
	if _, err := w.Write(*buf); err != nil {
		s.log.Debug("write response", "err", err) // the client went away
	}
	sessionBufs.Put(buf)
}
