package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/service"
	"wagateway/service/delivery"
	"wagateway/service/mock"
)

// Publish validates an item before the outbox sees it, and gives an item
// without a lane LaneFor's: a mockery Outbox checks exactly which Adds come
// (an Add of a bad item is a call it does not expect, and fails the test).
func TestFlusherPublish(t *testing.T) {
	outbox := mock.NewOutbox(t)
	h := newFlHarnessOn(t, delivery.Config{}, newFlClock(true), outbox)
	ctx := h.ctx

	bad := []service.Update{
		{Kind: service.KindQR, SessionID: "a", At: flT0},                                  // no QR
		{Kind: service.KindStatus, SessionID: "a", Status: "weird", At: flT0},             // unknown status
		{Kind: service.KindQR, SessionID: "a b", QR: "x", At: flT0},                       // bad session id
		{Kind: service.KindQR, SessionID: "a", QR: "x"},                                   // no time
		{Kind: service.KindQR, SessionID: "a", QR: "x", Lane: "fast", At: flT0},           // unknown lane
		{Kind: "video", SessionID: "a", Lane: service.LaneHigh, At: flT0, QR: "x"},        // unknown kind
		{Kind: service.KindStatus, SessionID: "", Status: service.StatusActive, At: flT0}, // no session
	}
	for _, it := range bad {
		if err := h.f.Publish(ctx, it); service.ErrorCode(err) != service.EINVALID {
			t.Errorf("Publish(%+v) = %v, want EINVALID", it, err)
		}
	}

	// Without a lane an item gets LaneFor's: QR codes and active go HIGH,
	// expired NORMAL.
	good := []service.Update{flQR("q", 0), flStatus("s", service.StatusActive, 0), flStatus("o", service.StatusExpired, 0)}
	flExpectAdds(outbox, []service.Lane{service.LaneHigh, service.LaneHigh, service.LaneNormal}, good...)
	h.publish(t, good...)
	outbox.EXPECT().Durable().Return(true).Once()
	outbox.EXPECT().Stats(tmock.Anything).Return(service.OutboxStats{}, nil).Once()
	m := h.f.Metrics(ctx)
	if m.Accepted != 3 || m.QRBatchSize != 1 || m.StatusBatchSize != 2 {
		t.Fatalf("metrics = %+v", m)
	}
	if !strings.Contains(h.logs.String(), `"msg":"item added"`) {
		t.Fatalf("no item added log: %s", h.logs)
	}
}

// A lane flushes when its own interval ends: HIGH after 1 s, NORMAL after 5 s.
func TestFlusherLaneIntervals(t *testing.T) {
	h := newFlHarness(t, delivery.Config{PriorityInterval: time.Second, BatchInterval: 5 * time.Second}, false)
	h.expect(1, 1)
	h.run(t)
	h.clock.WaitTimers(t, 2)
	h.publish(t, flQR("a", 0), flStatus("b", service.StatusExpired, 0))

	h.clock.Advance(time.Second)
	req := h.next(t)
	if req.Kind != service.KindQR || !slices.Equal(req.Sessions, []string{"a"}) {
		t.Fatalf("first request = %+v, want the HIGH lane's QR", req)
	}
	// NORMAL only goes at 5 s: the next request to arrive must be its status.
	for range 3 {
		h.clock.WaitTimers(t, 2)
		h.clock.Advance(time.Second)
	}
	h.clock.WaitTimers(t, 2)
	h.clock.Advance(time.Second)
	req = h.next(t)
	if req.Kind != service.KindStatus || !slices.Equal(req.Sessions, []string{"b"}) {
		t.Fatalf("second request = %+v, want the NORMAL lane's status", req)
	}
	if got := req.SentAt.Sub(flT0); got != 5*time.Second {
		t.Fatalf("status sent at +%s, want +5s", got)
	}
}

// BatchSize items arriving in a lane flush it without waiting for the interval.
func TestFlusherFlushesEarlyAtBatchSize(t *testing.T) {
	h := newFlHarness(t, delivery.Config{BatchSize: 3}, false)
	h.expect(0, 1)
	h.run(t)
	h.clock.WaitTimers(t, 2)
	h.publish(t, flStatus("a", service.StatusExpired, 0), flStatus("b", service.StatusExpired, 0))
	h.publish(t, flStatus("c", service.StatusExpired, 0)) // the third wakes the NORMAL lane
	req := h.next(t)
	if len(req.Sessions) != 3 {
		t.Fatalf("request has %d items, want 3 (no flush before BatchSize arrived)", len(req.Sessions))
	}
	if h.clock.Now() != flT0 {
		t.Fatalf("clock moved to %s: the flush waited for a timer", h.clock.Now())
	}
}

