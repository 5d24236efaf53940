//go:build laravel

package mocklaravel_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wagateway/internal/laraveltest"
	"wagateway/mocklaravel"
)

// TestFidelity sends one corpus of requests to mocklaravel and to the real
// Laravel (contracts/laravel, served by php -S) and compares what the
// gateway could observe: status codes, the JSON keys of each answer, the
// keys of a 422's errors, and the values of success, updated, failed,
// session_id and estado_qr. A difference either is fixed in the mock or is
// listed in keptDifferences with its reason; a listed case that no longer
// differs fails too, so the table stays true.
func TestFidelity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pairs := map[profile]*pair{}
	for _, p := range []profile{open, strict, signed} {
		pairs[p] = newPair(t, p)
	}
	differed := map[string]string{}
	for _, c := range corpus() {
		pr := pairs[c.profile]
		mockAnswers, err := pr.run(ctx, pr.mock, c)
		if err != nil {
			t.Fatalf("%s: mocklaravel: %v", c.name, err)
		}
		laravelAnswers, err := pr.run(ctx, pr.laravel, c)
		if err != nil {
			t.Fatalf("%s: laravel: %v", c.name, err)
		}
		for i := range c.steps {
			m, l := mockAnswers[i], laravelAnswers[i]
			for _, a := range []answer{m, l} {
				if msg := checkMessage(a); msg != "" {
					t.Errorf("%s, step %d: %s", c.name, i+1, msg)
				}
			}
			if d := compare(m, l); d != "" && differed[c.name] == "" {
				differed[c.name] = fmt.Sprintf("step %d (%s %s): %s", i+1, c.steps[i].method, c.steps[i].path, d)
			}
		}
	}

	var fixed, kept []string
	for _, c := range corpus() {
		reason, listed := keptDifferences[c.name]
		d, differs := differed[c.name]
		switch {
		case differs && !listed:
			t.Errorf("%s: mocklaravel and Laravel differ: %s\n  fix the mock, or list the case in keptDifferences with a reason", c.name, d)
		case listed && !differs:
			t.Errorf("%s: listed in keptDifferences (%s) but both answer alike now: remove it from the table", c.name, reason)
		case listed:
			kept = append(kept, fmt.Sprintf("| %s | %s | %s |", c.name, d, reason))
		default:
			fixed = append(fixed, c.name)
		}
	}
	t.Logf("fidelity: %d cases alike, %d kept differences\n| case | difference | why kept |\n|---|---|---|\n%s",
		len(fixed), len(kept), strings.Join(kept, "\n"))
}

// keptDifferences are the known ways the mock differs from the real
// Laravel, by case name, with the reason each is kept.
var keptDifferences = map[string]string{
	"replay with another body": "Laravel answers a replayed Idempotency-Key from its store and changes nothing; " +
		"the mock counts the replay and processes it again (newest-wins makes that harmless, and the gateway " +
		"never reuses a key for another body): its tests count retries through that path",
}

// profile is one configuration both providers run with.
type profile int

const (
	open   profile = iota // token, autocreate on (the defaults a team starts with, plus a token)
	strict                // token, autocreate off: unknown accounts count as failed / 404
	signed                // token and signing secret
)

const (
	token         = "fidelity-token"
	signingSecret = "whsec_ZmlkZWxpdHktc2lnbmluZy1rZXk="
	png           = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
	t0            = "2026-11-27T10:00:00.000Z"
	t1            = "2026-11-27T10:00:05.000Z"
)

// pair is mocklaravel and Laravel in one profile.
type pair struct {
	profile       profile
	mock, laravel target
}

// target is one provider: its base URL and how to reset it and create an account.
type target struct {
	name    string
	url     string
	reset   func(ctx context.Context) error
	account func(ctx context.Context, id, estado, at string) error
}

