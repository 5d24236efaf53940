package whatsmeow

import (
	"io"
	"log/slog"
	"testing"

	"wagateway/service"
)

func ev(id string, typ service.EventType, code string) service.DriverEvent {
	return service.DriverEvent{SessionID: id, Type: typ, Code: code}
}

// A full buffer never blocks emit; once the consumer reads, it gets what
// was buffered, then the newest status-relevant event of each overflowed
// session, in the order the sessions overflowed.
func TestEmitterOverflowKeepsLatestPerSession(t *testing.T) {
	tests := []struct {
		name string
		in   []service.DriverEvent
		want []service.DriverEvent
	}{
		{"fits", []service.DriverEvent{ev("a", service.EventQR, "1")},
			[]service.DriverEvent{ev("a", service.EventQR, "1")}},
		{"newer qr supersedes older", []service.DriverEvent{
			ev("a", service.EventQR, "1"), ev("a", service.EventQR, "2"), ev("a", service.EventQR, "3")},
			[]service.DriverEvent{ev("a", service.EventQR, "1"), ev("a", service.EventQR, "3")}},
		{"close supersedes qr", []service.DriverEvent{
			ev("a", service.EventQR, "1"), ev("a", service.EventQR, "2"), ev("a", service.EventQRTimeout, "")},
			[]service.DriverEvent{ev("a", service.EventQR, "1"), ev("a", service.EventQRTimeout, "")}},
		{"reconnecting never hides a status", []service.DriverEvent{
			ev("a", service.EventReconnecting, ""), ev("a", service.EventConnected, ""), ev("a", service.EventReconnecting, "")},
			[]service.DriverEvent{ev("a", service.EventReconnecting, ""), ev("a", service.EventConnected, "")}},
		{"sessions kept apart, in order", []service.DriverEvent{
			ev("a", service.EventQR, "1"), ev("b", service.EventQR, "1"), ev("c", service.EventConnected, ""), ev("b", service.EventClosed, "")},
			[]service.DriverEvent{ev("a", service.EventQR, "1"), ev("b", service.EventClosed, ""), ev("c", service.EventConnected, "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmitter(1, slog.New(slog.NewTextHandler(io.Discard, nil)))
			for _, in := range tt.in { // no reader yet: must not block
				e.emit(in)
			}
			for i, want := range tt.want {
				if got := <-e.out; got != want {
					t.Fatalf("event %d: got %+v, want %+v", i, got, want)
				}
			}
			e.close()
			if got, ok := <-e.out; ok {
				t.Fatalf("extra event %+v", got)
			}
			e.emit(ev("a", service.EventQR, "late")) // after close: ignored, no panic
		})
	}
}

// close while the forwarder is blocked on a full channel doesn't hang.
func TestEmitterCloseWithPending(t *testing.T) {
	e := newEmitter(1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.emit(ev("a", service.EventQR, "1"))
	e.emit(ev("b", service.EventQR, "1"))
	e.close()
	e.close()
}
