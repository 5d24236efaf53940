// Package historytest is the behaviour every service.StatusHistory must
// show, as a suite each implementation (inmem, redis) runs against itself.
package historytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wagateway/service"
)

// Clock is what the suite needs of the clock the history was built with.
type Clock interface {
	service.Clock
	Advance(d time.Duration)
}

// Run runs the suite; newHistory returns an empty history keeping at most
// max changes per session for at most maxAge, on clock.
func Run(t *testing.T, newHistory func(t *testing.T, clock Clock, max int, maxAge time.Duration) service.StatusHistory, newClock func() Clock) {
	t.Run("NewestFirstCappedByCount", func(t *testing.T) {
		clock := newClock()
		h := newHistory(t, clock, 3, time.Hour)
		ctx := context.Background()
		for i := range 5 {
			c := service.StatusChange{Status: service.StatusPending, Reason: fmt.Sprintf("r%d", i), Instance: "gw-1", At: clock.Now()}
			if err := h.Record(ctx, "s1", c); err != nil {
				t.Fatalf("Record: %v", err)
			}
			clock.Advance(time.Second)
		}
		if err := h.Record(ctx, "s2", service.StatusChange{Status: service.StatusActive, At: clock.Now()}); err != nil {
			t.Fatal(err)
		}
		got, err := h.History(ctx, "s1", 10)
		if err != nil {
			t.Fatalf("History: %v", err)
		}
		if len(got) != 3 || got[0].Reason != "r4" || got[2].Reason != "r2" || got[0].Instance != "gw-1" || got[0].Status != service.StatusPending {
			t.Fatalf("History(s1) = %+v, want r4 r3 r2", got)
		}
		if two, _ := h.History(ctx, "s1", 2); len(two) != 2 || two[1].Reason != "r3" {
			t.Fatalf("History(s1, 2) = %+v", two)
		}
		if other, _ := h.History(ctx, "s2", 10); len(other) != 1 || other[0].Status != service.StatusActive {
			t.Fatalf("History(s2) = %+v", other)
		}
		if none, err := h.History(ctx, "nobody", 10); err != nil || len(none) != 0 {
			t.Fatalf("History(nobody) = %+v, %v", none, err)
		}
	})
	t.Run("OldChangesGo", func(t *testing.T) {
		clock := newClock()
		h := newHistory(t, clock, 10, time.Minute)
		ctx := context.Background()
		_ = h.Record(ctx, "s1", service.StatusChange{Status: service.StatusPending, Reason: "old", At: clock.Now()})
		clock.Advance(45 * time.Second)
		_ = h.Record(ctx, "s1", service.StatusChange{Status: service.StatusActive, Reason: "new", At: clock.Now()})
		clock.Advance(30 * time.Second) // "old" is 75 s old now, "new" 30 s
		got, err := h.History(ctx, "s1", 10)
		if err != nil || len(got) != 1 || got[0].Reason != "new" {
			t.Fatalf("History = %+v, %v; want only the change under a minute old", got, err)
		}
	})
}
