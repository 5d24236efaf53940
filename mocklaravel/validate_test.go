package mocklaravel

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestBatchValidation(t *testing.T) {
	longID := strings.Repeat("a", 65)
	many := make([]map[string]any, MaxBatchItems+1)
	for i := range many {
		many[i] = statusItemJSON(fmt.Sprintf("s%d", i), "active", 0)
	}
	manyQRs := make([]map[string]any, MaxBatchItems+1)
	for i := range manyQRs {
		manyQRs[i] = qrItemJSON(fmt.Sprintf("s%d", i), 0)
	}
	okStatus := statusItemJSON("ok1", "active", 0)
	okQR := qrItemJSON("ok1", 0)
	with := func(item map[string]any, k string, v any) map[string]any {
		out := maps.Clone(item)
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}

	tests := []struct {
		name    string
		path    string
		body    any
		message string
		errors  map[string][]string
	}{
		// statuses
		{"statuses missing", "/api/whatsapp/status/batch", `{}`, "The statuses field is required.",
			map[string][]string{"statuses": {"The statuses field is required."}}},
		{"statuses null", "/api/whatsapp/status/batch", `{"statuses":null}`, "The statuses field is required.",
			map[string][]string{"statuses": {"The statuses field is required."}}},
		{"statuses empty", "/api/whatsapp/status/batch", `{"statuses":[]}`, "The statuses field is required.",
			map[string][]string{"statuses": {"The statuses field is required."}}},
		{"statuses not an array", "/api/whatsapp/status/batch", `{"statuses":"x"}`, "The statuses field must be an array.",
			map[string][]string{"statuses": {"The statuses field must be an array."}}},
		{"body is an array", "/api/whatsapp/status/batch", `[1,2]`, "The statuses field is required.",
			map[string][]string{"statuses": {"The statuses field is required."}}},
		{"statuses too many", "/api/whatsapp/status/batch", statuses(many...), "The statuses field must not have more than 500 items.",
			map[string][]string{"statuses": {"The statuses field must not have more than 500 items."}}},
		{"session_id missing", "/api/whatsapp/status/batch", statuses(okStatus, with(okStatus, "session_id", nil)),
			"The statuses.1.session_id field is required.",
			map[string][]string{"statuses.1.session_id": {"The statuses.1.session_id field is required."}}},
		{"session_id empty", "/api/whatsapp/status/batch", statuses(with(okStatus, "session_id", "")),
			"The statuses.0.session_id field is required.",
			map[string][]string{"statuses.0.session_id": {"The statuses.0.session_id field is required."}}},
		{"session_id not a string", "/api/whatsapp/status/batch", statuses(with(okStatus, "session_id", 42)),
			"The statuses.0.session_id field must be a string.",
			map[string][]string{"statuses.0.session_id": {"The statuses.0.session_id field must be a string."}}},
		{"session_id bad characters", "/api/whatsapp/status/batch", statuses(with(okStatus, "session_id", "a b/c")),
			"The statuses.0.session_id field format is invalid.",
			map[string][]string{"statuses.0.session_id": {"The statuses.0.session_id field format is invalid."}}},
		{"session_id too long", "/api/whatsapp/status/batch", statuses(with(okStatus, "session_id", longID)),
			"The statuses.0.session_id field must not be greater than 64 characters.",
			map[string][]string{"statuses.0.session_id": {"The statuses.0.session_id field must not be greater than 64 characters."}}},
		{"estado_qr missing", "/api/whatsapp/status/batch", statuses(okStatus, okStatus, okStatus, with(okStatus, "estado_qr", nil)),
			"The statuses.3.estado_qr field is required.",
			map[string][]string{"statuses.3.estado_qr": {"The statuses.3.estado_qr field is required."}}},
		{"estado_qr unknown", "/api/whatsapp/status/batch", statuses(with(okStatus, "estado_qr", "connected")),
			"The selected statuses.0.estado_qr is invalid.",
			map[string][]string{"statuses.0.estado_qr": {"The selected statuses.0.estado_qr is invalid."}}},
		{"updated_at not RFC 3339", "/api/whatsapp/status/batch", statuses(with(okStatus, "updated_at", "2026-11-27 12:00:00")),
			"The statuses.0.updated_at field must be a valid date.",
			map[string][]string{"statuses.0.updated_at": {"The statuses.0.updated_at field must be a valid date."}}},
		{"updated_at a number", "/api/whatsapp/status/batch", statuses(with(okStatus, "updated_at", 1764244800000)),
			"The statuses.0.updated_at field must be a string.",
			map[string][]string{"statuses.0.updated_at": {"The statuses.0.updated_at field must be a string."}}},
		{"item not an object", "/api/whatsapp/status/batch", `{"statuses":["abc"]}`,
			"The statuses.0.session_id field is required. (and 1 more error)",
			map[string][]string{
				"statuses.0.session_id": {"The statuses.0.session_id field is required."},
				"statuses.0.estado_qr":  {"The statuses.0.estado_qr field is required."},
			}},
		{"several errors, rule order", "/api/whatsapp/status/batch",
			statuses(okStatus, okStatus, with(okStatus, "updated_at", "yesterday"), with(okStatus, "estado_qr", nil), with(okStatus, "session_id", "x y")),
			"The statuses.4.session_id field format is invalid. (and 2 more errors)",
			map[string][]string{
				"statuses.4.session_id": {"The statuses.4.session_id field format is invalid."},
				"statuses.3.estado_qr":  {"The statuses.3.estado_qr field is required."},
				"statuses.2.updated_at": {"The statuses.2.updated_at field must be a valid date."},
			}},
		{"one more error, singular", "/api/whatsapp/status/batch",
			statuses(with(with(okStatus, "estado_qr", "x"), "updated_at", "y")),
			"The selected statuses.0.estado_qr is invalid. (and 1 more error)",
			map[string][]string{
				"statuses.0.estado_qr":  {"The selected statuses.0.estado_qr is invalid."},
				"statuses.0.updated_at": {"The statuses.0.updated_at field must be a valid date."},
			}},
		// qrs
		{"qrs missing", "/api/qr/batch", `{"statuses":[]}`, "The qrs field is required.",
			map[string][]string{"qrs": {"The qrs field is required."}}},
		{"qrs empty", "/api/qr/batch", `{"qrs":[]}`, "The qrs field is required.",
			map[string][]string{"qrs": {"The qrs field is required."}}},
		{"qrs not an array", "/api/qr/batch", `{"qrs":{"a":1}}`, "The qrs field must be an array.",
			map[string][]string{"qrs": {"The qrs field must be an array."}}},
		{"qrs too many", "/api/qr/batch", qrs(manyQRs...), "The qrs field must not have more than 500 items.",
			map[string][]string{"qrs": {"The qrs field must not have more than 500 items."}}},
		{"qr missing", "/api/qr/batch", qrs(okQR, with(okQR, "qr", nil)), "The qrs.1.qr field is required.",
			map[string][]string{"qrs.1.qr": {"The qrs.1.qr field is required."}}},
		{"qr not a data URL", "/api/qr/batch", qrs(with(okQR, "qr", "iVBORw0KGgo=")),
			"The qrs.0.qr field must start with one of the following: data:image/png.",
			map[string][]string{"qrs.0.qr": {"The qrs.0.qr field must start with one of the following: data:image/png."}}},
		{"qr a jpeg", "/api/qr/batch", qrs(with(okQR, "qr", "data:image/jpeg;base64,iVBORw0KGgo=")),
			"The qrs.0.qr field must start with one of the following: data:image/png.",
			map[string][]string{"qrs.0.qr": {"The qrs.0.qr field must start with one of the following: data:image/png."}}},
		{"generated_at bad", "/api/qr/batch", qrs(with(okQR, "generated_at", "2026-13-01T00:00:00Z")),
			"The qrs.0.generated_at field must be a valid date.",
			map[string][]string{"qrs.0.generated_at": {"The qrs.0.generated_at field must be a valid date."}}},
		{"qr session_id invalid", "/api/qr/batch", qrs(with(okQR, "session_id", "ü")), "The qrs.0.session_id field format is invalid.",
			map[string][]string{"qrs.0.session_id": {"The qrs.0.session_id field format is invalid."}}},
		// single endpoints: top-level keys, times optional but checked when given
		{"single status empty body", "/api/whatsapp/status", `{}`, "The session_id field is required. (and 1 more error)",
			map[string][]string{"session_id": {"The session_id field is required."}, "estado_qr": {"The estado_qr field is required."}}},
		{"single status unknown estado", "/api/whatsapp/status", `{"session_id":"a","estado_qr":"on"}`, "The selected estado_qr is invalid.",
			map[string][]string{"estado_qr": {"The selected estado_qr is invalid."}}},
		{"single status bad updated_at", "/api/whatsapp/status", `{"session_id":"a","estado_qr":"active","updated_at":"now"}`,
			"The updated_at field must be a valid date.",
			map[string][]string{"updated_at": {"The updated_at field must be a valid date."}}},
		{"single qr bad qr", "/api/qr", `{"session_id":"a","qr":"hello"}`,
			"The qr field must start with one of the following: data:image/png.",
			map[string][]string{"qr": {"The qr field must start with one of the following: data:image/png."}}},
		{"single qr bad generated_at", "/api/qr", map[string]any{"session_id": "a", "qr": pngURL, "generated_at": "soon"}, "The generated_at field must be a valid date.",
			map[string][]string{"generated_at": {"The generated_at field must be a valid date."}}},
		{"single qr bad session", "/api/qr", map[string]any{"session_id": "a.b", "qr": pngURL}, "The session_id field format is invalid.",
			map[string][]string{"session_id": {"The session_id field format is invalid."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Config{})
			a := call(t, s, http.MethodPost, tt.path, tt.body)
			if a.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", a.status, a.raw)
			}
			if got := a.body["message"]; got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
			if got := a.errors(); !maps.EqualFunc(got, tt.errors, slices.Equal) {
				t.Errorf("errors %v, want %v", got, tt.errors)
			}
			if accounts, _ := s.Accounts(t.Context()); len(accounts) != 0 {
				t.Errorf("a rejected request stored %d accounts", len(accounts))
			}
		})
	}
}

