package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/delivery"
	gwhttp "wagateway/service/http"
	"wagateway/service/inmem"
)

type addPublisher struct{ ob service.Outbox }

func (p addPublisher) Publish(ctx context.Context, it service.Update) error {
	_, err := p.ob.Add(ctx, it)
	return err
}

// deadOutbox holds n dead letters of sessions s0…s(n-1), s0 the oldest.
func deadOutbox(t *testing.T, n int) service.Outbox {
	t.Helper()
	ctx := context.Background()
	ob := inmem.NewOutbox(nil)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		it, err := ob.Add(ctx, service.Update{Kind: service.KindStatus, Lane: service.LaneNormal,
			SessionID: fmt.Sprintf("s%d", i), Status: service.StatusActive, At: at.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		it.Attempts = 3
		if err := ob.DeadLetter(ctx, service.LaneNormal, []service.DeadLetter{{Item: it, Reason: "422 invalid"}}); err != nil {
			t.Fatal(err)
		}
	}
	return ob
}

type deadPage struct {
	DeadLetters []struct {
		ID, SessionID, Reason string
		Attempts              int
		DeadAt                time.Time `json:"dead_at"`
		Item                  service.Update
	} `json:"dead_letters"`
	Next string `json:"next"`
}

func TestDeadLetterRoutes(t *testing.T) {
	ob := deadOutbox(t, 5)
	g := newGateway(t, func(c *gwhttp.Config) {
		c.DeadLetters = delivery.NewDeadLetters(delivery.DeadLetterConfig{}, ob, addPublisher{ob}, nil)
	})
	page := func(path string) deadPage {
		t.Helper()
		r := g.do(t, "GET", path, "")
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		var p deadPage
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	p1 := page("/deadletters?limit=2")
	if len(p1.DeadLetters) != 2 || p1.Next == "" || p1.DeadLetters[0].Item.SessionID != "s4" ||
		p1.DeadLetters[0].Reason != "422 invalid" || p1.DeadLetters[0].Attempts != 3 || p1.DeadLetters[0].DeadAt.IsZero() {
		t.Fatalf("first page: %+v", p1)
	}
	p2 := page("/deadletters?limit=2&before=" + p1.Next)
	p3 := page("/deadletters?limit=2&before=" + p2.Next)
	if len(p2.DeadLetters) != 2 || len(p3.DeadLetters) != 1 || p3.Next != "" || p3.DeadLetters[0].Item.SessionID != "s0" {
		t.Fatalf("pages 2 and 3: %+v %+v", p2, p3)
	}
	if p := page("/deadletters?session_id=s3"); len(p.DeadLetters) != 1 || p.DeadLetters[0].Item.SessionID != "s3" {
		t.Fatalf("by session: %+v", p)
	}

	for _, bad := range []string{"/deadletters?limit=0", "/deadletters?limit=x", "/deadletters?session_id=../x"} {
		if r := g.do(t, "GET", bad, ""); r.status != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", bad, r.status)
		}
	}
	for _, bad := range []string{`{}`, `{"all":true,"session_id":"s1"}`, `{"all":false}`, `{"ids":[]}`, `{"everything":true}`} {
		if r := g.do(t, "POST", "/deadletters/replay", bad); r.status != http.StatusBadRequest {
			t.Errorf("replay %s: %d, want 400", bad, r.status)
		}
	}

	// Replay by session, then by id, then all.
	r := g.do(t, "POST", "/deadletters/replay", `{"session_id":"s3"}`)
	if r.status != http.StatusOK || r.json(t)["replayed"] != 1.0 {
		t.Fatalf("replay s3: %d %s", r.status, r.body)
	}
	r = g.do(t, "POST", "/deadletters/replay", `{"ids":["`+p1.DeadLetters[0].ID+`","nope"]}`)
	if r.status != http.StatusOK || r.json(t)["replayed"] != 1.0 {
		t.Fatalf("replay by id: %d %s", r.status, r.body)
	}
	if r := g.do(t, "DELETE", "/deadletters/"+p3.DeadLetters[0].ID, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := g.do(t, "DELETE", "/deadletters/"+p3.DeadLetters[0].ID, ""); r.status != http.StatusNotFound {
		t.Fatalf("second delete: %d %s", r.status, r.body)
	}
	r = g.do(t, "POST", "/deadletters/replay", `{"all":true}`)
	if r.status != http.StatusOK || r.json(t)["replayed"] != 2.0 {
		t.Fatalf("replay all: %d %s", r.status, r.body)
	}
	if p := page("/deadletters"); len(p.DeadLetters) != 0 {
		t.Fatalf("left: %+v", p)
	}
	st, _ := ob.Stats(context.Background())
	if st.Depth[service.LaneNormal] != 4 {
		t.Fatalf("outbox holds %d replayed items, want 4 (s4, s3, s2, s1)", st.Depth[service.LaneNormal])
	}
}
