package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/internal/clocktest"
	"wagateway/internal/logtest"
	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/delivery"
	"wagateway/service/inmem"
	"wagateway/service/mock"
)

// flT0 is when every flusher test starts.
var flT0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// newFlClock is a fake clock at flT0. After records every wait asked for;
// in auto mode it fires at once (moving now forward), otherwise only when
// the test advances the clock.
func newFlClock(auto bool) *clocktest.Clock {
	c := clocktest.New(flT0)
	c.SetAuto(auto)
	return c
}

// flRequest is one request the mock Laravel received.
type flRequest struct {
	Kind     service.Kind
	Single   bool
	Key      string
	Sessions []string
	Values   []string    // QR or status per item
	Ats      []time.Time // each item's event time
	SentAt   time.Time   // the fake clock when the request arrived
}

// flAnswer decides the mock Laravel's answer to its n-th request (from 0).
type flAnswer func(n int, req flRequest) error

// flDeadline guards every flusher test against a hang; it asserts no timing.
const flDeadline = 30 * time.Second

// flHarness is a Flusher over the in-memory outbox (a fake is enough: it
// passes the outbox contract suite) and a mockery Laravel, which the test
// tells how many requests of each kind it must get (expect, expectSingle):
// mockery asserts those counts when the test ends, and any request not
// expected fails the test. The mock records each request and answers with
// the test's flAnswer.
type flHarness struct {
	clock   *clocktest.Clock
	outbox  *inmem.Outbox
	laravel *mock.Laravel
	obs     *flObserver
	logs    *logtest.Buffer
	f       *delivery.Flusher
	ctx     context.Context // ends at flDeadline: a hang guard for FlushAll

	mu       sync.Mutex
	requests []flRequest
	answer   flAnswer
	sent     chan flRequest // every request, for tests that wait for one
}

// withDefaults fills the settings a test leaves zero from config.Default,
// as the gateway's wiring does.
func withDefaults(c delivery.Config) delivery.Config {
	d := config.Default()
	if c.Mode == "" {
		c.Mode = d.DeliveryMode
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.BatchInterval == 0 {
		c.BatchInterval = d.BatchInterval
	}
	if c.PriorityInterval == 0 {
		c.PriorityInterval = d.PriorityInterval
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = d.BackoffBase
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = d.BackoffMax
	}
	return c
}

// newFlHarness builds a Flusher over the in-memory outbox.
func newFlHarness(t *testing.T, cfg delivery.Config, auto bool) *flHarness {
	t.Helper()
	clock := newFlClock(auto)
	h := newFlHarnessOn(t, cfg, clock, inmem.NewOutbox(clock))
	return h
}

// newFlHarnessOn builds a Flusher over outbox: the in-memory one, or a
// mockery Outbox for a test that checks the flusher's outbox calls (and
// leaves h.outbox nil).
func newFlHarnessOn(t *testing.T, cfg delivery.Config, clock *clocktest.Clock, outbox service.Outbox) *flHarness {
	t.Helper()
	h := &flHarness{
		clock:   clock,
		laravel: mock.NewLaravel(t),
		obs:     &flObserver{},
		logs:    &logtest.Buffer{},
		answer:  func(int, flRequest) error { return nil },
		sent:    make(chan flRequest, 1000),
	}
	h.outbox, _ = outbox.(*inmem.Outbox)
	ctx, cancel := context.WithTimeout(context.Background(), flDeadline)
	t.Cleanup(cancel)
	h.ctx = ctx
	if cfg.Clock == nil {
		cfg.Clock = h.clock
	}
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 0.5 }
	}
	if cfg.Observer == nil {
		cfg.Observer = h.obs
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := delivery.New(withDefaults(cfg), outbox, h.laravel, logger)
	if err != nil {
		t.Fatal(err)
	}
	h.f = f
	return h
}

func (h *flHarness) setAnswer(a flAnswer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answer = a
}

// flEventually waits until cond holds: for effects that follow a request
// asynchronously (acks, log lines). It syncs, it asserts no timing.
func flEventually(t *testing.T, cond func() bool) {
	t.Helper()
	for range 10000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition never held")
}

// expect makes Laravel take exactly qrs QR batch requests and statuses
// status batch requests (retries included) by the end of the test.
func (h *flHarness) expect(qrs, statuses int) {
	if qrs > 0 {
		h.laravel.EXPECT().PostQRBatch(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, key string, qrs []service.QRUpdate) (service.BatchResult, error) {
			req := flRequest{Kind: service.KindQR, Key: key}
			for _, q := range qrs {
				req.Sessions, req.Values, req.Ats = append(req.Sessions, q.SessionID), append(req.Values, q.QR), append(req.Ats, q.GeneratedAt)
			}
			if err := h.receive(req); err != nil {
				return service.BatchResult{}, err
			}
			return service.BatchResult{Success: true, Updated: len(qrs)}, nil
		}).Times(qrs)
	}
	if statuses > 0 {
		h.laravel.EXPECT().PostStatusBatch(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, key string, sts []service.StatusUpdate) (service.BatchResult, error) {
			req := flRequest{Kind: service.KindStatus, Key: key}
			for _, s := range sts {
				req.Sessions, req.Values, req.Ats = append(req.Sessions, s.SessionID), append(req.Values, string(s.Status)), append(req.Ats, s.UpdatedAt)
			}
			if err := h.receive(req); err != nil {
				return service.BatchResult{}, err
			}
			return service.BatchResult{Success: true, Updated: len(sts)}, nil
		}).Times(statuses)
	}
}

