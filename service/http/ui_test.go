package http_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/service"
	gwhttp "wagateway/service/http"
)

// login posts the key to /ui/login and returns the answer and its cookie.
func (g *gateway) login(t *testing.T, key string, headers ...string) (response, *http.Cookie) {
	t.Helper()
	r := g.do(t, "POST", "/ui/login", `{"api_key":"`+key+`"}`, headers...)
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "wagateway_ui" {
			return r, c
		}
	}
	return r, nil
}

func csrfOf(t *testing.T, r response) string {
	t.Helper()
	tok, _ := r.json(t)["csrf"].(string)
	if tok == "" {
		t.Fatalf("no csrf token in %s", r.body)
	}
	return tok
}

// The page is served from the binary, under a strict policy, and carries
// no inline script or style for that policy to allow.
func TestUIPageHasNoInlineCode(t *testing.T) {
	g := newGateway(t, func(c *gwhttp.Config) { c.APIKey = "s3cret" })
	r := g.do(t, "GET", "/ui", "")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /ui without a key: %d %s", r.status, r.header.Get("Content-Type"))
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP allows unsafe code: %q", csp)
	}
	html := string(r.body)
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`),          // a script with a body
		regexp.MustCompile(`\son[a-z]+\s*=`),                         // onclick=…
		regexp.MustCompile(`\sstyle\s*=`),                            // style="…"
		regexp.MustCompile(`<style`),                                 // a style element
		regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"(?:https?:)?//`), // another origin (a CDN)
	} {
		if m := bad.FindString(html); m != "" {
			t.Errorf("index.html has %q", m)
		}
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, ` src="/ui/assets/`) {
			t.Errorf("index.html has a script not from /ui/assets: %s", tag)
		}
	}
	for _, asset := range []struct{ path, typ string }{
		{"/ui/assets/app.js", "text/javascript"},
		{"/ui/assets/app.css", "text/css"},
	} {
		r := g.do(t, "GET", asset.path, "")
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), asset.typ) || len(r.body) < 1000 {
			t.Errorf("%s: %d %q, %d bytes", asset.path, r.status, r.header.Get("Content-Type"), len(r.body))
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", asset.path)
		}
	}
	if r := g.do(t, "GET", "/ui/assets/nope.js", ""); r.status != http.StatusNotFound {
		t.Errorf("missing asset: %d", r.status)
	}
}