func TestFlusherBatchesBySize(t *testing.T) {
	tests := []struct {
		name      string
		qrs, sts  int
		batchSize int
		claimMax  int
		want      string
		requests  [2]int // QR and status requests
	}{
		{"one batch", 3, 2, 50, 0, "qr:3 status:2 ", [2]int{1, 1}},
		{"exact size", 50, 0, 50, 0, "qr:50 ", [2]int{1, 0}},
		{"split", 120, 7, 50, 0, "qr:50 qr:50 qr:20 status:7 ", [2]int{3, 1}},
		// Claims smaller than the backlog: the flush goes on claiming.
		{"small claims", 10, 0, 4, 6, "qr:4 qr:2 qr:4 ", [2]int{3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFlHarness(t, delivery.Config{BatchSize: tt.batchSize, ClaimMax: tt.claimMax}, true)
			h.expect(tt.requests[0], tt.requests[1])
			for i := range tt.qrs {
				h.publish(t, flQR(fmt.Sprintf("q%d", i), 0))
			}
			for i := range tt.sts {
				h.publish(t, flStatus(fmt.Sprintf("s%d", i), service.StatusActive, 0))
			}
			if err := h.f.FlushAll(h.ctx); err != nil {
				t.Fatalf("FlushAll: %v", err)
			}
			reqs, delivered, _, pending := h.snapshot(t)
			if got := flSizes(reqs); got != tt.want {
				t.Fatalf("requests = %q, want %q", got, tt.want)
			}
			if pending != 0 || delivered != tt.qrs+tt.sts {
				t.Fatalf("pending %d, delivered %d", pending, delivered)
			}
			m := h.f.Metrics(context.Background())
			if m.Sent != int64(tt.qrs+tt.sts) || m.RequestsSaved != int64(tt.qrs+tt.sts-len(reqs)) {
				t.Fatalf("metrics = %+v", m)
			}
		})
	}
}

// A claim can hold several items of one key (Claim's contract does not
// rule it out, though every outbox keeps one per key): only the newest goes,
// and the older ones are acknowledged with it. A mockery Outbox hands out
// such a claim and checks the acks exactly.
func TestFlusherCoalescesNewestPerKey(t *testing.T) {
	outbox := mock.NewOutbox(t)
	h := newFlHarnessOn(t, delivery.Config{}, newFlClock(true), outbox)
	h.expect(1, 1)
	items := []service.Update{
		flQR("a", 1*time.Second),
		flQR("a", 3*time.Second),
		flQR("a", 2*time.Second),
		flStatus("a", service.StatusActive, 1*time.Second),
		flStatus("a", service.StatusInactive, 4*time.Second),
		flQR("b", 1*time.Second),
	}
	high := service.LaneHigh
	added := flExpectAdds(outbox, []service.Lane{high, high, high, high, high, high}, items...)
	h.publish(t, items...)
	outbox.EXPECT().Claim(tmock.Anything, high, tmock.Anything).Return(added, nil).Once()
	outbox.EXPECT().Claim(tmock.Anything, high, tmock.Anything).Return(nil, nil).Once()
	outbox.EXPECT().Claim(tmock.Anything, service.LaneNormal, tmock.Anything).Return(nil, nil).Once()
	// Each sent item's id, then those of the older items of its key.
	outbox.EXPECT().Ack(tmock.Anything, high, "2", "1", "3", "6").Return(nil).Once()
	outbox.EXPECT().Ack(tmock.Anything, high, "5", "4").Return(nil).Once()
	if err := h.f.FlushAll(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	reqs := slices.Clone(h.requests)
	h.mu.Unlock()
	if len(reqs) != 2 {
		t.Fatalf("requests = %q", flSizes(reqs))
	}
	qr, st := reqs[0], reqs[1]
	if !slices.Equal(qr.Sessions, []string{"a", "b"}) || !qr.Ats[0].Equal(flT0.Add(3*time.Second)) {
		t.Fatalf("QR request = %+v, want a@3s and b", qr)
	}
	if !slices.Equal(st.Values, []string{"inactive"}) {
		t.Fatalf("status request = %+v, want only the newest (inactive)", st)
	}
	outbox.EXPECT().Durable().Return(true).Once()
	outbox.EXPECT().Stats(tmock.Anything).Return(service.OutboxStats{}, nil).Once()
	m := h.f.Metrics(h.ctx)
	if m.Superseded != 3 || m.Sent != 3 || m.Requests != 2 || m.RequestsSaved != 4 || m.QRBatchSize != 0 || m.StatusBatchSize != 0 {
		t.Fatalf("metrics = %+v", m)
	}
	if m.LastFlushQR != flT0.UnixMilli() || m.LastFlushStatus != flT0.UnixMilli() {
		t.Fatalf("last flush = %d/%d, want %d", m.LastFlushQR, m.LastFlushStatus, flT0.UnixMilli())
	}

	// The seed's "batch sent" line, one per request, with lane, kind, items and request_ms.
	var sentLines int
	for line := range strings.SplitSeq(h.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "batch sent" {
			continue
		}
		sentLines++
		for _, k := range []string{"lane", "kind", "items", "request_ms"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("batch sent line lacks %q: %s", k, line)
			}
		}
	}
	if sentLines != 2 {
		t.Fatalf("%d batch sent lines, want 2:\n%s", sentLines, h.logs)
	}
}

