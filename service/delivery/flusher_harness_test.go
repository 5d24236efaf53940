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
	Values   []string // QR or status per item
	Ats      []time.Time
}

// flAnswer decides the mock Laravel's answer to its n-th request (from 0).
type flAnswer func(n int, req flRequest) error

// flHarness is a Flusher over mockery mocks: the Outbox mock keeps items
// in a map (so Claim, Ack and DeadLetter behave), the Laravel mock records
// requests and answers with the test's flAnswer.
type flHarness struct {
	clock   *clocktest.Clock
	outbox  *mock.Outbox
	laravel *mock.Laravel
	obs     *flObserver
	logs    *logtest.Buffer
	f       *delivery.Flusher

	mu       sync.Mutex
	seq      int
	acksUpTo int
	items    map[service.Lane][]service.Update
	acked    []string
	dead     []service.DeadLetter
	claims   map[service.Lane]int
	requests []flRequest
	answer   flAnswer
	deadErr  error          // what DeadLetter answers, when set
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

func newFlHarness(t *testing.T, cfg delivery.Config, auto bool) *flHarness {
	t.Helper()
	h := &flHarness{
		clock:   newFlClock(auto),
		outbox:  mock.NewOutbox(t),
		laravel: mock.NewLaravel(t),
		obs:     &flObserver{},
		logs:    &logtest.Buffer{},
		items:   map[service.Lane][]service.Update{},
		claims:  map[service.Lane]int{},
		answer:  func(int, flRequest) error { return nil },
		sent:    make(chan flRequest, 1000),
	}
	if cfg.Clock == nil {
		cfg.Clock = h.clock
	}
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 0.5 }
	}
	if cfg.Observer == nil {
		cfg.Observer = h.obs
	}
	h.mockOutbox()
	h.mockLaravel()
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := delivery.New(withDefaults(cfg), h.outbox, h.laravel, logger)
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

func (h *flHarness) mockOutbox() {
	o := h.outbox
	o.EXPECT().Add(tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, it service.Update) (service.Update, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.seq++
		it.ID = strconv.Itoa(h.seq)
		h.items[it.Lane] = append(h.items[it.Lane], it)
		return it, nil
	}).Maybe()
	o.EXPECT().Claim(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, lane service.Lane, max int) ([]service.Update, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.claims[lane]++
		n := min(max, len(h.items[lane]))
		return slices.Clone(h.items[lane][:n]), nil
	}).Maybe()
	o.EXPECT().DeadLetter(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, lane service.Lane, dead []service.DeadLetter) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.deadErr != nil {
			return h.deadErr
		}
		h.dead = append(h.dead, dead...)
		h.items[lane] = slices.DeleteFunc(h.items[lane], func(it service.Update) bool {
			return slices.ContainsFunc(dead, func(d service.DeadLetter) bool { return d.Item.ID == it.ID })
		})
		return nil
	}).Maybe()
	o.EXPECT().Stats(tmock.Anything).RunAndReturn(func(context.Context) (service.OutboxStats, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		st := service.OutboxStats{Depth: map[service.Lane]int{}, OldestAge: map[service.Lane]time.Duration{}}
		for lane, items := range h.items {
			st.Depth[lane] = len(items)
			if len(items) > 0 {
				st.OldestAge[lane] = h.clock.Now().Sub(items[0].At)
			}
		}
		return st, nil
	}).Maybe()
	o.EXPECT().Durable().Return(true).Maybe()
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

// expectAcks lets the Outbox mock take an Ack of up to n ids: testify
// matches variadic calls by their number of arguments.
func (h *flHarness) expectAcks(n int) {
	h.mu.Lock()
	from := h.acksUpTo + 1
	h.acksUpTo = max(h.acksUpTo, n)
	h.mu.Unlock()
	for k := from; k <= n; k++ {
		h.outbox.EXPECT().Ack(tmock.Anything, tmock.Anything, flAnything(k)...).RunAndReturn(func(_ context.Context, lane service.Lane, ids ...string) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.acked = append(h.acked, ids...)
			h.items[lane] = slices.DeleteFunc(h.items[lane], func(it service.Update) bool { return slices.Contains(ids, it.ID) })
			return nil
		}).Maybe()
	}
}

func flAnything(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = tmock.Anything
	}
	return out
}

func (h *flHarness) mockLaravel() {
	l := h.laravel
	l.EXPECT().PostQRBatch(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, key string, qrs []service.QRUpdate) (service.BatchResult, error) {
		req := flRequest{Kind: service.KindQR, Key: key}
		for _, q := range qrs {
			req.Sessions, req.Values, req.Ats = append(req.Sessions, q.SessionID), append(req.Values, q.QR), append(req.Ats, q.GeneratedAt)
		}
		if err := h.receive(req); err != nil {
			return service.BatchResult{}, err
		}
		return service.BatchResult{Success: true, Updated: len(qrs)}, nil
	}).Maybe()
	l.EXPECT().PostStatusBatch(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, key string, sts []service.StatusUpdate) (service.BatchResult, error) {
		req := flRequest{Kind: service.KindStatus, Key: key}
		for _, s := range sts {
			req.Sessions, req.Values, req.Ats = append(req.Sessions, s.SessionID), append(req.Values, string(s.Status)), append(req.Ats, s.UpdatedAt)
		}
		if err := h.receive(req); err != nil {
			return service.BatchResult{}, err
		}
		return service.BatchResult{Success: true, Updated: len(sts)}, nil
	}).Maybe()
	l.EXPECT().PostQR(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, key string, q service.QRUpdate) error {
		return h.receive(flRequest{Kind: service.KindQR, Single: true, Key: key, Sessions: []string{q.SessionID}, Values: []string{q.QR}, Ats: []time.Time{q.GeneratedAt}})
	}).Maybe()
	l.EXPECT().PostStatus(tmock.Anything, tmock.Anything, tmock.Anything).RunAndReturn(func(_ context.Context, key string, s service.StatusUpdate) error {
		return h.receive(flRequest{Kind: service.KindStatus, Single: true, Key: key, Sessions: []string{s.SessionID}, Values: []string{string(s.Status)}, Ats: []time.Time{s.UpdatedAt}})
	}).Maybe()
}

func (h *flHarness) receive(req flRequest) error {
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
	h.mu.Lock()
	total := h.seq + len(items)
	h.mu.Unlock()
	h.expectAcks(total) // an Ack never names more items than were added
	for _, it := range items {
		if err := h.f.Publish(context.Background(), it); err != nil {
			t.Fatalf("Publish(%s): %v", it, err)
		}
	}
}

func (h *flHarness) snapshot() (requests []flRequest, acked []string, dead []service.DeadLetter, pending int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, items := range h.items {
		pending += len(items)
	}
	return slices.Clone(h.requests), slices.Clone(h.acked), slices.Clone(h.dead), pending
}

// run starts the flusher's loops until the test ends.
func (h *flHarness) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
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
