package whatsmeow

import (
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"wagateway/service"
)

func ev(id string, typ service.EventType, code string) service.DriverEvent {
	return service.DriverEvent{SessionID: id, Type: typ, Code: code}
}

// A full buffer never blocks emit. Once the consumer reads, it gets what
// was buffered, then the overflowed events of each session in its order, ending
// with the newest status-relevant one. Older overflowed events are dropped
// unless the forwarder already holds one for delivery, so which of them
// arrive is not fixed; the guarantees below are.
func TestEmitterOverflowKeepsLatestPerSession(t *testing.T) {
	tests := []struct {
		name     string
		in       []service.DriverEvent
		wantLast map[string]service.DriverEvent
		never    []service.DriverEvent
		always   []service.DriverEvent // delivered, whatever supersedes what
	}{
		{"fits", []service.DriverEvent{ev("a", service.EventQR, "1")},
			map[string]service.DriverEvent{"a": ev("a", service.EventQR, "1")}, nil, nil},
		{"newer qr supersedes older", []service.DriverEvent{
			ev("a", service.EventQR, "1"), ev("a", service.EventQR, "2"), ev("a", service.EventQR, "3"), ev("a", service.EventQR, "4")},
			map[string]service.DriverEvent{"a": ev("a", service.EventQR, "4")}, nil, nil},
		{"close supersedes qr", []service.DriverEvent{
			ev("a", service.EventQR, "1"), ev("a", service.EventQR, "2"), ev("a", service.EventQR, "3"), ev("a", service.EventQRTimeout, "")},
			map[string]service.DriverEvent{"a": ev("a", service.EventQRTimeout, "")}, nil, nil},
		{"reconnecting never hides a status", []service.DriverEvent{
			ev("a", service.EventReconnecting, "1"), ev("a", service.EventQR, "x"), ev("a", service.EventConnected, ""), ev("a", service.EventReconnecting, "2")},
			map[string]service.DriverEvent{"a": ev("a", service.EventConnected, "")}, []service.DriverEvent{ev("a", service.EventReconnecting, "2")}, nil},
		{"sessions kept apart", []service.DriverEvent{
			ev("a", service.EventQR, "1"), ev("b", service.EventQR, "1"), ev("c", service.EventConnected, ""), ev("b", service.EventQR, "2"), ev("b", service.EventClosed, "")},
			map[string]service.DriverEvent{"a": ev("a", service.EventQR, "1"), "b": ev("b", service.EventClosed, ""), "c": ev("c", service.EventConnected, "")}, nil, nil},
		{"a run's marker stays in front of its events", []service.DriverEvent{
			ev("a", service.EventQR, "1"), ev("a", service.EventStarted, ""), ev("a", service.EventQR, "2"), ev("a", service.EventQR, "3"), ev("a", service.EventClosed, "")},
			map[string]service.DriverEvent{"a": ev("a", service.EventClosed, "")}, nil, []service.DriverEvent{ev("a", service.EventStarted, "")}},
		{"a newer run's marker replaces what waits", []service.DriverEvent{
			ev("a", service.EventQR, "1"), ev("a", service.EventQR, "2"), ev("a", service.EventStarted, ""), ev("a", service.EventQR, "3"), ev("a", service.EventQR, "4")},
			map[string]service.DriverEvent{"a": ev("a", service.EventQR, "4")}, nil, []service.DriverEvent{ev("a", service.EventStarted, "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmitter(1, slog.New(slog.NewTextHandler(io.Discard, nil)))
			for _, in := range tt.in { // no reader yet: must not block
				e.emit(in)
			}
			var got []service.DriverEvent
			seen := map[string]bool{}
			for len(seen) < len(tt.wantLast) {
				select {
				case g := <-e.out:
					got = append(got, g)
					if g == tt.wantLast[g.SessionID] {
						seen[g.SessionID] = true
					}
				case <-time.After(10 * time.Second): // hang guard only
					t.Fatalf("got %+v, still waiting for %v", got, tt.wantLast)
				}
			}
			if got[0] != tt.in[0] {
				t.Fatalf("first event %+v, want the buffered %+v", got[0], tt.in[0])
			}
			for id, want := range tt.wantLast {
				var last service.DriverEvent
				for _, g := range got {
					if g.SessionID == id {
						last = g
					}
				}
				if last != want {
					t.Fatalf("session %s ends with %+v, want %+v (got %+v)", id, last, want, got)
				}
			}
			for id := range tt.wantLast {
				if !isSubsequence(ofSession(got, id), ofSession(tt.in, id)) {
					t.Fatalf("session %s: got %+v, not in the emitted order %+v", id, got, tt.in)
				}
			}
			for _, g := range got {
				for _, n := range tt.never {
					if g == n {
						t.Fatalf("%+v delivered, though superseded", g)
					}
				}
			}
			for _, a := range tt.always {
				if !slices.Contains(got, a) {
					t.Fatalf("%+v lost: got %+v", a, got)
				}
			}
			e.close()
			e.emit(ev("a", service.EventQR, "late")) // after close: ignored, no panic
		})
	}
}

func ofSession(evs []service.DriverEvent, id string) []service.DriverEvent {
	var out []service.DriverEvent
	for _, e := range evs {
		if e.SessionID == id {
			out = append(out, e)
		}
	}
	return out
}

func isSubsequence(sub, of []service.DriverEvent) bool {
	i := 0
	for _, e := range of {
		if i < len(sub) && sub[i] == e {
			i++
		}
	}
	return i == len(sub)
}

// close while the forwarder is blocked on a full channel doesn't hang.
// Close must not hang on a forwarder blocked on a full channel nobody reads,
// must be idempotent, and must close Events after what was buffered.
func TestEmitterCloseWithPending(t *testing.T) {
	e := newEmitter(1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.emit(ev("a", service.EventQR, "1")) // fills the channel
	e.emit(ev("b", service.EventQR, "1")) // waits in pending: the forwarder blocks on the full channel
	closed := make(chan struct{})
	go func() { e.close(); e.close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close hung with an event pending")
	}
	e.emit(ev("c", service.EventQR, "1")) // after close: ignored, no panic on the closed channel
	var got []string
	for x := range e.out {
		got = append(got, x.SessionID)
	}
	if len(got) != 1 || got[0] != "a" {
		t.Fatalf("Events after close held %v, want [a] then closed", got)
	}
}
