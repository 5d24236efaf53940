package http

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// appendSession appends r as encoding/json writes it (json.Encoder.Encode:
// the same bytes, newline included), without reflection. GET
// /sessions/{id} is the gateway's busiest route (Laravel polls it), and
// encoding/json spent most of the handler's time on the 2 KB QR data URL;
// TestAppendSessionMatchesEncodingJSON holds the two to the same output.
func appendSession(b []byte, r sessionResponse) []byte {
	b = append(b, `{"session_id":`...)
	b = appendString(b, r.SessionID)
	b = append(b, `,"estado_qr":`...)
	b = appendString(b, r.Status)
	b = appendOmitEmpty(b, `,"reason":`, r.Reason)
	b = appendOmitEmpty(b, `,"jid":`, r.JID)
	b = append(b, `,"qr":`...)
	if r.QR == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *r.QR)
	}
	if r.QRExpiresAt != nil {
		b = append(b, `,"qr_expires_at":`...)
		b = appendTime(b, *r.QRExpiresAt)
	}
	if r.UpdatedAt != nil {
		b = append(b, `,"updated_at":`...)
		b = appendTime(b, *r.UpdatedAt)
	}
	b = appendOmitEmpty(b, `,"source":`, r.Source)
	b = appendOmitEmpty(b, `,"instance":`, r.Instance)
	return append(b, "}\n"...)
}

// appendOmitEmpty appends the field key (its comma and colon included)
// with v, unless v is empty: a field tagged omitempty.
func appendOmitEmpty(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(append(b, key...), v)
}

// appendString quotes s; a string with anything encoding/json would
// escape (quotes, backslashes, control and non-ASCII bytes, and <, >, &
// as it escapes them for HTML) goes through encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime writes t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds); writeSession leaves the times it refuses to encoding/json.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// sessionBufs keeps the buffers of writeSession.
var sessionBufs = sync.Pool{New: func() any { return new([]byte) }}

// encodableTime reports whether time.Time's MarshalJSON takes t (a year
// in 0–9999).
func encodableTime(t *time.Time) bool { return t == nil || (t.Year() >= 0 && t.Year() <= 9999) }

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
