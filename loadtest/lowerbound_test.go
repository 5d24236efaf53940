package loadtest

import (
	"fmt"
	"testing"
	"time"

	"wagateway/service"
)

func TestLowerBound(t *testing.T) {
	origin := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return origin.Add(d) }
	intervals := map[service.Lane]time.Duration{service.LaneHigh: time.Second, service.LaneNormal: 5 * time.Second}
	qr := func(id string, d time.Duration) Event { return Event{SessionID: id, Kind: service.KindQR, At: at(d)} }
	st := func(id string, s service.Status, d time.Duration) Event {
		return Event{SessionID: id, Kind: service.KindStatus, Status: s, At: at(d)}
	}
	many := func(n int, d time.Duration) []Event {
		var out []Event
		for i := range n {
			out = append(out, qr(fmt.Sprintf("s%d", i), d))
		}
		return out
	}
	cases := []struct {
		name       string
		events     []Event
		batch      int
		high, norm int
	}{
		{"nothing", nil, 50, 0, 0},
		{"one QR", []Event{qr("a", 100*time.Millisecond)}, 50, 1, 0},
		{"same session twice in one tick coalesces", []Event{qr("a", 100*time.Millisecond), qr("a", 900*time.Millisecond)}, 50, 1, 0},
		{"same session in two ticks", []Event{qr("a", 100*time.Millisecond), qr("a", 1100*time.Millisecond)}, 50, 2, 0},
		{"QR and active status of one tick are two endpoints", []Event{qr("a", 0), st("a", service.StatusActive, 10*time.Millisecond)}, 50, 2, 0},
		{"pending and expired go NORMAL, 5 s ticks", []Event{st("a", service.StatusPending, time.Second), st("b", service.StatusExpired, 4*time.Second), st("c", service.StatusPending, 6*time.Second)}, 50, 0, 2},
		{"50 sessions fit one request", many(50, 0), 50, 1, 0},
		{"51 sessions need two", many(51, 0), 50, 2, 0},
		{"batch size 1 is one per session", many(7, 0), 1, 7, 0},
		{"events before origin count in the first tick", []Event{qr("a", -time.Second), qr("b", 0)}, 50, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := LowerBound(c.events, origin, intervals, c.batch)
			if got[service.LaneHigh] != c.high || got[service.LaneNormal] != c.norm {
				t.Errorf("LowerBound = high %d normal %d, want %d and %d", got[service.LaneHigh], got[service.LaneNormal], c.high, c.norm)
			}
			if Total(got) != c.high+c.norm {
				t.Errorf("Total = %d", Total(got))
			}
		})
	}
}

func TestMeasuredInterval(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// flushes returns n flushes every gap, each two requests 5 ms apart
	// (QR and status endpoints), plus idle stretches after every tenth.
	flushes := func(n int, gap, idle time.Duration) []time.Time {
		var out []time.Time
		at := t0
		for i := range n {
			out = append(out, at, at.Add(5*time.Millisecond))
			at = at.Add(gap)
			if i%10 == 9 {
				at = at.Add(idle)
			}
		}
		return out
	}
	// chains returns n stretches of k requests step apart, idle between.
	chains := func(n, k int, step, idle time.Duration) []time.Time {
		var out []time.Time
		at := t0
		for range n {
			for range k {
				out = append(out, at)
				at = at.Add(step)
			}
			at = at.Add(idle)
		}
		return out
	}
	nominal := 100 * time.Millisecond
	cases := []struct {
		name     string
		requests []time.Time
		want     time.Duration
	}{
		{"on time", flushes(50, 100*time.Millisecond, 0), 100 * time.Millisecond},
		{"busy machine stretches it", flushes(50, 160*time.Millisecond, 0), 160 * time.Millisecond},
		{"idle stretches do not", flushes(50, 100*time.Millisecond, 2*time.Second), 100 * time.Millisecond},
		{"never below nominal", flushes(50, 70*time.Millisecond, 0), 100 * time.Millisecond},
		// A lane busy enough to flush at BATCH_SIZE sends a request every
		// few ms for seconds: that is many flushes, not one long one (the
		// 10,000-session run measured 62,810 ms for a 5 s lane).
		{"early flushes do not chain into one", chains(3, 60, 40*time.Millisecond, 300*time.Millisecond), 100 * time.Millisecond},
		{"too few flushes", flushes(2, 300*time.Millisecond, 0), 100 * time.Millisecond},
		{"nothing", nil, 100 * time.Millisecond},
	}
	for _, c := range cases {
		if got := MeasuredInterval(c.requests, nominal); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
