package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/redis"
)

// TestLaravelOutageCostsOneUpdatePerSessionAndKind is issue 15's outage,
// time-scaled: 1,000 sessions pairing while Laravel is away, each showing a
// new QR code and status every rotation (20 s of whatsmeow's schedule
// each), while the flusher keeps claiming and failing. The outbox must
// stay at sessions × kinds and Redis memory flat after the first rotation;
// when Laravel returns it must get the newest code and status of every
// session and nothing older. Before issue 15 the outbox kept all 2 × 1,000
// × rotations updates.
func TestLaravelOutageCostsOneUpdatePerSessionAndKind(t *testing.T) {
	const sessions, rotations = 1000, 30
	if testing.Short() {
		t.Skip("60,000 adds against a real Redis")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rdb := redistest.Start(t)
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

	keys := []string{"wagateway:{core}:outbox:high", "wagateway:{core}:outbox:normal", "wagateway:{core}:outbox:newest"}
	memory := func() int64 {
		var total int64
		for _, k := range keys {
			n, err := rdb.MemoryUsage(ctx, k).Result()
			if err != nil {
				t.Fatalf("MEMORY USAGE %s: %v", k, err)
			}
			total += n
		}
		return total
	}
	depth := func() int {
		st, err := ob.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Depth[service.LaneHigh] + st.Depth[service.LaneNormal]
	}
	var depths []int
	var mems []int64
	for r := range rotations {
		at := t0.Add(time.Duration(r) * 20 * time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				for s := w; s < sessions; s += 8 {
					id := "user_" + strconv.Itoa(s)
					qr := service.Update{Kind: service.KindQR, Lane: service.LaneHigh, SessionID: id,
						QR: fmt.Sprintf("data:image/png;base64,%s", strings.Repeat("A", 1400)), At: at}
					st := service.Update{Kind: service.KindStatus, Lane: service.LaneNormal, SessionID: id,
						Status: service.StatusPending, At: at.Add(time.Millisecond)}
					for _, u := range []service.Update{qr, st} {
						if _, err := ob.Add(ctx, u); err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatalf("rotation %d: %v", r, err)
		}
		// The flusher's view of a Laravel that does not answer: it claims
		// a batch's worth and never acknowledges it.
		for _, lane := range service.Lanes {
			if _, err := ob.Claim(ctx, lane, 1000); err != nil {
				t.Fatal(err)
			}
		}
		depths, mems = append(depths, depth()), append(mems, memory())
	}
	t.Logf("outbox depth per rotation: first %d, last %d; outbox keys' memory: first %d B, last %d B, min/max after the first %d/%d B",
		depths[0], depths[len(depths)-1], mems[0], mems[len(mems)-1], minOf(mems[1:]), maxOf(mems[1:]))
	for r, d := range depths {
		if d != 2*sessions {
			t.Fatalf("rotation %d: %d updates wait, want %d (sessions × kinds)", r, d, 2*sessions)
		}
	}
	if lo, hi := minOf(mems[1:]), maxOf(mems[1:]); float64(hi) > 1.1*float64(lo) || float64(hi) > 1.1*float64(mems[0]) {
		t.Fatalf("outbox memory not flat after the first rotation: first %d B, then %d–%d B", mems[0], lo, hi)
	}

	// Laravel is back: everything claimable is exactly the newest update
	// of each session and kind.
	newest := t0.Add(time.Duration(rotations-1) * 20 * time.Second)
	got := map[string]bool{}
	for _, lane := range service.Lanes {
		items, err := ob.Claim(ctx, lane, 4*sessions)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			want := newest
			if it.Kind == service.KindStatus {
				want = newest.Add(time.Millisecond)
			}
			if !it.At.Equal(want) {
				t.Fatalf("Laravel would get %s, older than the newest %s", it, want.Format(service.TimeFormat))
			}
			if got[it.Key()] {
				t.Fatalf("%s twice", it.Key())
			}
			got[it.Key()] = true
		}
	}
	if len(got) != 2*sessions {
		t.Fatalf("%d updates to deliver, want the newest of every session and kind (%d)", len(got), 2*sessions)
	}
}

func minOf(v []int64) int64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []int64) int64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
