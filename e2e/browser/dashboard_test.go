//go:build browser

package browser

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wagateway/mocklaravel"
)

// batchMetrics is the part of GET /metrics/batch the delivery panel shows.
type batchMetrics struct {
	Accepted      int64 `json:"accepted"`
	Requests      int64 `json:"requests"`
	Sent          int64 `json:"sent"`
	Superseded    int64 `json:"superseded"`
	Failed        int64 `json:"failed"`
	Retries       int64 `json:"retries"`
	DeadLettered  int64 `json:"deadLettered"`
	RequestsSaved int64 `json:"requestsSaved"`
}

func (m batchMetrics) fields() map[string]int64 {
	return map[string]int64{
		"accepted": m.Accepted, "requests": m.Requests, "sent": m.Sent, "superseded": m.Superseded,
		"failed": m.Failed, "retries": m.Retries, "deadLettered": m.DeadLettered, "requestsSaved": m.RequestsSaved,
	}
}

// panelMatchesMetrics waits until every counter of the delivery panel shows
// what /metrics/batch says (both move while deliveries go on).
func panelMatchesMetrics(t *testing.T, ctx chromedpCtx, g *Gateway) batchMetrics {
	t.Helper()
	var m batchMetrics
	var diff string
	waitFor(t, 30*time.Second, "the delivery panel to match /metrics/batch", func() bool {
		if st := g.Do(t, http.MethodGet, "/metrics/batch", "", true, &m); st != http.StatusOK {
			t.Fatalf("GET /metrics/batch: %d", st)
		}
		shown := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("[data-metric]")].map(e => [e.dataset.metric, e.textContent]))`)
		diff = ""
		for k, want := range m.fields() {
			if got := shown[k]; got != strconv.FormatInt(want, 10) {
				diff += fmt.Sprintf(" %s: panel %q, /metrics/batch %d;", k, got, want)
			}
		}
		return diff == ""
	})
	return m
}

// TestDashboard walks the operator's path through GET /ui in Chromium: sign
// in (a wrong key refused), start a session, watch its QR code rotate live,
// scan it and see it turn active without a reload, check the delivery panel
// against /metrics/batch and a dead letter in its list, and that a change
// without the CSRF token is refused; axe-core checks both views, and both are
// captured at desktop and phone width.
func TestDashboard(t *testing.T) {
	laravel, laravelURL := startLaravel(t)
	// Time ×6: the first code lives 10 s, the next ones 3.3 s; nobody scans by themselves.
	g := startGateway(t, laravelURL,
		"SIM_TIME_SCALE=6", "SIM_SCAN_PROBABILITY=0",
		"PRIORITY_INTERVAL=200ms", "BATCH_INTERVAL=1s")
	ctx := newBrowser(t)
	console := watchConsole(ctx)

	// Sign in: a wrong key is refused and leaves the browser signed out.
	do(t, ctx, "open /ui", chromedp.Navigate(g.URL+"/ui"), chromedp.WaitVisible(chromedp.ID("login-form")))
	do(t, ctx, "wrong key", chromedp.SendKeys(chromedp.ID("api-key"), "not-the-key"), chromedp.Click(chromedp.CSS("#login-form button")))
	waitJS(t, ctx, 10*time.Second, "the wrong key refused", `document.getElementById("login-error").textContent === "Wrong API key."`)
	if eval[bool](t, ctx, `fetch("/ui/session").then(r => r.json()).then(j => j.authenticated)`) {
		t.Fatal("a wrong key signed the browser in")
	}
	if st := g.Do(t, http.MethodGet, "/sessions", "", false, nil); st != http.StatusUnauthorized {
		t.Fatalf("GET /sessions without a key or cookie: %d, want 401", st)
	}
	eval[bool](t, ctx, `document.getElementById("api-key").value = ""; true`)
	do(t, ctx, "right key",
		chromedp.SendKeys(chromedp.ID("api-key"), g.APIKey),
		chromedp.Click(chromedp.CSS("#login-form button")),
		chromedp.WaitVisible(chromedp.ID("home-view")))
	// A reload would drop this marker: the live updates below must come without one.
	eval[bool](t, ctx, `window.__noReload = "kept"; true`)

	// Start a session: its QR code appears.
	const id = "browser-1"
	do(t, ctx, "start a session", chromedp.SendKeys(chromedp.ID("start-id"), id), chromedp.Click(chromedp.CSS("#start-form button")))
	waitJS(t, ctx, 30*time.Second, "the QR image", `location.hash === "#/sessions/`+id+`" && document.getElementById("qr-img").src.startsWith("data:image/png;base64,") && !document.getElementById("qr-box").hidden`)
	first := eval[string](t, ctx, `document.getElementById("qr-img").src`)
	waitJS(t, ctx, 10*time.Second, "the countdown", `document.getElementById("qr-countdown").textContent.startsWith("This code expires in")`)
	t.Logf("QR shown; %s", text(t, ctx, "#qr-countdown"))

	// Pairing by phone number shows the 8-character code to type on the phone.
	do(t, ctx, "pair by phone", chromedp.SendKeys(chromedp.ID("pair-phone"), "5511999990000"), chromedp.Click(chromedp.CSS("#pair-form button")))
	waitJS(t, ctx, 10*time.Second, "the pairing code", `!document.getElementById("pair-result").hidden && /^[1-9A-Z]{8}$/.test(document.getElementById("pair-code").textContent)`)
	t.Logf("phone pairing code shown: %s", text(t, ctx, "#pair-code"))

	// The session view while pairing: accessible, and captured (first code, 10 s).
	sessionAxe := checkAxe(t, ctx, "session")
	shots := []string{
		screenshot(t, ctx, "dashboard-session-desktop", 1280, 900, false),
		screenshot(t, ctx, "dashboard-session-phone", 390, 844, true),
	}

	// The code rotates: the server pushes the new image (no polling by the page).
	waitJS(t, ctx, 40*time.Second, "a new QR code", `document.getElementById("qr-img").src !== `+strconvQuote(first))
	t.Logf("QR image replaced live (%s images shown)", eval[string](t, ctx, `document.getElementById("qr-img").dataset.rotations`))

	// Scan through the sim route (the page's button): active, without a reload.
	do(t, ctx, "simulate a scan", chromedp.Click(chromedp.ID("sim-scan")))
	waitJS(t, ctx, 30*time.Second, "estado_qr active", `document.getElementById("s-status").textContent === "active"`)
	if got := eval[string](t, ctx, `String(window.__noReload)`); got != "kept" {
		t.Fatalf("the page reloaded (marker %q)", got)
	}
	if !eval[bool](t, ctx, `document.getElementById("qr-box").hidden`) {
		t.Error("the QR code is still shown for an active session")
	}
	t.Logf("status active without a reload; phone %s", text(t, ctx, "#s-phone"))

	// A session whose items Laravel refuses: its dead letters are listed with the reason.
	if err := laravel.SetFaults(mocklaravel.Faults{RejectSessions: []string{"browser-dead"}}); err != nil {
		t.Fatal(err)
	}
	if st := g.Do(t, http.MethodPost, "/start", `{"session_id":"browser-dead"}`, true, nil); st != http.StatusOK {
		t.Fatalf("POST /start browser-dead: %d", st)
	}
	do(t, ctx, "back to the list", chromedp.Click(chromedp.CSS(`a[href="#/"]`)), chromedp.WaitVisible(chromedp.ID("home-view")))
	waitJS(t, ctx, 30*time.Second, "the list to show the active session", `(document.querySelector('tr[data-session="`+id+`"] .badge') || {}).textContent === "active"`)
	waitJS(t, ctx, 30*time.Second, "a dead letter of browser-dead", `[...document.querySelectorAll("#dead-body tr")].some(tr => tr.textContent.includes("browser-dead"))`)
	waitJS(t, ctx, 10*time.Second, "Laravel's 422 counted", `!!document.querySelector('[data-code="422"]')`)
	t.Logf("dead letter listed: %q", text(t, ctx, "#dead-body tr"))
	if st := g.Do(t, http.MethodPost, "/sessions/browser-dead/stop", "", true, nil); st != http.StatusOK {
		t.Fatalf("stop browser-dead: %d", st)
	}

	// The delivery panel's counters are /metrics/batch's.
	m := panelMatchesMetrics(t, ctx, g)
	if m.Sent == 0 || m.DeadLettered == 0 {
		t.Fatalf("want delivered items and dead letters, /metrics/batch %+v", m)
	}
	t.Logf("delivery panel matches /metrics/batch: %+v; status codes %s", m, text(t, ctx, "#codes"))

	// Filter and search the list.
	selectStatus(t, ctx, "active")
	if n := eval[int](t, ctx, `document.querySelectorAll("#sessions-body tr").length`); n != 1 {
		t.Errorf("filter active: %d rows, want 1", n)
	}
	selectStatus(t, ctx, "")

	homeAxe := checkAxe(t, ctx, "home")
	shots = append(shots,
		screenshot(t, ctx, "dashboard-home-desktop", 1280, 900, false),
		screenshot(t, ctx, "dashboard-home-phone", 390, 844, true))

	// A state-changing request with the cookie but without the CSRF token is refused.
	for _, probe := range []struct{ name, headers string }{
		{"no token", `{"Content-Type": "application/json"}`},
		{"wrong token", `{"Content-Type": "application/json", "X-CSRF-Token": "forged"}`},
	} {
		st := eval[int](t, ctx, `fetch("/start", {method: "POST", headers: `+probe.headers+`, body: JSON.stringify({session_id: "csrf-probe"})}).then(r => r.status)`)
		if st != http.StatusForbidden {
			t.Errorf("POST /start with the cookie and %s: %d, want 403", probe.name, st)
		}
	}
	if st := g.Do(t, http.MethodGet, "/sessions/csrf-probe", "", true, nil); st != http.StatusNotFound {
		t.Errorf("the refused request started csrf-probe anyway (GET: %d)", st)
	}
	// The same page, with its token, may: the confirmation dialog guards it.
	do(t, ctx, "delete browser-1", chromedp.Click(chromedp.CSS(`tr[data-session="`+id+`"] button[data-action="delete"]`)))
	do(t, ctx, "confirm", chromedp.WaitVisible(chromedp.ID("confirm-ok")), chromedp.Click(chromedp.ID("confirm-ok")))
	waitJS(t, ctx, 10*time.Second, "browser-1 gone from the list", `!document.querySelector('tr[data-session="`+id+`"]')`)

	if p := console.problems("/ui/login", "/history", "/start", "status of 401", "status of 403", "status of 404"); len(p) > 0 {
		t.Errorf("the page logged problems:\n%s", joinLines(p))
	}
	// Last, since the browser logs the violation: the policy blocks an inline script.
	blocked := eval[string](t, ctx, `new Promise(done => {
		document.addEventListener("securitypolicyviolation", e => done(e.violatedDirective), {once: true});
		const s = document.createElement("script");
		s.textContent = "window.__inlineRan = true";
		document.body.append(s);
		setTimeout(() => done(window.__inlineRan ? "ran" : "no violation reported"), 2000);
	})`)
	if !strings.HasPrefix(blocked, "script-src") {
		t.Errorf("an inline script was not blocked by the Content-Security-Policy: %s", blocked)
	}
	t.Logf("axe-core: session view %v, home view %v (serious/critical fail the test)", sessionAxe, homeAxe)
	t.Logf("screenshots: %v", shots)
}

type chromedpCtx = context.Context

// selectStatus picks a status in the list's filter as a user would (change event).
func selectStatus(t *testing.T, ctx context.Context, status string) {
	t.Helper()
	eval[bool](t, ctx, `(() => { const s = document.getElementById("filter-status"); s.value = `+strconvQuote(status)+`; s.dispatchEvent(new Event("change")); return true })()`)
}

func strconvQuote(s string) string { return strconv.Quote(s) }

func joinLines(lines []string) string {
	out := ""
	for _, l := range lines {
		out += "  " + l + "\n"
	}
	return out
}
