package laravel

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"wagateway/service"
)

// maxMessageLen keeps error messages (which end up in logs and dead letters) short.
const maxMessageLen = 500

// errorBody is Laravel's error JSON: {"message": …, "errors": {field: […]}}.
type errorBody struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
}

// classify turns a non-2xx answer into a *service.DeliveryError. field is
// the batch's array name ("qrs", "statuses") whose indices a 422 may name.
func (c *Client) classify(resp *http.Response, raw []byte, field string, n int) *service.DeliveryError {
	de := &service.DeliveryError{
		StatusCode: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.now()),
	}
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && (eb.Message != "" || len(eb.Errors) > 0) {
		de.Message = eb.Message
		if fe := fieldErrors(eb.Errors); fe != "" {
			if de.Message != "" {
				de.Message += " "
			}
			de.Message += "(" + fe + ")"
		}
		if field != "" {
			de.Invalid = invalidIndices(eb.Errors, field, n)
		}
	} else {
		de.Message = bodyStart(raw)
	}
	if de.Message == "" {
		de.Message = http.StatusText(resp.StatusCode)
	}
	de.Message = truncate(de.Message, maxMessageLen)
	de.Err = fmt.Errorf("laravel %s %s: status %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode)
	return de
}

// maxRetryAfter caps what Laravel's Retry-After can make us wait.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date; 0 when
// absent, unreadable or already past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Cap absurd values before they overflow a Duration.
		if secs > int64(maxRetryAfter.Seconds()) {
			secs = int64(maxRetryAfter.Seconds())
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			// The same cap as delta-seconds: a date years ahead must not
			// stall a lane until the next restart.
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// invalidIndices collects the item indices named by error keys such as
// "qrs.3.qr" or "statuses.12" (field "qrs"/"statuses"), sorted, in [0, n).
func invalidIndices(errs map[string][]string, field string, n int) []int {
	var out []int
	for k := range errs {
		rest, ok := strings.CutPrefix(k, field+".")
		if !ok {
			continue
		}
		idx, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= n {
			continue
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

// fieldErrors renders Laravel's errors map compactly and in a stable order,
// so a dead letter says which field was wrong.
func fieldErrors(errs map[string][]string) string {
	if len(errs) == 0 {
		return ""
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(errs[k], " "))
	}
	return strings.Join(parts, "; ")
}

// bodyStart is the start of a body for messages and logs.
func bodyStart(raw []byte) string {
	return truncate(strings.TrimSpace(string(raw)), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s + "…"
}
