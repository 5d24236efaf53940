package loadtest

import (
	"strings"
	"testing"
	"time"
)

func TestSoakChecksCatchGrowthAfterWarmup(t *testing.T) {
	flat := func(i int) SoakSample {
		return SoakSample{T: float64(i), RSSKB: 40_000 + int64(i%7)*100, Goroutines: 1000, FDs: 30, RedisBytes: 4 << 20, OutboxDepth: int64(i % 50)}
	}
	var ok, leak []SoakSample
	for i := range 300 {
		s := flat(i)
		if i < 60 {
			s.RSSKB *= 3 // warm-up may grow as it likes
		}
		ok = append(ok, s)
		s = flat(i)
		s.Goroutines += int64(i) // one goroutine a second never ends
		leak = append(leak, s)
	}
	for _, c := range SoakChecks(ok, 60*time.Second, 0.1) {
		if !c.OK {
			t.Errorf("flat run: %s %.0f → %.0f failed", c.Metric, c.Start, c.End)
		}
	}
	var failed []string
	for _, c := range SoakChecks(leak, 60*time.Second, 0.1) {
		if !c.OK {
			failed = append(failed, c.Metric)
		}
	}
	if len(failed) != 1 || failed[0] != "goroutines" {
		t.Fatalf("leaking run failed %v, want goroutines only", failed)
	}
	if c := SoakChecks(ok[:3], time.Second, 0.1); c[0].OK {
		t.Fatal("a run too short to judge passed")
	}
	svg := SoakChart("soak", leak, 60*time.Second)
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "goroutines: 1084 → 1276") || !strings.Contains(svg, "warm-up ends") {
		t.Fatalf("chart: %.300s", svg)
	}
}