func newPair(t *testing.T, p profile) *pair {
	t.Helper()
	cfg := mocklaravel.Config{Token: token, DisableAutoCreate: p == strict}
	opt := laraveltest.Options{Token: token, NoAutocreate: p == strict, ProviderStates: true}
	if p == signed {
		cfg.SigningSecret, opt.SigningSecret = signingSecret, signingSecret
	}
	s, err := mocklaravel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	app := laraveltest.Start(t, opt)

	mock := target{name: "mocklaravel", url: hs.URL, reset: s.Reset,
		account: func(ctx context.Context, id, estado, at string) error {
			ts, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				return err
			}
			return s.UpsertAccount(ctx, mocklaravel.Account{SessionID: id, EstadoQR: estado, LastStatusUpdate: ts})
		}}
	laravel := target{name: "laravel", url: app.URL,
		reset: func(ctx context.Context) error {
			return providerState(ctx, app.URL, map[string]any{"action": "teardown", "state": "", "params": map[string]any{}})
		},
		account: func(ctx context.Context, id, estado, at string) error {
			return providerState(ctx, app.URL, map[string]any{"action": "setup", "state": "account " + id + " exists",
				"params": map[string]any{"session_id": id, "estado_qr": estado, "last_status_update": at}})
		}}
	return &pair{profile: p, mock: mock, laravel: laravel}
}

func providerState(ctx context.Context, base string, body map[string]any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/_pact/provider-states", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		out, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("provider state %v: %d %s", body, resp.StatusCode, out)
	}
	return nil
}

// fidelityCase is a sequence of requests on a fresh database.
type fidelityCase struct {
	name     string
	profile  profile
	accounts []string // created before the steps: "id" (active at t0)
	steps    []step
}

type step struct {
	method, path string
	body         string
	header       map[string]string // added to the defaults (Content-Type, Accept, bearer token)
	noAuth       bool
	sign         func(h http.Header, body string) // sets signature headers (profile signed)
}

// answer is what a provider answered one step.
type answer struct {
	status int
	raw    string
	keys   []string       // top-level JSON keys, sorted
	errors []string       // keys of "errors", sorted
	values map[string]any // the values the gateway reads
	json   bool
}

