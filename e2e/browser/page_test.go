//go:build browser

package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stepLimit bounds one step (a wait for an element included), so a broken
// page fails with the step's name instead of at the scenario's deadline.
const stepLimit = 30 * time.Second

// do runs browser actions, failing the test on an error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, stepLimit)
	defer cancel()
	if err := chromedp.Do(stepCtx, steps...); err != nil {
		t.Fatalf("%s: %v (page: %s)", what, err, pageState(ctx))
	}
}

// pageState says where the page is, for a failure message.
func pageState(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`JSON.stringify({hash: location.hash, notice: document.getElementById("notice").textContent,
		dialog: document.getElementById("confirm").open, views: ["login-view", "home-view", "session-view"].filter(v => !document.getElementById(v).hidden)})`))
	if err != nil {
		return "unknown: " + err.Error()
	}
	return s
}

// eval evaluates a JavaScript expression in the page (promises awaited).
// Runtime.evaluate is not subject to the page's CSP, unlike chromedp.Poll,
// whose `new Function` the policy (rightly) blocks: so tests poll from Go.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %q: %v", truncate(expr, 120), err)
	}
	return v
}

// waitJS polls a boolean expression in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, limit time.Duration, what, expr string) {
	t.Helper()
	waitFor(t, limit, what, func() bool { return eval[bool](t, ctx, expr) })
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// text is an element's textContent, "" when absent.
func text(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, selector))
}

// screenshot writes the whole page at width×height as a PNG artifact.
func screenshot(t *testing.T, ctx context.Context, name string, width, height int64, mobile bool) string {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	do(t, ctx, "resize to "+name, chromedp.EmulateViewport(width, height, opts...))
	// Let layout settle after the resize (the page listens to nothing here).
	eval[bool](t, ctx, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
	// Nothing may stick out of the page or of its cards (a control under
	// another card cannot be clicked, and a phone would scroll sideways).
	if over := eval[string](t, ctx, `[document.documentElement, ...document.querySelectorAll(".card")]
		.filter(e => e.offsetParent !== null || e === document.documentElement)
		.filter(e => e.scrollWidth > e.clientWidth + 1)
		.map(e => (e.id || e.className || e.tagName) + " " + e.scrollWidth + ">" + e.clientWidth).join(", ")`); over != "" {
		t.Errorf("%s: content wider than its box: %s", name, over)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifactsDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(png))
	do(t, ctx, "back to desktop size", chromedp.EmulateViewport(1280, 900))
	return path
}

// axeViolation is the part of axe-core's result the test reads.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkAxe injects axe-core (AXE_JS, fetched by scripts/browser.sh) and
// fails on any serious or critical violation of WCAG 2.1 A/AA or axe's
// best practices; it returns the count of every violation by impact.
func checkAxe(t *testing.T, ctx context.Context, view string) map[string]int {
	t.Helper()
	path := os.Getenv("AXE_JS")
	if path == "" {
		t.Fatal("AXE_JS is not set: run the browser tests with make browser (it fetches axe-core)")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	eval[chromedp.Void](t, ctx, string(src)+"\n;true")
	raw := eval[[]byte](t, ctx, `axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
		resultTypes: ["violations"]
	}).then(r => ({version: axe.version, violations: r.violations, passes: r.passes.length}))`)
	var res struct {
		Version    string         `json:"version"`
		Violations []axeViolation `json:"violations"`
		Passes     int            `json:"passes"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("axe result: %v", err)
	}
	_ = os.WriteFile(filepath.Join(artifactsDir(t), "axe-"+view+".json"), raw, 0o644)
	counts := map[string]int{}
	for _, v := range res.Violations {
		counts[v.Impact]++
		targets := make([]string, 0, len(v.Nodes))
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		line := fmt.Sprintf("axe %s: %s (%s): %s on %s", view, v.ID, v.Impact, v.Help, strings.Join(targets, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(line)
		} else {
			t.Log(line)
		}
	}
	t.Logf("axe-core %s on the %s view: %d rules passed, violations by impact %v", res.Version, view, res.Passes, counts)
	return counts
}

// consoleLog collects what the page writes to its console (CSP violations
// and uncaught exceptions included) until the tab closes.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// problems lists exceptions, CSP violations and errors, minus expected ones.
func (c *consoleLog) problems(expected ...string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
next:
	for _, m := range c.msgs {
		if !m.IsException() && m.Type != "error" && !strings.Contains(m.Text, "Content Security Policy") {
			continue
		}
		for _, e := range expected {
			if strings.Contains(m.Text+" "+m.URL, e) {
				continue next
			}
		}
		out = append(out, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
	}
	return out
}
