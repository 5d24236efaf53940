// Package jsonenc writes the JSON of the gateway's hot-path values by hand,
// byte for byte as encoding/json writes them, without reflection.
//
// Every QR event is encoded twice (the outbox item and the cache row), and
// each carries a 1.3 KB PNG data URL: encoding/json scanned it for escapes,
// then validated its own output again. The tests hold each function here
// to encoding/json's bytes, and fail when a type gains a field these
// functions do not write.
package jsonenc

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"wagateway/service"
)

// timeError is encoding/json's own error for a time it refuses, so the
// callers report what they reported before.
func timeError(t time.Time) error {
	_, err := json.Marshal(t)
	return err
}

// String appends s quoted. A string with anything encoding/json would
// escape (quotes, backslashes, control and non-ASCII bytes, and <, >, &,
// which it escapes for HTML) goes through encoding/json itself.
func String(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if escaped[s[i]] {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// escaped marks the bytes String leaves to encoding/json: a table, since
// the test of each byte is the cost of a 1.3 KB data URL.
var escaped = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&'
	}
	return t
}()

// OmitEmpty appends the field key (its comma and colon included) with v,
// unless v is empty: a field tagged omitempty.
func OmitEmpty(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return String(append(b, key...), v)
}

// Encodable reports whether time.Time's MarshalJSON takes t: a year in
// 0–9999.
func Encodable(t time.Time) bool { return t.Year() >= 0 && t.Year() <= 9999 }

// Time appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds). The caller checks Encodable first.
func Time(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// Update appends u as json.Marshal(u) writes it.
func Update(b []byte, u service.Update) ([]byte, error) {
	if !Encodable(u.At) {
		return b, timeError(u.At)
	}
	// One allocation: the fixed text and two times are under 160 bytes.
	b = slices.Grow(b, 160+len(u.ID)+len(u.Kind)+len(u.Lane)+len(u.SessionID)+len(u.QR)+len(u.Status)+len(u.Reason))
	b = append(b, '{')
	if u.ID != "" {
		b = String(append(b, `"id":`...), u.ID)
		b = append(b, ',')
	}
	b = String(append(b, `"kind":`...), string(u.Kind))
	b = String(append(b, `,"lane":`...), string(u.Lane))
	b = String(append(b, `,"session_id":`...), u.SessionID)
	b = OmitEmpty(b, `,"qr":`, u.QR)
	b = OmitEmpty(b, `,"status":`, string(u.Status))
	b = OmitEmpty(b, `,"reason":`, u.Reason)
	b = Time(append(b, `,"at":`...), u.At)
	if u.Attempts != 0 {
		b = strconv.AppendInt(append(b, `,"attempts":`...), int64(u.Attempts), 10)
	}
	return append(b, '}'), nil
}

// StatusRecord appends r as json.Marshal(r) writes it.
func StatusRecord(b []byte, r service.StatusRecord) ([]byte, error) {
	if !Encodable(r.UpdatedAt) {
		return b, timeError(r.UpdatedAt)
	}
	b = slices.Grow(b, 128+len(r.SessionID)+len(r.Status)+len(r.Reason))
	b = String(append(b, `{"session_id":`...), r.SessionID)
	b = String(append(b, `,"estado_qr":`...), string(r.Status))
	b = OmitEmpty(b, `,"reason":`, r.Reason)
	b = Time(append(b, `,"updated_at":`...), r.UpdatedAt)
	return append(b, '}'), nil
}

// QRWithCode appends q as json.Marshal writes a struct that embeds
// service.QR and adds the field Code (tagged code,omitempty) after it: the
// caches' row, which keeps the raw code service.QR hides from JSON.
func QRWithCode(b []byte, q service.QR) ([]byte, error) {
	if !Encodable(q.IssuedAt) {
		return b, timeError(q.IssuedAt)
	}
	if !Encodable(q.ExpiresAt) {
		return b, timeError(q.ExpiresAt)
	}
	b = slices.Grow(b, 160+len(q.SessionID)+len(q.Image)+len(q.Code))
	b = String(append(b, `{"session_id":`...), q.SessionID)
	b = String(append(b, `,"qr":`...), q.Image)
	b = Time(append(b, `,"generated_at":`...), q.IssuedAt)
	b = Time(append(b, `,"expires_at":`...), q.ExpiresAt)
	b = OmitEmpty(b, `,"code":`, q.Code)
	return append(b, '}'), nil
}