// When the newest item of a key is refused, the older ones stay and the next
// pass sends the newest of them, so Laravel keeps the latest valid state.
func TestFlusherSupersededStayWhenNewestRefused(t *testing.T) {
	outbox := mock.NewOutbox(t)
	h := newFlHarnessOn(t, delivery.Config{}, newFlClock(true), outbox)
	h.expect(0, 2)
	items := []service.Update{flStatus("a", service.StatusActive, 1*time.Second), flStatus("a", service.StatusInactive, 2*time.Second)}
	high := service.LaneHigh
	added := flExpectAdds(outbox, []service.Lane{high, high}, items...)
	h.publish(t, items...)
	h.setAnswer(func(n int, req flRequest) error {
		if req.Values[0] == "inactive" {
			return &service.DeliveryError{StatusCode: 422, Message: "bad"}
		}
		return nil
	})
	// The first claim holds both; the newest is refused and dead-lettered
	// alone, so the next claim still finds the older one, which goes.
	outbox.EXPECT().Claim(tmock.Anything, high, tmock.Anything).Return(added, nil).Once()
	outbox.EXPECT().DeadLetter(tmock.Anything, high, tmock.MatchedBy(func(dead []service.DeadLetter) bool {
		return len(dead) == 1 && dead[0].Item.ID == "2" && dead[0].Item.Status == service.StatusInactive &&
			strings.Contains(dead[0].Reason, "422")
	})).Return(nil).Once()
	outbox.EXPECT().Claim(tmock.Anything, high, tmock.Anything).Return(added[:1], nil).Once()
	outbox.EXPECT().Ack(tmock.Anything, high, "1").Return(nil).Once()
	outbox.EXPECT().Claim(tmock.Anything, high, tmock.Anything).Return(nil, nil).Once()
	outbox.EXPECT().Claim(tmock.Anything, service.LaneNormal, tmock.Anything).Return(nil, nil).Once()
	if err := h.f.FlushAll(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	reqs := slices.Clone(h.requests)
	h.mu.Unlock()
	if len(reqs) != 2 || reqs[0].Values[0] != "inactive" || reqs[1].Values[0] != "active" {
		t.Fatalf("requests %+v, want inactive (refused), then active", reqs)
	}
}

// Retries wait on the clock for full-jitter exponential backoff, or longer
// when Laravel says so, and keep the request's idempotency key.
func TestFlusherRetriesWithBackoff(t *testing.T) {
	rands := []float64{0.75, 0.125, 0.5, 0.9375, 0.25, 0} // exact in binary
	var calls int
	cfg := delivery.Config{
		BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second,
		Rand: func() float64 { r := rands[calls%len(rands)]; calls++; return r },
	}
	h := newFlHarness(t, cfg, true)
	h.expect(7, 0) // six failures, then the one that goes
	h.publish(t, flQR("a", 0), flQR("b", 0))
	failures := []error{
		&service.DeliveryError{StatusCode: 503, Message: "down"},
		&service.DeliveryError{StatusCode: 0, Message: "connection refused"},
		&service.DeliveryError{StatusCode: 429, RetryAfter: 10 * time.Second, Message: "slow down"},
		&service.DeliveryError{StatusCode: 500},
		&service.DeliveryError{StatusCode: 401, Message: "Unauthenticated."}, // a config problem, not bad items
		errors.New("unclassified"),
	}
	h.setAnswer(func(n int, _ flRequest) error {
		if n < len(failures) {
			return failures[n]
		}
		return nil
	})
	if err := h.f.FlushAll(h.ctx); err != nil {
		t.Fatal(err)
	}
	// ceilings: 100ms, 200ms, 400ms, 800ms, 1s (max), 1s
	want := []time.Duration{75 * time.Millisecond, 25 * time.Millisecond, 10 * time.Second, 750 * time.Millisecond, 250 * time.Millisecond, 0}
	waits := h.clock.Waits()
	// A zero wait asks the clock for nothing.
	if !slices.Equal(waits, want[:5]) {
		t.Fatalf("waits = %v, want %v", waits, want[:5])
	}
	reqs, delivered, dead, pending := h.snapshot(t)
	if len(reqs) != 7 || delivered != 2 || len(dead) != 0 || pending != 0 {
		t.Fatalf("requests %d, delivered %d, dead %v, pending %d", len(reqs), delivered, dead, pending)
	}
	for _, r := range reqs {
		if r.Key != reqs[0].Key || r.Key == "" {
			t.Fatalf("idempotency keys differ across retries: %q vs %q", r.Key, reqs[0].Key)
		}
	}
	m := h.f.Metrics(context.Background())
	if m.Requests != 7 || m.Retries != 6 || m.Failed != 6 || m.Sent != 2 {
		t.Fatalf("metrics = %+v", m)
	}
	var outcomes []string
	for _, b := range h.obs.batches {
		outcomes = append(outcomes, b.Outcome())
	}
	if strings.Join(outcomes, ",") != "retry,retry,retry,retry,retry,retry,sent" {
		t.Fatalf("outcomes = %v", outcomes)
	}
}

func TestBackoffBoundsThroughFlusher(t *testing.T) {
	// With rand → 1 every wait is its ceiling: base·2^(n-1), capped.
	cfg := delivery.Config{BackoffBase: 500 * time.Millisecond, BackoffMax: 30 * time.Second, Rand: func() float64 { return 0.999999 }}
	h := newFlHarness(t, cfg, true)
	h.expect(10, 0) // nine failures, then the one that goes
	h.publish(t, flQR("a", 0))
	h.setAnswer(func(n int, _ flRequest) error {
		if n < 9 {
			return &service.DeliveryError{StatusCode: 502}
		}
		return nil
	})
	if err := h.f.FlushAll(h.ctx); err != nil {
		t.Fatal(err)
	}
	ceilings := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	waits := h.clock.Waits()
	if len(waits) != len(ceilings) {
		t.Fatalf("waits = %v", waits)
	}
	for i, w := range waits {
		if w > ceilings[i] || w < ceilings[i]*99/100 {
			t.Errorf("wait %d = %s, want just under %s", i, w, ceilings[i])
		}
	}
}

// In Run, a request that keeps failing ends the cycle; later cycles skip
// until the backoff ends, then go on with the same items and key.
func TestFlusherRunBacksOffAcrossCycles(t *testing.T) {
	cfg := delivery.Config{PriorityInterval: time.Second, BatchInterval: time.Hour, BackoffBase: 500 * time.Millisecond, BackoffMax: 30 * time.Second}
	h := newFlHarness(t, cfg, false) // Rand 0.5: waits 250ms, 500ms, 1s
	h.expect(4, 0)                   // three failures, then the one that goes
	h.setAnswer(func(n int, _ flRequest) error {
		if n < 3 {
			return &service.DeliveryError{StatusCode: 503}
		}
		return nil
	})
	h.run(t)
	h.clock.WaitTimers(t, 2)
	h.publish(t, flQR("a", 0))

	h.clock.Advance(time.Second) // HIGH tick at 1s: try 1 fails
	h.next(t)
	h.clock.WaitTimers(t, 3) // NORMAL, next HIGH tick, the 250ms backoff
	h.clock.Advance(250 * time.Millisecond)
	h.next(t) // try 2 fails: 500ms
	h.clock.WaitTimers(t, 3)
	h.clock.Advance(500 * time.Millisecond)
	h.next(t) // try 3 fails at 1.75s: cycle stops, no request before 2.75s

	h.clock.Advance(250 * time.Millisecond) // tick at 2s: skipped
	flEventually(t, func() bool { return strings.Contains(h.logs.String(), "flush skipped: backing off") })
	h.clock.WaitTimers(t, 2)
	h.clock.Advance(time.Second) // tick at 3s: tries again
	req := h.next(t)
	if req.Sessions[0] != "a" {
		t.Fatalf("request = %+v", req)
	}
	if got := req.SentAt.Sub(flT0); got != 3*time.Second {
		t.Fatalf("fourth request at +%s, want +3s (the 2s tick must skip)", got)
	}
	reqs, _, _, _ := h.snapshot(t)
	for _, r := range reqs {
		if r.Key != reqs[0].Key {
			t.Fatalf("idempotency key changed between cycles")
		}
	}
}

// A try after a backoff claims again: an update the outbox superseded while
// the flusher waited is not sent, or Laravel coming back from an outage
// would get older states first.
func TestFlusherRetryAfterBackoffClaimsAgain(t *testing.T) {
	cfg := delivery.Config{PriorityInterval: time.Second, BatchInterval: time.Hour, BackoffBase: 500 * time.Millisecond, BackoffMax: 30 * time.Second}
	h := newFlHarness(t, cfg, false) // Rand 0.5: the first wait is 250ms
	h.expect(2, 0)                   // the failed try, then the retry
	h.setAnswer(func(n int, _ flRequest) error {
		if n == 0 {
			return &service.DeliveryError{StatusCode: 503}
		}
		return nil
	})
	h.run(t)
	h.clock.WaitTimers(t, 2)
	h.publish(t, flQR("a", 0))
	h.clock.Advance(time.Second) // HIGH tick at 1s: the try fails
	if req := h.next(t); !req.Ats[0].Equal(flT0) {
		t.Fatalf("first request = %+v", req)
	}
	// While the flusher waits, a newer code takes the old one's place in
	// the (in-memory) outbox.
	h.publish(t, flQR("a", 20*time.Second))
	h.clock.WaitTimers(t, 3) // NORMAL, next HIGH tick, the 250ms backoff
	h.clock.Advance(250 * time.Millisecond)
	req := h.next(t)
	if len(req.Ats) != 1 || !req.Ats[0].Equal(flT0.Add(20*time.Second)) {
		t.Fatalf("retry sent %v, want only the newer code (at +20s)", req.Ats)
	}
}

func TestFlusherIsolatesRefusedItems(t *testing.T) {
	refuse := func(bad ...string) flAnswer {
		return func(_ int, req flRequest) error {
			var idx []int
			for i, s := range req.Sessions {
				if slices.Contains(bad, s) {
					idx = append(idx, i)
				}
			}
			if len(idx) == 0 {
				return nil
			}
			return &service.DeliveryError{StatusCode: 422, Message: "The given data was invalid. (qrs.N.qr: bad)", Invalid: idx}
		}
	}
	withoutIndices := func(status int, bad ...string) flAnswer {
		return func(_ int, req flRequest) error {
			for _, s := range req.Sessions {
				if slices.Contains(bad, s) {
					return &service.DeliveryError{StatusCode: status, Message: "Bad Request"}
				}
			}
			return nil
		}
	}
	tests := []struct {
		name     string
		sessions int
		answer   flAnswer
		dead     []string
		requests string // the QR requests' sizes, in order
	}{
		{"422 names items", 5, refuse("s1", "s3"), []string{"s1", "s3"}, "qr:5 qr:3 "},
		{"422 names all", 2, refuse("s0", "s1"), []string{"s0", "s1"}, "qr:2 "},
		{"halving finds one", 4, withoutIndices(400, "s2"), []string{"s2"}, "qr:4 qr:2 qr:2 qr:1 qr:1 "},
		{"halving finds two", 4, withoutIndices(413, "s0", "s3"), []string{"s0", "s3"}, "qr:4 qr:2 qr:1 qr:1 qr:2 qr:1 qr:1 "},
		{"single item", 1, withoutIndices(400, "s0"), []string{"s0"}, "qr:1 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFlHarness(t, delivery.Config{}, true)
			h.expect(strings.Count(tt.requests, "qr:"), 0)
			for i := range tt.sessions {
				h.publish(t, flQR(fmt.Sprintf("s%d", i), 0))
			}
			h.setAnswer(tt.answer)
			if err := h.f.FlushAll(h.ctx); err != nil {
				t.Fatal(err)
			}
			reqs, delivered, dead, pending := h.snapshot(t)
			if got := flSizes(reqs); got != tt.requests {
				t.Errorf("requests = %q, want %q", got, tt.requests)
			}
			var deadSessions []string
			for _, d := range dead {
				deadSessions = append(deadSessions, d.Item.SessionID)
				if !strings.Contains(d.Reason, "laravel answered 4") || !strings.Contains(d.Reason, "Bad") && !strings.Contains(d.Reason, "invalid") {
					t.Errorf("reason %q lacks the status and Laravel's message", d.Reason)
				}
				if !d.At.Equal(h.clock.Now()) {
					t.Errorf("dead letter at %s", d.At)
				}
			}
			slices.Sort(deadSessions)
			if !slices.Equal(deadSessions, tt.dead) {
				t.Fatalf("dead-lettered %v, want %v", deadSessions, tt.dead)
			}
			if pending != 0 || delivered != tt.sessions-len(tt.dead) {
				t.Fatalf("pending %d, delivered %d", pending, delivered)
			}
			m := h.f.Metrics(context.Background())
			if m.DeadLettered != int64(len(tt.dead)) || len(h.obs.dead) != len(tt.dead) || m.Sent != int64(delivered) {
				t.Fatalf("metrics %+v, observer %d dead %d delivered", m, len(h.obs.dead), delivered)
			}
			if m.QRBatchSize != 0 {
				t.Errorf("qrBatchSize = %d after every item was delivered or dead-lettered, want 0", m.QRBatchSize)
			}
			if strings.Contains(h.logs.String(), `"msg":"laravel stored part of a batch"`) {
				t.Error("a refused request was logged as a partial store")
			}
			// Different item sets are different requests: a resent rest has its own key.
			keys := map[string]bool{}
			for _, r := range reqs {
				keys[r.Key] = true
			}
			if len(keys) != len(reqs) {
				t.Fatalf("%d keys for %d distinct requests", len(keys), len(reqs))
			}
		})
	}
}

