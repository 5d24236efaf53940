package whatsmeow

import (
	"log/slog"
	"sync"

	"wagateway/service"
)

// emitter is the Events channel. whatsmeow calls our handlers synchronously,
// so emit never blocks: when the channel is full, the newest status-relevant
// event of each session waits in pending and a forwarder delivers it as soon
// as the consumer catches up. Older overflowed events of that session are
// superseded (newest wins downstream anyway), never silently lost. A run's
// EventStarted is never superseded by its own run's events (the session
// manager ignores a run's events until its marker): it waits in front of
// them, and only a newer run's marker replaces it.
type emitter struct {
	out  chan service.DriverEvent
	log  *slog.Logger
	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	pending  map[string][]service.DriverEvent // a session's waiting events: [marker,] newest
	order    []string                         // session ids in pending, oldest first
	inflight bool                             // the forwarder is sending one taken from pending
	closed   bool
}

func newEmitter(size int, log *slog.Logger) *emitter {
	e := &emitter{
		out:     make(chan service.DriverEvent, size),
		log:     log,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		pending: map[string][]service.DriverEvent{},
	}
	e.wg.Add(1)
	go e.forward()
	return e
}

// statusRelevant reports whether ev changes what the session's status is.
func statusRelevant(ev service.DriverEvent) bool { return ev.Type != service.EventReconnecting }

func (e *emitter) emit(ev service.DriverEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if len(e.order) == 0 && !e.inflight { // keep order: never overtake pending events
		select {
		case e.out <- ev:
			return
		default:
		}
	}
	waiting := e.pending[ev.SessionID]
	switch {
	case len(waiting) == 0:
		e.log.Warn("driver event buffer full, event waits for the consumer", "session_id", ev.SessionID, "type", ev.Type)
		e.order = append(e.order, ev.SessionID)
		waiting = []service.DriverEvent{ev}
	case ev.Type == service.EventStarted:
		// A new run: what waits of the runs before it no longer applies.
		e.log.Warn("driver event buffer full, a new run replaces the waiting events", "session_id", ev.SessionID)
		waiting = []service.DriverEvent{ev}
	default:
		old := waiting[len(waiting)-1]
		if old.Type != service.EventStarted && statusRelevant(old) && !statusRelevant(ev) {
			e.log.Warn("driver event buffer full, dropping a non-status event", "session_id", ev.SessionID, "type", ev.Type)
			return
		}
		e.log.Warn("driver event buffer full, a newer event of the session replaces a waiting one",
			"session_id", ev.SessionID, "type", ev.Type, "replaced", old.Type)
		if waiting[0].Type == service.EventStarted {
			waiting = []service.DriverEvent{waiting[0], ev} // the marker stays in front
		} else {
			waiting = []service.DriverEvent{ev}
		}
	}
	e.pending[ev.SessionID] = waiting
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// forward delivers pending events, blocking on the consumer, until close.
func (e *emitter) forward() {
	defer e.wg.Done()
	for {
		select {
		case <-e.wake:
		case <-e.done:
			return
		}
		for {
			e.mu.Lock()
			if len(e.order) == 0 {
				e.mu.Unlock()
				break
			}
			id := e.order[0]
			evs := e.pending[id]
			e.order = e.order[1:]
			delete(e.pending, id)
			e.inflight = true
			e.mu.Unlock()

			for _, ev := range evs {
				select {
				case e.out <- ev:
				case <-e.done:
					return
				}
			}
			e.mu.Lock()
			e.inflight = false
			e.mu.Unlock()
		}
	}
}

// close stops delivery and closes the channel; later emits are ignored.
func (e *emitter) close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.mu.Unlock()
	close(e.done)
	e.wg.Wait()
	close(e.out)
}