func (pr *pair) run(ctx context.Context, tg target, c fidelityCase) ([]answer, error) {
	if err := tg.reset(ctx); err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	for _, id := range c.accounts {
		if err := tg.account(ctx, id, "active", t0); err != nil {
			return nil, fmt.Errorf("account %s: %w", id, err)
		}
	}
	out := make([]answer, 0, len(c.steps))
	for _, s := range c.steps {
		a, err := send(ctx, tg.url, s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func send(ctx context.Context, base string, s step) (answer, error) {
	var body io.Reader
	if s.method != http.MethodGet {
		body = strings.NewReader(s.body)
	}
	req, err := http.NewRequestWithContext(ctx, s.method, base+s.path, body)
	if err != nil {
		return answer{}, err
	}
	if s.method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if !s.noAuth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	if s.sign != nil {
		s.sign(req.Header, s.body)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, raw: string(raw), values: map[string]any{}}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil && m != nil {
		a.json = true
		a.keys = slices.Sorted(maps.Keys(m))
		if e, ok := m["errors"].(map[string]any); ok {
			a.errors = slices.Sorted(maps.Keys(e))
		}
		for _, k := range []string{"success", "updated", "failed", "session_id", "estado_qr"} {
			if v, ok := m[k]; ok {
				a.values[k] = v
			}
		}
		if v, ok := m["last_status_update"]; ok {
			a.values["last_status_update is null"] = v == nil
		}
	}
	return a, nil
}

// compare describes how two answers differ in what the gateway observes.
func compare(m, l answer) string {
	var d []string
	if m.status != l.status {
		d = append(d, fmt.Sprintf("status %d vs %d", m.status, l.status))
	}
	if m.json != l.json {
		d = append(d, fmt.Sprintf("JSON %v vs %v", m.json, l.json))
	}
	if !slices.Equal(m.keys, l.keys) {
		d = append(d, fmt.Sprintf("keys %v vs %v", m.keys, l.keys))
	}
	if !slices.Equal(m.errors, l.errors) {
		d = append(d, fmt.Sprintf("error keys %v vs %v", m.errors, l.errors))
	}
	if !maps.Equal(m.values, l.values) {
		d = append(d, fmt.Sprintf("values %v vs %v", m.values, l.values))
	}
	if len(d) == 0 {
		return ""
	}
	return strings.Join(d, "; ") + fmt.Sprintf(" (mock %s | laravel %s)", clip(m.raw), clip(l.raw))
}

func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// checkMessage: a 422's message is Laravel 8's fixed sentence or Laravel
// 9+'s first error (with "(and N more errors)"); both are accepted.
func checkMessage(a answer) string {
	if a.status != http.StatusUnprocessableEntity {
		return ""
	}
	var body struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(a.raw), &body); err != nil || len(body.Errors) == 0 {
		return "a 422 without message and errors: " + clip(a.raw)
	}
	if body.Message == "The given data was invalid." {
		return "" // Laravel 8
	}
	for _, msgs := range body.Errors {
		for _, msg := range msgs {
			if strings.HasPrefix(body.Message, msg) {
				return "" // Laravel 9+: the first error, maybe "(and N more errors)"
			}
		}
	}
	return "422 message is neither Laravel 8's nor 9+'s form: " + body.Message
}

// sign sets the gateway's signature headers (computed here from the specs,
// apart from service/laravel, so a shared bug cannot hide).
func sign(id string, at time.Time, secret string) func(h http.Header, body string) {
	return func(h http.Header, body string) {
		key := []byte(secret)
		if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
			key, _ = base64.StdEncoding.DecodeString(rest)
		}
		ts := strconv.FormatInt(at.Unix(), 10)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "." + body))
		raw := hmac.New(sha256.New, []byte(secret))
		raw.Write([]byte(body))
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		h.Set("Signature", hex.EncodeToString(raw.Sum(nil)))
	}
}

func qrs(items ...string) string      { return `{"qrs":[` + strings.Join(items, ",") + `]}` }
func statuses(items ...string) string { return `{"statuses":[` + strings.Join(items, ",") + `]}` }

func qrItem(id, qr, at string) string {
	return fmt.Sprintf(`{"session_id":%q,"qr":%q,"generated_at":%q}`, id, qr, at)
}

func statusItem(id, estado, at string) string {
	return fmt.Sprintf(`{"session_id":%q,"estado_qr":%q,"updated_at":%q}`, id, estado, at)
}

func post(path, body string) step { return step{method: http.MethodPost, path: path, body: body} }
func get(path string) step        { return step{method: http.MethodGet, path: path} }

const (
	qrBatch     = "/api/qr/batch"
	statusBatch = "/api/whatsapp/status/batch"
)