// The login trades the key for an HttpOnly, SameSite=Strict, expiring
// cookie; a wrong key gets none.
func TestUILoginCookie(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	g := newGateway(t, func(c *gwhttp.Config) {
		c.APIKey, c.Clock, c.UI.SessionTTL = "s3cret", clock, 2*time.Hour
	})
	for _, wrong := range []string{"", "nope", "s3cret2", "S3CRET"} {
		r, c := g.login(t, wrong)
		if r.status != http.StatusUnauthorized || c != nil {
			t.Errorf("login with %q: %d, cookie %v", wrong, r.status, c)
		}
	}
	if r, c := g.login(t, "s3cret", "Origin", "http://evil.example"); r.status != http.StatusForbidden || c != nil {
		t.Errorf("login from another origin: %d, cookie %v", r.status, c)
	}
	r, c := g.login(t, "s3cret", "Origin", g.srv.URL)
	if r.status != http.StatusOK || c == nil {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 7200 {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, Max-Age=7200", c)
	}
	if want := clock.Now().Add(2 * time.Hour); !c.Expires.Equal(want) {
		t.Errorf("cookie expires %v, want %v", c.Expires, want)
	}
	if strings.Contains(c.Value, "s3cret") {
		t.Errorf("the cookie carries the key: %q", c.Value)
	}
	cookie := "wagateway_ui=" + c.Value
	if r := g.do(t, "GET", "/sessions", "", "Cookie", cookie); r.status != http.StatusOK {
		t.Errorf("GET /sessions with the cookie: %d", r.status)
	}
	s := g.do(t, "GET", "/ui/session", "", "Cookie", cookie).json(t)
	if s["authenticated"] != true || s["csrf"] != csrfOf(t, r) {
		t.Errorf("/ui/session with the cookie: %v", s)
	}
	if s := g.do(t, "GET", "/ui/session", "").json(t); s["authenticated"] != false || s["csrf"] != nil {
		t.Errorf("/ui/session without the cookie: %v", s)
	}

	// A tampered cookie, or one signed with another key, is worth nothing.
	parts := strings.Split(c.Value, ".")
	longer := strings.Join([]string{parts[0], "9999999999", parts[2], parts[3]}, ".")
	for name, v := range map[string]string{"longer expiry": longer, "no mac": strings.Join(parts[:3], "."), "garbage": "v1.x"} {
		if r := g.do(t, "GET", "/sessions", "", "Cookie", "wagateway_ui="+v); r.status != http.StatusUnauthorized {
			t.Errorf("%s cookie: %d", name, r.status)
		}
	}
	other := newGateway(t, func(c *gwhttp.Config) { c.APIKey, c.Clock = "another", clock })
	if r := other.do(t, "GET", "/sessions", "", "Cookie", cookie); r.status != http.StatusUnauthorized {
		t.Errorf("a cookie of another key: %d", r.status)
	}

	// Expired: refused.
	clock.Advance(2*time.Hour + time.Second)
	if r := g.do(t, "GET", "/sessions", "", "Cookie", cookie); r.status != http.StatusUnauthorized {
		t.Errorf("GET /sessions with an expired cookie: %d", r.status)
	}
}

// A cookie-authenticated change needs the cookie's CSRF token; API clients
// sending the key are not browsers and need none.
func TestUICSRF(t *testing.T) {
	g := newGateway(t, func(c *gwhttp.Config) { c.APIKey = "s3cret" })
	r, c := g.login(t, "s3cret")
	token := csrfOf(t, r)
	cookie := "wagateway_ui=" + c.Value
	_, c2 := g.login(t, "s3cret")
	otherToken := csrfOf(t, g.do(t, "GET", "/ui/session", "", "Cookie", "wagateway_ui="+c2.Value))

	for _, rt := range []struct{ method, path, body string }{
		{"POST", "/start", `{"session_id":"csrf-1"}`},
		{"POST", "/sessions/csrf-1/logout", ""},
		{"POST", "/sessions/csrf-1/stop", ""},
		{"DELETE", "/sessions/csrf-1", ""},
		{"POST", "/sessions/csrf-1/pair-phone", `{"phone":"5511999990000"}`},
		{"POST", "/sim/sessions/csrf-1/scan", ""},
		{"POST", "/ui/logout", ""},
	} {
		for name, h := range map[string][]string{
			"no token":              {"Cookie", cookie},
			"forged token":          {"Cookie", cookie, "X-CSRF-Token", "forged"},
			"another login's token": {"Cookie", cookie, "X-CSRF-Token", otherToken},
		} {
			r := g.do(t, rt.method, rt.path, rt.body, h...)
			if r.status != http.StatusForbidden || r.json(t)["error"].(map[string]any)["code"] != "csrf" {
				t.Errorf("%s %s with the cookie and %s: %d %s", rt.method, rt.path, name, r.status, r.body)
			}
		}
	}
	if r := g.do(t, "GET", "/sessions", "", "X-API-Key", "s3cret"); strings.Contains(string(r.body), "csrf-1") {
		t.Fatalf("a refused request started csrf-1: %s", r.body)
	}
	if r := g.do(t, "POST", "/start", `{"session_id":"csrf-1"}`, "Cookie", cookie, "X-CSRF-Token", token); r.status != http.StatusOK {
		t.Errorf("POST /start with the cookie and its token: %d %s", r.status, r.body)
	}
	if r := g.do(t, "POST", "/sessions/csrf-1/stop", "", "X-API-Key", "s3cret"); r.status != http.StatusOK {
		t.Errorf("POST /sessions/csrf-1/stop with the key, no token: %d %s", r.status, r.body)
	}
	// Signing out clears the cookie.
	r = g.do(t, "POST", "/ui/logout", "", "Cookie", cookie, "X-CSRF-Token", token)
	if r.status != http.StatusNoContent || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("sign out: %d, Set-Cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
}

// feed is a SessionFeed the test triggers by hand.
type feed struct {
	mu      sync.Mutex
	ids     []string
	wake    chan struct{}
	subbed  chan struct{}
	stopped chan struct{}
}

func newFeed() *feed {
	return &feed{wake: make(chan struct{}, 1), subbed: make(chan struct{}, 8), stopped: make(chan struct{}, 8)}
}

func (f *feed) Subscribe() (<-chan struct{}, func() []string, func()) {
	f.subbed <- struct{}{}
	return f.wake, func() []string {
			f.mu.Lock()
			defer f.mu.Unlock()
			ids := f.ids
			f.ids = nil
			return ids
		}, func() {
			f.stopped <- struct{}{}
		}
}

func (f *feed) changed(ids ...string) {
	f.mu.Lock()
	f.ids = append(f.ids, ids...)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

type sseEvent struct {
	name string
	data map[string]any
}

// readEvents parses server-sent events from the stream onto a channel.
func readEvents(t *testing.T, res *http.Response) <-chan sseEvent {
	out := make(chan sseEvent, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			case line == "" && ev.name != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out
}

func next(t *testing.T, events <-chan sseEvent, name string) sseEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended before a %q event", name)
			}
			if ev.name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within 10 s", name)
		}
	}
}

