// Package dashboard follows what the operator dashboard (GET /ui) shows live:
// which sessions changed, Laravel's answers by status code, and requests per
// minute against the events that would each have cost one request.
//
// It only listens: it must never block the session manager or the flusher
// that call it, and it must never change what they do.
package dashboard

import (
	"context"
	"strconv"
	"sync"
	"time"

	"wagateway/service"
)

// chartMinutes is how many whole minutes the requests-per-minute chart keeps.
const chartMinutes = 30

// Monitor sees every QR and status item the session manager publishes (it
// wraps the Publisher) and every request the flusher sends (it is a
// FlusherObserver). Safe for concurrent use.
type Monitor struct {
	service.NopFlusherObserver
	clock service.Clock

	mu          sync.Mutex
	subscribers map[*subscriber]struct{}
	statusCodes map[string]int64
	minutes     []service.TrafficMinute // oldest first, at most chartMinutes
}

var (
	_ service.FlusherObserver = (*Monitor)(nil)
	_ service.SessionFeed     = (*Monitor)(nil)
)

// NewMonitor returns a monitor reading time from clock (nil: the system clock).
func NewMonitor(clock service.Clock) *Monitor {
	if clock == nil {
		clock = service.SystemClock{}
	}
	return &Monitor{clock: clock, subscribers: map[*subscriber]struct{}{}, statusCodes: map[string]int64{}}
}

// Publisher returns next with every published item reported to the
// monitor first: a session whose QR code or status changed.
func (m *Monitor) Publisher(next service.Publisher) service.Publisher {
	return publisher{m: m, next: next}
}

type publisher struct {
	m    *Monitor
	next service.Publisher
}

func (p publisher) Publish(ctx context.Context, it service.Update) error {
	err := p.next.Publish(ctx, it)
	// After next: the manager has updated its state before publishing, and
	// the item is counted whether or not the outbox took it (the UI shows
	// the session's state, which changed either way).
	p.m.sessionChanged(it.SessionID)
	return err
}

// OnBatch counts one request to Laravel and its answer.
func (m *Monitor) OnBatch(r service.BatchReport) {
	code := "2xx"
	switch {
	case r.Err == nil:
	case r.StatusCode > 0:
		code = strconv.Itoa(r.StatusCode)
	default:
		code = "none"
	}
	m.mu.Lock()
	m.statusCodes[code]++
	m.minute().Requests++
	m.mu.Unlock()
}

func (m *Monitor) sessionChanged(id string) {
	m.mu.Lock()
	m.minute().Events++
	subs := make([]*subscriber, 0, len(m.subscribers))
	for s := range m.subscribers {
		subs = append(subs, s)
	}
	m.mu.Unlock()
	for _, s := range subs {
		s.notify(id)
	}
}

// minute returns the current minute's counters, starting a new minute and
// dropping the oldest as time passes. m.mu must be held.
func (m *Monitor) minute() *service.TrafficMinute {
	start := m.clock.Now().UTC().Truncate(time.Minute)
	if n := len(m.minutes); n == 0 || !m.minutes[n-1].Start.Equal(start) {
		m.minutes = append(m.minutes, service.TrafficMinute{Start: start})
		if len(m.minutes) > chartMinutes {
			m.minutes = append(m.minutes[:0], m.minutes[len(m.minutes)-chartMinutes:]...)
		}
	}
	return &m.minutes[len(m.minutes)-1]
}

// Traffic returns Laravel's answers so far and the last minutes of the
// chart, oldest first; minutes without traffic are included as zeros.
func (m *Monitor) Traffic() service.DeliveryTraffic {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := service.DeliveryTraffic{StatusCodes: make(map[string]int64, len(m.statusCodes))}
	for k, v := range m.statusCodes {
		out.StatusCodes[k] = v
	}
	if len(m.minutes) == 0 {
		return out
	}
	now := m.clock.Now().UTC().Truncate(time.Minute)
	first := now.Add(-(chartMinutes - 1) * time.Minute)
	if m.minutes[0].Start.After(first) {
		first = m.minutes[0].Start
	}
	i := 0
	for t := first; !t.After(now); t = t.Add(time.Minute) {
		for i < len(m.minutes) && m.minutes[i].Start.Before(t) {
			i++
		}
		if i < len(m.minutes) && m.minutes[i].Start.Equal(t) {
			out.PerMinute = append(out.PerMinute, m.minutes[i])
		} else {
			out.PerMinute = append(out.PerMinute, service.TrafficMinute{Start: t})
		}
	}
	return out
}

// Subscribe returns a channel that wakes when sessions changed and a
// function returning (and clearing) their ids; cancel ends the
// subscription. Changes are merged, never dropped, and never block the
// publisher: a slow reader gets each changed id once, with its latest state.
func (m *Monitor) Subscribe() (wake <-chan struct{}, changed func() []string, cancel func()) {
	s := &subscriber{wake: make(chan struct{}, 1), pending: map[string]struct{}{}}
	m.mu.Lock()
	m.subscribers[s] = struct{}{}
	m.mu.Unlock()
	var once sync.Once
	return s.wake, s.take, func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.subscribers, s)
			m.mu.Unlock()
		})
	}
}

type subscriber struct {
	wake    chan struct{}
	mu      sync.Mutex
	pending map[string]struct{}
}

func (s *subscriber) notify(id string) {
	s.mu.Lock()
	s.pending[id] = struct{}{}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // already woken; take will see id too
	}
}

func (s *subscriber) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	clear(s.pending)
	return ids
}
