package mocklaravel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MaxBatchItems is the largest batch Laravel's validator accepts (max:500).
const MaxBatchItems = 500

// qrPrefix is Laravel's `starts_with:data:image/png`: the checklist's own
// rule, which its example "data:image/png..." passes. The gateway always
// sends "data:image/png;base64,<base64>"; the payload is not checked, as
// Laravel does not check it either.
const qrPrefix = "data:image/png"

// field is one JSON member of a request body. Bodies are decoded into
// `any` in one pass (QR batches are ~100 KB), and a wrong type becomes a
// 422 from the validator, as in Laravel, instead of a 400.
type field struct {
	present bool // the key is there and not null
	isStr   bool
	s       string
}

func fieldOf(v any) field {
	switch x := v.(type) {
	case nil:
		return field{}
	case string:
		// Laravel's stock TrimStrings middleware trims every input string
		// (PHP's trim() set) before validation, nested items included.
		return field{present: true, isStr: true, s: strings.Trim(x, phpTrimSet)}
	}
	return field{present: true}
}

// phpTrimSet is what PHP's trim() removes by default.
const phpTrimSet = " \t\n\r\x00\x0B"

// list is the batch member ("qrs", "statuses") of a decoded body.
type list struct {
	present bool
	isArray bool
	items   []any
}

func listOf(v any) list {
	switch x := v.(type) {
	case nil:
		return list{}
	case []any:
		return list{present: true, isArray: true, items: x}
	}
	return list{present: true}
}

// members returns the object members of a decoded JSON value; any other
// value has none (every field is then missing, as Laravel sees it).
func members(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// fieldErrors is Laravel's validation error bag: fields in the order their
// rules ran, each with its messages.
type fieldErrors struct {
	keys []string
	msgs map[string][]string
}

func (e *fieldErrors) add(key, msg string) {
	if e.msgs == nil {
		e.msgs = map[string][]string{}
	}
	if _, ok := e.msgs[key]; !ok {
		e.keys = append(e.keys, key)
	}
	e.msgs[key] = append(e.msgs[key], msg)
}

// message summarises the bag like Laravel's ValidationException: the first
// message, then "(and N more errors)".
func (e *fieldErrors) message() string {
	n := 0
	for _, k := range e.keys {
		n += len(e.msgs[k])
	}
	first := e.msgs[e.keys[0]][0]
	switch n - 1 {
	case 0:
		return first
	case 1:
		return first + " (and 1 more error)"
	default:
		return fmt.Sprintf("%s (and %d more errors)", first, n-1)
	}
}

// MarshalJSON keeps the rule order (a Go map would sort "x.10" before "x.2").
func (e *fieldErrors) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range e.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(e.msgs[k])
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// validationReply is Laravel's 422 answer.
func validationReply(e *fieldErrors) reply {
	return reply{status: 422, body: struct {
		Message string       `json:"message"`
		Errors  *fieldErrors `json:"errors"`
	}{e.message(), e}}
}

// Rule messages use Laravel's ":attribute" placeholder; message() fills it in.
const (
	msgRequired = "The :attribute field is required."
	msgString   = "The :attribute field must be a string."
	msgArray    = "The :attribute field must be an array."
	msgMaxItems = "The :attribute field must not have more than 500 items."
	msgMaxChars = "The :attribute field must not be greater than 64 characters."
	msgFormat   = "The :attribute field format is invalid."
	msgIn       = "The selected :attribute is invalid."
	msgPrefix   = "The :attribute field must start with one of the following: " + qrPrefix + "."
	msgDate     = "The :attribute field must be a valid date."
)

func message(template, attr string) string { return strings.Replace(template, ":attribute", attr, 1) }

// Each check returns the message template of the first failing rule, ""
// when the value passes.

// checkList applies `required|array|max:500` to the batch key.
func checkList(l list) string {
	switch {
	case !l.present || (l.isArray && len(l.items) == 0):
		return msgRequired
	case !l.isArray:
		return msgArray
	case len(l.items) > MaxBatchItems:
		return msgMaxItems
	}
	return ""
}

func checkRequiredString(f field) string {
	switch {
	case !f.present || (f.isStr && f.s == ""):
		return msgRequired
	case !f.isStr:
		return msgString
	}
	return ""
}

// checkSessionID: required|string|max:64|regex:/^[A-Za-z0-9_-]+$/
func checkSessionID(f field) string {
	if m := checkRequiredString(f); m != "" {
		return m
	}
	if len(f.s) > 64 {
		return msgMaxChars
	}
	if !validSessionID(f.s) {
		return msgFormat
	}
	return ""
}

func validSessionID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkStatus: required|string|in:pending,active,inactive,expired
func checkStatus(f field) string {
	if m := checkRequiredString(f); m != "" {
		return m
	}
	if !validStatus(f.s) {
		return msgIn
	}
	return ""
}

// checkQR: required|string|starts_with:data:image/png
func checkQR(f field) string {
	if m := checkRequiredString(f); m != "" {
		return m
	}
	if !strings.HasPrefix(f.s, qrPrefix) {
		return msgPrefix
	}
	return ""
}

// checkTime: nullable|string|date, RFC 3339 with or without fractional
// seconds (the caller handles the absent case).
func checkTime(f field) (time.Time, string) {
	if m := checkRequiredString(f); m != "" {
		return time.Time{}, m
	}
	t, err := parseTime(f.s)
	if err != nil {
		return time.Time{}, msgDate
	}
	return t, ""
}