func TestFlusherFlushAllDrainsBothLanes(t *testing.T) {
	h := newFlHarness(t, delivery.Config{BatchSize: 2}, true)
	h.expect(3, 3) // five of each kind, two per request, each kind in its lane
	for i := range 5 {
		h.publish(t, flQR(fmt.Sprintf("q%d", i), 0), flStatus(fmt.Sprintf("s%d", i), service.StatusExpired, 0))
	}
	if err := h.f.FlushAll(h.ctx); err != nil {
		t.Fatal(err)
	}
	_, delivered, _, pending := h.snapshot(t)
	if pending != 0 || delivered != 10 {
		t.Fatalf("pending %d, delivered %d", pending, delivered)
	}
	m := h.f.Metrics(context.Background())
	if m.Lanes[service.LaneHigh].Sent != 5 || m.Lanes[service.LaneNormal].Sent != 5 || m.Lanes[service.LaneHigh].Pending != 0 {
		t.Fatalf("lanes = %+v", m.Lanes)
	}
}

// FlushAll stops at ctx's end; what Laravel did not take stays in the outbox.
// Both items wait in one lane, so the requests made before the end are
// exactly the QR's six tries (two lanes would race to the end).
func TestFlusherFlushAllStopsAtDeadline(t *testing.T) {
	h := newFlHarness(t, delivery.Config{}, true)
	h.expect(6, 0)
	h.publish(t, flQR("a", 0), flStatus("b", service.StatusActive, 0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.setAnswer(func(n int, _ flRequest) error {
		if n == 5 {
			cancel()
		}
		return &service.DeliveryError{StatusCode: 503}
	})
	err := h.f.FlushAll(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("FlushAll = %v, want context.Canceled", err)
	}
	_, delivered, dead, pending := h.snapshot(t)
	if pending != 2 || delivered != 0 || len(dead) != 0 {
		t.Fatalf("pending %d, delivered %d, dead %v: undelivered items must stay", pending, delivered, dead)
	}
	m := h.f.Metrics(context.Background())
	if m.QRBatchSize != 1 || m.StatusBatchSize != 1 || m.Lanes[service.LaneHigh].Pending != 2 || m.Lanes[service.LaneNormal].Pending != 0 {
		t.Fatalf("metrics = %+v", m)
	}
}

func TestFlusherDirectMode(t *testing.T) {
	h := newFlHarness(t, delivery.Config{Mode: service.DeliveryModeDirect}, false)
	h.expectSingle(1, 4)
	h.setAnswer(func(_ int, req flRequest) error {
		if req.Sessions[0] == "gone" {
			return &service.DeliveryError{StatusCode: 404, Message: "WhatsApp account not found."}
		}
		return nil
	})
	h.run(t)
	h.clock.WaitTimers(t, 2)

	// Each event goes at once, alone, to the single endpoint: no coalescing.
	h.publish(t, flStatus("a", service.StatusExpired, time.Second))
	if req := h.next(t); !req.Single || req.Kind != service.KindStatus || req.Values[0] != "expired" {
		t.Fatalf("request = %+v", req)
	}
	h.publish(t, flQR("a", 2*time.Second))
	if req := h.next(t); !req.Single || req.Kind != service.KindQR {
		t.Fatalf("request = %+v", req)
	}
	// Each published one at a time: the outbox keeps one update per key.
	h.publish(t, flStatus("a", service.StatusActive, 3*time.Second))
	a := h.next(t)
	h.publish(t, flStatus("a", service.StatusInactive, 4*time.Second))
	if b := h.next(t); a.Values[0] != "active" || b.Values[0] != "inactive" {
		t.Fatalf("requests = %+v, %+v: direct mode must send every event", a, b)
	}
	// A single endpoint's 404 is about the item (unknown account).
	h.publish(t, flStatus("gone", service.StatusActive, 5*time.Second))
	if req := h.next(t); req.SentAt != flT0 || h.clock.Now() != flT0 {
		t.Fatalf("direct mode waited for the clock")
	}
	// Acks and the dead letter follow the answers.
	flEventually(t, func() bool {
		m := h.f.Metrics(context.Background())
		return m.DeadLettered == 1 && m.Sent == 4
	})
	m := h.f.Metrics(context.Background())
	if m.Mode != "direct" || m.Accepted != 5 || m.Requests != 5 || m.RequestsSaved != 0 || m.Sent != 4 {
		t.Fatalf("metrics = %+v", m)
	}
}

func TestFlusherObserversFanOut(t *testing.T) {
	a, b := &flObserver{}, &flObserver{}
	obs := delivery.Observers(a, b, service.NopFlusherObserver{})
	obs.OnBatch(service.BatchReport{Items: 1})
	obs.OnDelivered(flQR("x", 0), time.Second)
	obs.OnDeadLettered(service.DeadLetter{Reason: "r"})
	for _, o := range []*flObserver{a, b} {
		if len(o.batches) != 1 || len(o.delivered) != 1 || len(o.dead) != 1 {
			t.Fatalf("observer got %+v", o)
		}
	}
}

func TestFlusherConfigValidate(t *testing.T) {
	valid := withDefaults(delivery.Config{})
	with := func(change func(*delivery.Config)) delivery.Config {
		c := valid
		change(&c)
		return c
	}
	tests := []struct {
		cfg delivery.Config
		ok  bool
	}{
		{valid, true},
		{with(func(c *delivery.Config) { c.Mode, c.BatchSize = "direct", 10 }), true},
		{with(func(c *delivery.Config) { c.ClaimMax = 0 }), true}, // ClaimFactor × BatchSize
		{delivery.Config{}, false}, // no defaults of its own: every setting must be set
		{with(func(c *delivery.Config) { c.Mode = "fast" }), false},
		{with(func(c *delivery.Config) { c.Mode = "" }), false},
		{with(func(c *delivery.Config) { c.BatchSize = -1 }), false},
		{with(func(c *delivery.Config) { c.BatchSize = 0 }), false},
		{with(func(c *delivery.Config) { c.BatchInterval = -time.Second }), false},
		{with(func(c *delivery.Config) { c.PriorityInterval = 0 }), false},
		{with(func(c *delivery.Config) { c.ClaimMax = -1 }), false},
		{with(func(c *delivery.Config) { c.BackoffMax = -1 }), false},
		{with(func(c *delivery.Config) { c.BackoffBase = 0 }), false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.cfg, err, tt.ok)
		}
	}
	if _, err := delivery.New(delivery.Config{}, nil, nil, nil); err == nil {
		t.Error("New accepted an empty config")
	}
}

// Retries are not requests that carried new events: in direct mode, where
// nothing is coalesced, a retried request saves nothing and must not make
// requestsSaved negative (it was accepted - requests = 1 - 2 = -1).
func TestFlusherRequestsSavedCountsNoRetries(t *testing.T) {
	h := newFlHarness(t, delivery.Config{Mode: service.DeliveryModeDirect}, true)
	h.expectSingle(0, 2) // one failure, one retry
	h.setAnswer(func(n int, _ flRequest) error {
		if n == 0 {
			return &service.DeliveryError{StatusCode: 503, Message: "maintenance"}
		}
		return nil
	})
	ctx := h.ctx
	h.publish(t, flStatus("a", service.StatusActive, 0))
	if err := h.f.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	m := h.f.Metrics(ctx)
	if m.Accepted != 1 || m.Requests != 2 || m.Retries != 1 || m.Sent != 1 {
		t.Fatalf("metrics = %+v, want 1 accepted, 2 requests (1 retry), 1 sent", m)
	}
	if m.RequestsSaved != 0 {
		t.Errorf("requestsSaved = %d in direct mode, want 0", m.RequestsSaved)
	}
}

// In batch mode a retry is a request that saves nothing, the first tries
// are what the coalesced batches saved; what was sent sets the right kind's
// last-flush time, and a clean drain logs neither a partial store nor an
// outbox problem, and says it completed.
func TestFlusherBatchMetricsAfterARetry(t *testing.T) {
	h := newFlHarness(t, delivery.Config{}, true)
	h.expect(0, 2) // one failure, one retry
	h.setAnswer(func(n int, _ flRequest) error {
		if n == 0 {
			return &service.DeliveryError{StatusCode: 503, Message: "maintenance"}
		}
		return nil
	})
	ctx := h.ctx
	for _, id := range []string{"a", "b", "c"} {
		h.publish(t, flStatus(id, service.StatusExpired, 0))
	}
	if err := h.f.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	m := h.f.Metrics(ctx)
	if m.Accepted != 3 || m.Requests != 2 || m.Retries != 1 || m.Sent != 3 {
		t.Fatalf("metrics = %+v, want 3 accepted, 2 requests (1 retry), 3 sent", m)
	}
	if m.RequestsSaved != 2 { // 3 events in 1 first try
		t.Errorf("requestsSaved = %d, want 2", m.RequestsSaved)
	}
	if m.LastFlushStatus != h.clock.Now().UnixMilli() || m.LastFlushQR != 0 {
		t.Errorf("last flush: status %d, qr %d; want %d and 0 (no QR sent)", m.LastFlushStatus, m.LastFlushQR, h.clock.Now().UnixMilli())
	}
	if m.StatusBatchSize != 0 || m.QRBatchSize != 0 {
		t.Errorf("per-kind pending %d status, %d qr after delivery, want 0", m.StatusBatchSize, m.QRBatchSize)
	}
	logs := h.logs.String()
	for _, msg := range []string{"laravel stored part of a batch", "outbox stats unavailable for batch metrics"} {
		if strings.Contains(logs, `"msg":"`+msg+`"`) {
			t.Errorf("logged %q on a clean delivery", msg)
		}
	}
	if !strings.Contains(logs, `"msg":"flush all done"`) || !strings.Contains(logs, `"complete":true`) {
		t.Error(`FlushAll did not log "flush all done" with complete true`)
	}
}

// When the outbox cannot take the dead letters a 422 named, the flush stops
// with that error: the rest of the batch waits rather than overtaking them.
func TestFlusherStopsWhenDeadLetteringFails(t *testing.T) {
	outbox := mock.NewOutbox(t)
	h := newFlHarnessOn(t, delivery.Config{}, newFlClock(true), outbox)
	h.expect(1, 0) // the one refused request
	items := []service.Update{flQR("s0", 0), flQR("s1", 0), flQR("s2", 0)}
	high := service.LaneHigh
	added := flExpectAdds(outbox, []service.Lane{high, high, high}, items...)
	h.publish(t, items...)
	h.setAnswer(func(_ int, req flRequest) error {
		if slices.Contains(req.Sessions, "s1") {
			return &service.DeliveryError{StatusCode: 422, Message: "invalid", Invalid: []int{slices.Index(req.Sessions, "s1")}}
		}
		return nil
	})
	// No Ack is expected: s0 and s2 wait rather than overtake s1.
	outbox.EXPECT().Claim(tmock.Anything, high, tmock.Anything).Return(added, nil).Once()
	outbox.EXPECT().Claim(tmock.Anything, service.LaneNormal, tmock.Anything).Return(nil, nil).Once()
	outbox.EXPECT().DeadLetter(tmock.Anything, high, tmock.MatchedBy(func(dead []service.DeadLetter) bool {
		return len(dead) == 1 && dead[0].Item.ID == "2"
	})).Return(errors.New("outbox down")).Once()
	if err := h.f.FlushAll(h.ctx); err == nil || !strings.Contains(err.Error(), "outbox down") {
		t.Fatalf("FlushAll = %v, want the dead-letter error", err)
	}
}

// A claim that comes back full means more may wait: the same cycle claims
// again instead of leaving the rest to the next interval.
func TestFlusherClaimsAgainAfterAFullClaim(t *testing.T) {
	h := newFlHarness(t, delivery.Config{BatchSize: 2, ClaimMax: 2}, false)
	h.expect(2, 0)
	// All four wait before Run starts, so its first, early cycle (BatchSize
	// reached) finds them together; an early cycle sends only full
	// requests, so it takes two full claims to send them all.
	h.publish(t, flQR("a", 0), flQR("b", 0), flQR("c", 0), flQR("d", 0))
	h.run(t)
	got := map[string]bool{}
	for range 2 {
		for _, s := range h.next(t).Sessions {
			got[s] = true
		}
	}
	if len(got) != 4 || h.clock.Now() != flT0 {
		t.Fatalf("sent %v by %s, want a, b, c and d in one early cycle", got, h.clock.Now())
	}
}

// Direct mode sends every claimed item in the cycle that claimed it, one
// request each, not one per cycle.
func TestFlusherDirectModeSendsTheWholeClaim(t *testing.T) {
	h := newFlHarness(t, delivery.Config{Mode: service.DeliveryModeDirect}, false)
	h.expectSingle(0, 3)
	h.publish(t, flStatus("a", service.StatusExpired, 0), flStatus("b", service.StatusExpired, 0), flStatus("c", service.StatusExpired, 0))
	h.run(t)
	got := map[string]bool{}
	for range 3 {
		req := h.next(t)
		if !req.Single {
			t.Fatalf("request %+v is not a single-item request", req)
		}
		got[req.Sessions[0]] = true
	}
	if len(got) != 3 || h.clock.Now() != flT0 {
		t.Fatalf("sent %v by %s, want a, b and c at once", got, h.clock.Now())
	}
}
