package mocklaravel

import (
	"math"
	"net/http"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name          string
		samples       []time.Duration
		p50, p99, max float64 // ms; percentiles within the 4% bucket width
	}{
		{"single", []time.Duration{3 * time.Millisecond}, 3, 3, 3},
		{"uniform 1..100ms", uniform(100), 50, 99, 100},
		{"sub-microsecond", []time.Duration{100 * time.Nanosecond, 500 * time.Nanosecond}, 0.001, 0.001, 0.001},
		{"one slow outlier in 1000", append(repeat(time.Millisecond, 999), 5*time.Second), 1, 1, 5000},
		{"beyond the last bucket", []time.Duration{time.Hour}, 3600000, 3600000, 3600000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, d := range tt.samples {
				h.observe(d)
			}
			got := h.summary()
			if !near(got.P50, tt.p50) || !near(got.P99, tt.p99) || got.Max != tt.max {
				t.Errorf("p50=%v p99=%v max=%v, want ≈%v ≈%v %v", got.P50, got.P99, got.Max, tt.p50, tt.p99, tt.max)
			}
			if got.P50 > got.P95 || got.P95 > got.P99 || got.P99 > got.Max {
				t.Errorf("percentiles out of order: %+v", got)
			}
		})
	}
}

func uniform(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Millisecond
	}
	return out
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// near allows the histogram's bucket width (4%) plus rounding to 1 µs.
func near(got, want float64) bool { return math.Abs(got-want) <= want*0.045+0.001 }

func TestStatsCounts(t *testing.T) {
	s, clock := newTestServer(t, Config{})
	body := statuses(statusItemJSON("a", "active", 0), statusItemJSON("b", "active", 0))
	first := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", body)
	clock.Advance(1500 * time.Millisecond)
	call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("a", "bogus", 0)))
	call(t, s, http.MethodPost, "/api/qr/batch", qrs(qrItemJSON("a", 0)))
	clock.Advance(time.Second)
	call(t, s, http.MethodGet, "/api/whatsapp/status/a", nil)
	call(t, s, http.MethodGet, "/api/nope", nil)
	call(t, s, http.MethodGet, "/__mock/stats", nil) // not counted

	st := s.Stats()
	if st.Requests != 5 || st.Items != 4 {
		t.Errorf("totals requests=%d items=%d, want 5, 4", st.Requests, st.Items)
	}
	sb := st.Endpoints[KeyStatusBatch]
	if sb.Requests != 2 || sb.Items != 3 || sb.Updated != 2 || sb.Status[200] != 1 || sb.Status[422] != 1 {
		t.Errorf("status batch %+v", sb)
	}
	if sb.Bytes <= int64(len(first.raw)) || sb.FirstAt != t0.UnixMilli() || sb.LastAt != t0.Add(1500*time.Millisecond).UnixMilli() {
		t.Errorf("status batch bytes=%d first_at=%d last_at=%d", sb.Bytes, sb.FirstAt, sb.LastAt)
	}
	if sb.LatencyMS.Max <= 0 || sb.LatencyMS.P50 > sb.LatencyMS.P99 {
		t.Errorf("latency %+v", sb.LatencyMS)
	}
	if st.Endpoints[KeyGetStatus].Status[200] != 1 || st.Endpoints[KeyUnmatched].Status[404] != 1 {
		t.Errorf("endpoints %+v", st.Endpoints)
	}
	want := []SecondStats{{T: t0.Unix(), Requests: 1, Items: 2}, {T: t0.Unix() + 1, Requests: 2, Items: 2}, {T: t0.Unix() + 2, Requests: 2}}
	if len(st.PerSecond) != len(want) {
		t.Fatalf("per_second %+v, want %+v", st.PerSecond, want)
	}
	for i := range want {
		if st.PerSecond[i] != want[i] {
			t.Errorf("per_second[%d] = %+v, want %+v", i, st.PerSecond[i], want[i])
		}
	}

	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Requests != 0 || len(st.Endpoints) != 0 || len(st.PerSecond) != 0 {
		t.Errorf("after reset %+v", st)
	}
}

func TestPerSecondWindowIsBounded(t *testing.T) {
	rec := newStatsRecorder(t0)
	for i := range 2 * PerSecondWindow {
		rec.record(outcome{key: KeyQR, status: 200, items: 1, at: t0.Add(time.Duration(i) * time.Second)})
	}
	ps := rec.snapshot().PerSecond
	if len(ps) != PerSecondWindow {
		t.Fatalf("%d seconds kept, want %d", len(ps), PerSecondWindow)
	}
	if first, last := ps[0].T, ps[len(ps)-1].T; first != t0.Unix()+PerSecondWindow || last != t0.Unix()+2*PerSecondWindow-1 {
		t.Errorf("window %d..%d", first, last)
	}
}
