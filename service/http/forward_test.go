package http_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/service"
	gwhttp "wagateway/service/http"
)

// routeTo sends every session named in far to the URL *to points at.
type routeTo struct {
	to    *string
	far   map[string]bool
	calls atomic.Int64
	reads atomic.Int64 // of calls, those through RouteRead
	err   error
}

func (r *routeTo) Route(ctx context.Context, id string, starting bool) (string, error) {
	r.calls.Add(1)
	if r.err != nil {
		return "", r.err
	}
	if r.far[id] {
		return *r.to, nil
	}
	return "", nil
}

func (r *routeTo) RouteRead(ctx context.Context, id string) (string, error) {
	r.reads.Add(1)
	return r.Route(ctx, id, false)
}

// A GET is routed as a read (the router may skip the owner lookup); what
// changes a session is routed in full.
func TestForwardRoutesGETAsARead(t *testing.T) {
	router := &routeTo{}
	a := newGateway(t, func(c *gwhttp.Config) { c.Router = router })
	a.laravel.EXPECT().SessionStatus(tmock.Anything, "s1").Return(service.StatusRecord{}, service.Errorf(service.ENOTFOUND, "404")).Once()
	if r := a.do(t, "GET", "/sessions/s1", ""); r.status != http.StatusNotFound {
		t.Fatalf("GET unknown session: %d %s", r.status, r.body)
	}
	if router.calls.Load() != 1 || router.reads.Load() != 1 {
		t.Fatalf("GET: %d routes, %d as reads; want 1, 1", router.calls.Load(), router.reads.Load())
	}
	if r := a.do(t, "POST", "/sessions/s1/logout", ""); r.status != http.StatusNotFound {
		t.Fatalf("logout unknown session: %d %s", r.status, r.body)
	}
	if router.calls.Load() != 2 || router.reads.Load() != 1 {
		t.Fatalf("POST logout: %d routes, %d as reads; want 2, 1", router.calls.Load(), router.reads.Load())
	}
}

// Two instances: a request to A for a session B runs is answered by B,
// and B checks the API key again.
func TestForwardToOwner(t *testing.T) {
	var bURL string
	router := &routeTo{to: &bURL, far: map[string]bool{"far": true, "user_7": true}}
	a := newGateway(t, func(c *gwhttp.Config) { c.Router, c.Instance, c.APIKey = router, "gw-a", "k1" })
	b := newGateway(t, func(c *gwhttp.Config) { c.Router, c.Instance, c.APIKey = &routeTo{}, "gw-b", "k1" })
	bURL = b.srv.URL
	key := []string{"X-API-Key", "k1"}

	if r := a.do(t, "POST", "/start", `{"session_id":"far"}`, key...); r.status != http.StatusOK {
		t.Fatalf("start through A: %d %s", r.status, r.body)
	}
	if r := a.do(t, "POST", "/start", `{"user_id":7}`, key...); r.status != http.StatusOK {
		t.Fatalf("start by user id through A: %d %s", r.status, r.body)
	}
	if r := a.do(t, "POST", "/start", `{"session_id":"near"}`, key...); r.status != http.StatusOK {
		t.Fatalf("start near: %d %s", r.status, r.body)
	}
	// The sessions run where the router sent them.
	for _, tt := range []struct {
		g        *gateway
		id       string
		want     int
		instance string
	}{{b, "far", http.StatusOK, "B"}, {b, "user_7", http.StatusOK, "B"}, {a, "near", http.StatusOK, "A"}} {
		r := tt.g.do(t, "GET", "/sessions/"+tt.id, "", append(key, gwhttp.ForwardedHeader, "test")...)
		if r.status != tt.want || r.json(t)["source"] != string(service.SourceLive) {
			t.Fatalf("%s on %s: %d %s", tt.id, tt.instance, r.status, r.body)
		}
	}
	a.laravel.EXPECT().SessionStatus(tmock.Anything, "far").Return(service.StatusRecord{}, service.Errorf(service.ENOTFOUND, "404")).Once()
	if r := a.do(t, "GET", "/sessions/far", "", gwhttp.ForwardedHeader, "x", "X-API-Key", "k1"); r.status != http.StatusNotFound {
		t.Fatalf("far must not run on A: %d %s", r.status, r.body)
	}
	// Sim and logout routes follow the session too.
	if r := a.do(t, "POST", "/sim/sessions/far/scan", "", key...); r.status != http.StatusAccepted {
		t.Fatalf("scan through A: %d %s", r.status, r.body)
	}
	active := false
	for range 500 {
		if r := a.do(t, "GET", "/sessions/far", "", key...); r.status == http.StatusOK && r.json(t)["estado_qr"] == "active" {
			active = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !active {
		t.Fatal("far never became active on its owner, asked through A")
	}

	// Without the key A refuses before forwarding.
	before := router.calls.Load()
	if r := a.do(t, "GET", "/sessions/far", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("no key: %d", r.status)
	}
	if router.calls.Load() != before {
		t.Fatal("an unauthenticated request was routed")
	}
}

func TestForwardChecksTheKeyAgainAtTheOwner(t *testing.T) {
	var bURL string
	a := newGateway(t, func(c *gwhttp.Config) {
		c.Router, c.Instance, c.APIKey = &routeTo{to: &bURL, far: map[string]bool{"far": true}}, "gw-a", "k1"
	})
	b := newGateway(t, func(c *gwhttp.Config) { c.APIKey = "other-key" })
	bURL = b.srv.URL
	if r := a.do(t, "POST", "/start", `{"session_id":"far"}`, "X-API-Key", "k1"); r.status != http.StatusUnauthorized {
		t.Fatalf("owner with another key: %d %s, want 401", r.status, r.body)
	}
}

func TestForwardToAnInstanceThatIsGone(t *testing.T) {
	gone := "http://127.0.0.1:1"
	a := newGateway(t, func(c *gwhttp.Config) { c.Router = &routeTo{to: &gone, far: map[string]bool{"far": true}} })
	r := a.do(t, "GET", "/sessions/far", "")
	if r.status != http.StatusServiceUnavailable || r.json(t)["error"].(map[string]any)["code"] != service.EUNAVAILABLE {
		t.Fatalf("owner gone: %d %s", r.status, r.body)
	}
	full := newGateway(t, func(c *gwhttp.Config) {
		c.Router = &routeTo{err: service.Errorf(service.EUNAVAILABLE, "every instance is full")}
	})
	if r := full.do(t, "POST", "/start", `{"session_id":"x"}`); r.status != http.StatusServiceUnavailable {
		t.Fatalf("no room anywhere: %d %s", r.status, r.body)
	}
	// A bad body is not routed: the handler explains it.
	if r := full.do(t, "POST", "/start", `{"nope":1}`); r.status != http.StatusBadRequest {
		t.Fatalf("bad body: %d %s", r.status, r.body)
	}
}