// TestValidationErrorOrder checks that the errors object keeps the rule order
// (a sorted map would put "statuses.10" before "statuses.2").
func TestValidationErrorOrder(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	items := make([]map[string]any, 11)
	for i := range items {
		items[i] = statusItemJSON(fmt.Sprintf("s%d", i), "active", 0)
	}
	items[2]["estado_qr"] = "bad"
	items[10]["estado_qr"] = "bad"
	items[5]["session_id"] = "bad id"
	a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(items...))
	i5 := strings.Index(a.raw, `"statuses.5.session_id"`)
	i2 := strings.Index(a.raw, `"statuses.2.estado_qr"`)
	i10 := strings.Index(a.raw, `"statuses.10.estado_qr"`)
	if !(i5 >= 0 && i5 < i2 && i2 < i10) {
		t.Errorf("errors out of rule order: %s", a.raw)
	}
}

func TestTimesAcceptedWithAndWithoutMillis(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2026-11-27T12:00:00Z", "2026-11-27T12:00:00.000Z"},
		{"2026-11-27T12:00:00.5Z", "2026-11-27T12:00:00.500Z"},
		{"2026-11-27T12:00:00.123Z", "2026-11-27T12:00:00.123Z"},
		{"2026-11-27T12:00:00.123456789Z", "2026-11-27T12:00:00.123Z"},
		{"2026-11-27T14:00:00.250+02:00", "2026-11-27T12:00:00.250Z"},
		{"2026-11-27T07:00:00-05:00", "2026-11-27T12:00:00.000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, _ := newTestServer(t, Config{})
			a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch",
				statuses(map[string]any{"session_id": "abc", "estado_qr": "active", "updated_at": tt.in}))
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			got := call(t, s, http.MethodGet, "/api/whatsapp/status/abc", nil)
			if got.body["last_status_update"] != tt.want {
				t.Errorf("last_status_update %v, want %s", got.body["last_status_update"], tt.want)
			}
		})
	}
}