func corpus() []fidelityCase {
	okQR := qrItem("ok1", png, t0)
	okStatus := statusItem("ok1", "active", t1)
	many := func(n int, item func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = item(i)
		}
		return out
	}
	qrAt := func(i int) string { return qrItem(fmt.Sprintf("s%d", i), png, t0) }
	withKey := func(s step, key string) step {
		s.header = map[string]string{"Idempotency-Key": key}
		return s
	}
	cases := []fidelityCase{
		// valid
		{name: "qr batch", steps: []step{post(qrBatch, qrs(qrItem("abc123", png, t0), qrItem("def456", png, t1))), get("/api/whatsapp/status/def456")}},
		{name: "status batch", steps: []step{post(statusBatch, statuses(statusItem("abc123", "active", t0), statusItem("def456", "expired", t1))), get("/api/whatsapp/status/abc123")}},
		{name: "checklist qr example", steps: []step{post(qrBatch, `{"qrs":[{"session_id":"test","qr":"data:image/png..."}]}`)}},
		{name: "checklist status example", steps: []step{post(statusBatch, `{"statuses":[{"session_id":"abc123","estado_qr":"active"}]}`)}},
		{name: "null and empty event times", steps: []step{post(statusBatch, `{"statuses":[{"session_id":"a","estado_qr":"active","updated_at":null},{"session_id":"b","estado_qr":"active","updated_at":""}]}`)}},
		{name: "offset event time", steps: []step{post(statusBatch, statuses(statusItem("a", "active", "2026-11-27T11:00:00.250+01:00"))), get("/api/whatsapp/status/a")}},
		{name: "single qr", steps: []step{post("/api/qr", qrItem("abc123", png, t0))}},
		{name: "single status without time", steps: []step{post("/api/whatsapp/status", `{"session_id":"abc123","estado_qr":"inactive"}`), get("/api/whatsapp/status/abc123")}},
		{name: "get known", accounts: []string{"abc123"}, steps: []step{get("/api/whatsapp/status/abc123")}},
		{name: "get unknown", steps: []step{get("/api/whatsapp/status/abc999")}},
		{name: "get impossible id", steps: []step{get("/api/whatsapp/status/a%20b"), get("/api/whatsapp/status/" + strings.Repeat("a", 65))}},
		{name: "qr created account has no status time", steps: []step{post(qrBatch, qrs(okQR)), get("/api/whatsapp/status/ok1")}},
		{name: "500 items", steps: []step{post(qrBatch, qrs(many(500, qrAt)...))}},
		{name: "duplicate session in one batch", steps: []step{post(statusBatch, statuses(statusItem("a", "active", t1), statusItem("a", "expired", t0))), get("/api/whatsapp/status/a")}},
		{name: "trimmed session_id", steps: []step{post(statusBatch, statuses(statusItem(" a ", "active", t1))), get("/api/whatsapp/status/a")}},

		// batch shape
		{name: "qrs missing", steps: []step{post(qrBatch, `{}`)}},
		{name: "qrs null", steps: []step{post(qrBatch, `{"qrs":null}`)}},
		{name: "qrs empty", steps: []step{post(qrBatch, `{"qrs":[]}`)}},
		{name: "statuses empty", steps: []step{post(statusBatch, `{"statuses":[]}`)}},
		{name: "qrs a string", steps: []step{post(qrBatch, `{"qrs":"abc"}`)}},
		{name: "qrs a number", steps: []step{post(qrBatch, `{"qrs":5}`)}},
		{name: "501 items", steps: []step{post(qrBatch, qrs(many(501, qrAt)...))}},
		{name: "501 statuses", steps: []step{post(statusBatch, statuses(many(501, func(i int) string { return okStatus })...))}},
		{name: "body an array", steps: []step{post(qrBatch, `[1,2]`)}},
		{name: "body a string", steps: []step{post(statusBatch, `"x"`)}},
		{name: "item not an object", steps: []step{post(statusBatch, `{"statuses":["abc"]}`)}},
		{name: "item null", steps: []step{post(qrBatch, `{"qrs":[null]}`)}},

		// each invalid field
		{name: "session_id missing", steps: []step{post(qrBatch, qrs(okQR, `{"qr":"`+png+`"}`))}},
		{name: "session_id a number", steps: []step{post(qrBatch, qrs(okQR, `{"session_id":12,"qr":"`+png+`"}`))}},
		{name: "session_id empty", steps: []step{post(statusBatch, statuses(okStatus, `{"session_id":"","estado_qr":"active"}`))}},
		{name: "session_id too long", steps: []step{post(qrBatch, qrs(qrItem(strings.Repeat("a", 65), png, t0)))}},
		{name: "session_id with a slash", steps: []step{post(statusBatch, statuses(statusItem("a/b", "active", t0)))}},
		{name: "session_id unicode", steps: []step{post(statusBatch, statuses(statusItem("ü", "active", t0)))}},
		{name: "qr missing", steps: []step{post(qrBatch, qrs(okQR, `{"session_id":"x"}`))}},
		{name: "qr not a png", steps: []step{post(qrBatch, qrs(okQR, qrItem("def456", "not-a-png", t0)))}},
		{name: "qr a jpeg", steps: []step{post(qrBatch, qrs(qrItem("x", "data:image/jpeg;base64,AAAA", t0)))}},
		{name: "qr an object", steps: []step{post(qrBatch, qrs(`{"session_id":"x","qr":{"a":1}}`))}},
		{name: "qr bad base64 payload", steps: []step{post(qrBatch, qrs(qrItem("x", "data:image/png;base64,not*base64", t0)))}},
		{name: "estado_qr missing", steps: []step{post(statusBatch, statuses(`{"session_id":"x"}`))}},
		{name: "estado_qr unknown", steps: []step{post(statusBatch, statuses(okStatus, statusItem("x", "connected", t0)))}},
		{name: "estado_qr a number", steps: []step{post(statusBatch, statuses(`{"session_id":"x","estado_qr":1}`))}},
		{name: "estado_qr wrong case", steps: []step{post(statusBatch, statuses(statusItem("x", "Active", t0)))}},
		{name: "updated_at words", steps: []step{post(statusBatch, statuses(statusItem("x", "active", "yesterday")))}},
		{name: "updated_at date only", steps: []step{post(statusBatch, statuses(statusItem("x", "active", "2026-11-27")))}},
		{name: "updated_at with a space", steps: []step{post(statusBatch, statuses(statusItem("x", "active", "2026-11-27 10:00:00")))}},
		{name: "generated_at impossible", steps: []step{post(qrBatch, qrs(qrItem("x", png, "2026-13-45T10:00:00Z")))}},
		{name: "generated_at a number", steps: []step{post(qrBatch, qrs(`{"session_id":"x","qr":"`+png+`","generated_at":1795773600}`))}},
		{name: "every error at once", steps: []step{post(statusBatch, statuses(okStatus, `{"session_id":"b"}`, statusItem("c", "bogus", t0), statusItem("d d", "active", "never")))}},
		{name: "single errors without index", steps: []step{post("/api/whatsapp/status", `{"session_id":"","estado_qr":"nope","updated_at":"x"}`), post("/api/qr", `{"session_id":"a","qr":"x"}`)}},

		// transport
		{name: "malformed json", steps: []step{post(qrBatch, `{"qrs":[`)}},
		{name: "empty body", steps: []step{post(statusBatch, ``)}},
		{name: "not json content type", steps: []step{{method: http.MethodPost, path: qrBatch, body: "qrs=1", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}}},
		{name: "wrong method", steps: []step{get(qrBatch)}},

		// unknown accounts
		{name: "unknown account in a batch", profile: strict, accounts: []string{"abc123"}, steps: []step{post(statusBatch, statuses(statusItem("abc123", "active", t1), statusItem("abc999", "active", t1))), get("/api/whatsapp/status/abc999")}},
		{name: "unknown account qr batch", profile: strict, steps: []step{post(qrBatch, qrs(qrItem("abc999", png, t0)))}},
		{name: "unknown account single", profile: strict, steps: []step{post("/api/whatsapp/status", statusItem("abc999", "active", t1)), post("/api/qr", qrItem("abc999", png, t1))}},
		{name: "known account single", profile: strict, accounts: []string{"abc123"}, steps: []step{post("/api/whatsapp/status", statusItem("abc123", "expired", t1)), get("/api/whatsapp/status/abc123")}},

		// newest wins
		{name: "stale status", steps: []step{
			post(statusBatch, statuses(statusItem("a", "active", t1))),
			post(statusBatch, statuses(statusItem("a", "expired", t0))),
			get("/api/whatsapp/status/a")}},
		{name: "stale against a stored account", profile: strict, accounts: []string{"a"}, steps: []step{
			post(statusBatch, statuses(statusItem("a", "expired", "2026-11-27T09:59:59.999Z"))),
			get("/api/whatsapp/status/a")}},
		{name: "equal time overwrites", steps: []step{
			post(statusBatch, statuses(statusItem("a", "active", t1))),
			post(statusBatch, statuses(statusItem("a", "inactive", t1))),
			get("/api/whatsapp/status/a")}},

		{name: "pending after an outcome of the same millisecond", steps: []step{
			post(statusBatch, statuses(statusItem("a", "active", t1))),
			post(statusBatch, statuses(statusItem("a", "pending", t1))),
			get("/api/whatsapp/status/a")}},

		// replays
		{name: "replay", steps: []step{
			withKey(post(statusBatch, statuses(statusItem("a", "active", t1))), "4f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"),
			withKey(post(statusBatch, statuses(statusItem("a", "active", t1))), "4f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"),
			get("/api/whatsapp/status/a")}},
		{name: "replay of a validation failure", steps: []step{
			withKey(post(qrBatch, `{"qrs":[]}`), "5f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"),
			withKey(post(qrBatch, `{"qrs":[]}`), "5f9c2a7be1d04c6e8a1b3c5d7e9f0a2b")}},
		{name: "replay with another body", steps: []step{
			withKey(post(statusBatch, statuses(statusItem("a", "active", t0))), "6f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"),
			withKey(post(statusBatch, statuses(statusItem("a", "expired", t1))), "6f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"),
			get("/api/whatsapp/status/a")}},
		{name: "same key on two endpoints", steps: []step{
			withKey(post(qrBatch, qrs(qrItem("a", png, t0))), "7f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"),
			withKey(post(statusBatch, statuses(statusItem("a", "active", t1))), "7f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"),
			get("/api/whatsapp/status/a")}},

		// token
		{name: "no token", steps: []step{{method: http.MethodPost, path: qrBatch, body: qrs(okQR), noAuth: true}}},
		{name: "wrong token", steps: []step{{method: http.MethodPost, path: statusBatch, body: statuses(okStatus), header: map[string]string{"Authorization": "Bearer wrong-token"}}}},
		{name: "no token on the lookup", steps: []step{{method: http.MethodGet, path: "/api/whatsapp/status/a", noAuth: true}}},
		{name: "token checked before the body", steps: []step{{method: http.MethodPost, path: qrBatch, body: `{"qrs":[`, noAuth: true}}},
	}

	// signatures
	now := time.Now()
	body := statuses(okStatus)
	id := "8f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"
	signedStep := func(s func(h http.Header, body string)) step {
		return step{method: http.MethodPost, path: statusBatch, body: body, sign: s}
	}
	cases = append(cases,
		fidelityCase{name: "signed", profile: signed, steps: []step{signedStep(sign(id, now, signingSecret))}},
		fidelityCase{name: "signed lookup", profile: signed, accounts: []string{"a"}, steps: []step{{method: http.MethodGet, path: "/api/whatsapp/status/a", sign: sign("msg_1", now, signingSecret)}}},
		fidelityCase{name: "unsigned", profile: signed, steps: []step{post(statusBatch, body)}},
		fidelityCase{name: "signed with another secret", profile: signed, steps: []step{signedStep(sign(id, now, "whsec_b3RoZXI="))}},
		fidelityCase{name: "signature older than 5 minutes", profile: signed, steps: []step{signedStep(sign(id, now.Add(-6*time.Minute), signingSecret))}},
		fidelityCase{name: "signature from the future", profile: signed, steps: []step{signedStep(sign(id, now.Add(6*time.Minute), signingSecret))}},
		fidelityCase{name: "spatie signature wrong", profile: signed, steps: []step{signedStep(func(h http.Header, b string) {
			sign(id, now, signingSecret)(h, b)
			h.Set("Signature", strings.Repeat("0", 64))
		})}},
		fidelityCase{name: "signature of another body", profile: signed, steps: []step{signedStep(func(h http.Header, b string) {
			sign(id, now, signingSecret)(h, b+" ")
		})}},
	)
	return cases
}