// GET /ui/events pushes the delivery panel at once and a session each time
// the feed says it changed; the subscription ends with the stream.
func TestUIEvents(t *testing.T) {
	f := newFeed()
	g := newGateway(t, func(c *gwhttp.Config) {
		c.APIKey = "s3cret"
		c.UI = gwhttp.UIConfig{
			Feed: f,
			Traffic: func() service.DeliveryTraffic {
				return service.DeliveryTraffic{StatusCodes: map[string]int64{"2xx": 3, "422": 1}}
			},
			DeadLetters: func(context.Context, int) ([]service.DeadLetter, error) {
				return []service.DeadLetter{{Item: service.Update{ID: "7", Kind: service.KindQR, SessionID: "bad", QR: "data:image/png;base64,AAAA"}, Reason: "422: invalid"}}, nil
			},
		}
	})
	if r := g.do(t, "GET", "/ui/events", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("events without a key: %d", r.status)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.srv.URL+"/ui/events", nil)
	req.Header.Set("X-API-Key", "s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", res.Header.Get("Content-Type"))
	}
	events := readEvents(t, res)
	d := next(t, events, "delivery").data
	if d["batch"].(map[string]any)["qrBatchSize"] != 12.0 || d["traffic"].(map[string]any)["statusCodes"].(map[string]any)["422"] != 1.0 {
		t.Errorf("delivery event: %v", d)
	}
	dead := d["deadLetters"].([]any)
	if len(dead) != 1 || dead[0].(map[string]any)["reason"] != "422: invalid" || strings.Contains(fmt.Sprint(dead), "base64") {
		t.Errorf("dead letters: %v", dead)
	}

	if r := g.do(t, "POST", "/start", `{"session_id":"live-1"}`, "X-API-Key", "s3cret"); r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	f.changed("live-1")
	s := next(t, events, "session").data
	if s["session_id"] != "live-1" || s["source"] != "live" {
		t.Errorf("session event: %v", s)
	}
	cancel()
	select {
	case <-f.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the subscription outlived the stream")
	}
}

// Shutdown ends open event streams instead of waiting for them.
func TestUIEventsEndOnShutdown(t *testing.T) {
	srv := gwhttp.NewServer(gwhttp.Config{Sessions: noSessions{}, UI: gwhttp.UIConfig{Feed: newFeed()}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	next(t, readEvents(t, res), "delivery")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	<-served
}

// noSessions is a session manager without sessions.
type noSessions struct{}

func (noSessions) Start(context.Context, string) (service.Session, error) {
	return service.Session{}, nil
}
func (noSessions) Session(context.Context, string) (service.Session, service.Source, error) {
	return service.Session{}, service.SourceNone, service.Errorf(service.ENOTFOUND, "none")
}
func (noSessions) Sessions(context.Context) ([]service.Session, error) { return nil, nil }
func (noSessions) Local() []service.Session                            { return nil }
func (noSessions) Logout(context.Context, string) error                { return nil }
func (noSessions) Delete(context.Context, string) error                { return nil }
func (noSessions) ActiveSessions() int                                 { return 0 }