// The checklist's examples: no event times, and a QR that is only the
// data:image/png prefix (Laravel's starts_with, which the mock mirrors).
func TestChecklistExamplesAreAccepted(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	for _, tt := range []struct{ path, body string }{
		{"/api/qr/batch", `{"qrs":[{"session_id":"test","qr":"data:image/png..."}]}`},
		{"/api/whatsapp/status/batch", `{"statuses":[{"session_id":"abc123","estado_qr":"active"}]}`},
		{"/api/whatsapp/status/batch", `{"statuses":[{"session_id":"abc123","estado_qr":"active","updated_at":""}]}`},
		{"/api/qr/batch", `{"qrs":[{"session_id":"test","qr":"data:image/png;base64,not*base64","generated_at":null}]}`},
	} {
		a := call(t, s, http.MethodPost, tt.path, tt.body)
		if a.status != http.StatusOK || a.body["updated"] != float64(1) || a.body["failed"] != float64(0) {
			t.Errorf("%s %s: %d %s, want 200 updated 1 failed 0", tt.path, tt.body, a.status, a.raw)
		}
	}
}

// Without an event time the receive time counts: it beats an older stored
// status and loses to a newer one sent later.
func TestMissingEventTimeIsTheReceiveTime(t *testing.T) {
	s, clock := newTestServer(t, Config{})
	call(t, s, http.MethodPost, "/api/whatsapp/status/batch", `{"statuses":[{"session_id":"abc","estado_qr":"active"}]}`)
	got := call(t, s, http.MethodGet, "/api/whatsapp/status/abc", nil)
	if want := *formatTime(clock.Now()); got.body["estado_qr"] != "active" || got.body["last_status_update"] != want {
		t.Fatalf("after a status without time: %s, want last_status_update %s", got.raw, want)
	}
}