// expectSingle is expect for direct mode's one-item requests.
func (h *flHarness) expectSingle(qrs, statuses int) {
	if qrs > 0 {
		h.laravel.EXPECT().PostQR(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, key string, q service.QRUpdate) error {
			return h.receive(flRequest{Kind: service.KindQR, Single: true, Key: key, Sessions: []string{q.SessionID}, Values: []string{q.QR}, Ats: []time.Time{q.GeneratedAt}})
		}).Times(qrs)
	}
	if statuses > 0 {
		h.laravel.EXPECT().PostStatus(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, key string, s service.StatusUpdate) error {
			return h.receive(flRequest{Kind: service.KindStatus, Single: true, Key: key, Sessions: []string{s.SessionID}, Values: []string{string(s.Status)}, Ats: []time.Time{s.UpdatedAt}})
		}).Times(statuses)
	}
}

func (h *flHarness) receive(req flRequest) error {
	req.SentAt = h.clock.Now()
	h.mu.Lock()
	n := len(h.requests)
	h.requests = append(h.requests, req)
	answer := h.answer
	h.mu.Unlock()
	err := answer(n, req)
	h.sent <- req
	return err
}

// next waits for the mock Laravel's next request.
func (h *flHarness) next(t *testing.T) flRequest {
	t.Helper()
	select {
	case req := <-h.sent:
		return req
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("Laravel received no request")
		return flRequest{}
	}
}

func (h *flHarness) publish(t *testing.T, items ...service.Update) {
	t.Helper()
	for _, it := range items {
		if err := h.f.Publish(h.ctx, it); err != nil {
			t.Fatalf("Publish(%s): %v", it, err)
		}
	}
}

// snapshot is what Laravel got, how many items the flusher reported
// delivered, the outbox's dead letters (oldest first) and how many items
// still wait in it.
func (h *flHarness) snapshot(t *testing.T) (requests []flRequest, delivered int, dead []service.DeadLetter, pending int) {
	t.Helper()
	h.mu.Lock()
	requests = slices.Clone(h.requests)
	h.mu.Unlock()
	h.obs.mu.Lock()
	delivered = len(h.obs.delivered)
	h.obs.mu.Unlock()
	dead, err := h.outbox.DeadLetters(h.ctx, service.DeadLetterQuery{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(dead)
	return requests, delivered, dead, h.pending(t)
}

// pending counts the items waiting in the outbox, per lane and in all.
func (h *flHarness) pending(t *testing.T) int {
	t.Helper()
	st, err := h.outbox.Stats(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range st.Depth {
		n += d
	}
	return n
}

// run starts the flusher's loops until the test ends.
func (h *flHarness) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
			t.Error("Run did not return after its context ended")
		}
	})
}

func flQR(session string, at time.Duration) service.Update {
	return service.Update{Kind: service.KindQR, SessionID: session, QR: "data:image/png;base64," + session + at.String(), At: flT0.Add(at)}
}

func flStatus(session string, st service.Status, at time.Duration) service.Update {
	return service.Update{Kind: service.KindStatus, SessionID: session, Status: st, At: flT0.Add(at)}
}

// flObserver records what the flusher reports.
type flObserver struct {
	mu        sync.Mutex
	batches   []service.BatchReport
	delivered []service.Update
	dead      []service.DeadLetter
}

func (o *flObserver) OnBatch(r service.BatchReport) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batches = append(o.batches, r)
}

func (o *flObserver) OnDelivered(it service.Update, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.delivered = append(o.delivered, it)
}

func (o *flObserver) OnDeadLettered(dl service.DeadLetter) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dead = append(o.dead, dl)
}

func flSizes(reqs []flRequest) string {
	out := ""
	for _, r := range reqs {
		out += fmt.Sprintf("%s:%d ", r.Kind, len(r.Sessions))
	}
	return out
}

// flExpectAdds makes a mockery Outbox take exactly items, in order, each in
// the lane the flusher must give it, and returns them as added: ids "1", "2", …
func flExpectAdds(outbox *mock.Outbox, lanes []service.Lane, items ...service.Update) []service.Update {
	added := make([]service.Update, len(items))
	for i, it := range items {
		it.Lane = lanes[i]
		outbox.EXPECT().Add(tmock.Anything, it).Return(withID(it, i+1), nil).Once()
		added[i] = withID(it, i+1)
	}
	return added
}

func withID(it service.Update, id int) service.Update {
	it.ID = strconv.Itoa(id)
	return it
}
