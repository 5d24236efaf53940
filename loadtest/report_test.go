package loadtest

import (
	"strings"
	"testing"
	"time"

	"wagateway/service"
)

// sampleReport is a two-mode report as a run would produce it.
func sampleReport(batchRequests int64, highP99 float64) *Report {
	direct := ModeResult{
		Mode: service.DeliveryModeDirect, Events: 1000, Sent: 1000, LaravelRequests: 1000, LaravelItems: 1000, Drained: true,
		Delivery: map[service.Lane]Summary{
			service.LaneHigh:   {Count: 600, P50: 10, P95: 40, P99: 80},
			service.LaneNormal: {Count: 400, P50: 12, P95: 45, P99: 90},
		},
		Handling:   map[string]Summary{"POST /api/qr": {Count: 500, P50: 0.1, P99: 0.9}, "POST /api/whatsapp/status": {Count: 500, P50: 0.1, P99: 0.8}},
		LowerBound: map[service.Lane]int{service.LaneHigh: 55, service.LaneNormal: 12},
	}
	batch := ModeResult{
		Mode: service.DeliveryModeBatch, Events: 1000, Sent: 990, Superseded: 10, LaravelRequests: batchRequests, LaravelItems: 990, Drained: true,
		Delivery: map[service.Lane]Summary{
			service.LaneHigh:   {Count: 600, P50: 500, P95: 900, P99: highP99},
			service.LaneNormal: {Count: 400, P50: 2500, P95: 4800, P99: 5000},
		},
		Handling:          map[string]Summary{"POST /api/qr/batch": {Count: 40, P50: 0.5, P99: 3}, "POST /api/whatsapp/status/batch": {Count: 30, P50: 0.3, P99: 2}},
		FlushIntervalMS:   map[service.Lane]float64{service.LaneHigh: 1000, service.LaneNormal: 5000},
		GatewayPeakRSSMB:  40,
		GatewayCPUPercent: 12.5,
	}
	return &Report{
		Workload: DefaultWorkload(250, 1), Plan: PlanCounts{Sessions: 250, Scan: 200, Close: 60, Expire: 50, Restart: 25},
		Settings: NewSettings(1, 50), Machine: Machine{CPUs: 2, GoVersion: "go1.26", OS: "linux/amd64"},
		Modes: []ModeResult{direct, batch},
	}
}

func TestFinishComputesReductionAndBound(t *testing.T) {
	r := sampleReport(70, 1500)
	r.Finish(DefaultThresholds())
	if r.Reduction == nil || *r.Reduction != 93 {
		t.Fatalf("reduction = %v, want 93", r.Reduction)
	}
	if r.LowerBound != 67 || r.BatchVsBound == nil || *r.BatchVsBound != 1.045 {
		t.Fatalf("bound = %d (%v), want 67 and 1.045×", r.LowerBound, r.BatchVsBound)
	}
	if !r.Passed || len(Missed(r.Checks)) != 0 {
		t.Fatalf("checks failed: %v", Missed(r.Checks))
	}
}

func TestThresholdsNameWhatIsMissed(t *testing.T) {
	cases := []struct {
		name     string
		requests int64
		highP99  float64
		scale    float64
		missed   []string
	}{
		{"all kept", 70, 1500, 1, nil},
		{"too many requests", 150, 1500, 1, []string{"request reduction", "batch requests vs lower bound"}},
		{"above the bound, still a reduction", 80, 1500, 1, []string{"batch requests vs lower bound"}},
		{"HIGH lane late", 70, 2500, 1, []string{"HIGH-lane delivery p99"}},
		// Time-scaled ×10: 2 s becomes 200 ms, 7 s becomes 700 ms.
		{"scaled limits", 70, 150, 10, []string{"NORMAL-lane delivery p99"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sampleReport(c.requests, c.highP99)
			th := DefaultThresholds()
			th.TimeScale = c.scale
			r.Finish(th)
			missed := Missed(r.Checks)
			if len(missed) != len(c.missed) {
				t.Fatalf("missed %v, want %v", missed, c.missed)
			}
			for i, want := range c.missed {
				if !strings.HasPrefix(missed[i], want) {
					t.Errorf("missed[%d] = %q, want %q…", i, missed[i], want)
				}
			}
			if r.Passed != (len(c.missed) == 0) {
				t.Errorf("Passed = %v", r.Passed)
			}
		})
	}
}

func TestUndeliveredFailsTheRun(t *testing.T) {
	r := sampleReport(70, 1500)
	r.Modes[1].Sent = 900 // 90 events neither sent nor superseded
	r.Finish(DefaultThresholds())
	if r.Passed {
		t.Fatal("a run that lost events passed")
	}
	r = sampleReport(70, 1500)
	r.Modes[1].Drained = false
	r.Finish(DefaultThresholds())
	if r.Passed {
		t.Fatal("a run whose outbox never drained passed")
	}
}

func TestReductionNeedsBothModes(t *testing.T) {
	r := sampleReport(70, 1500)
	r.Modes = r.Modes[1:]
	th := DefaultThresholds()
	th.RequireReduction = true
	r.Finish(th)
	if r.Reduction != nil || r.Passed {
		t.Fatalf("batch alone: reduction %v, passed %v", r.Reduction, r.Passed)
	}
	th.RequireReduction = false
	r.Finish(th)
	if !r.Passed {
		t.Fatalf("batch alone without the reduction check: %v", Missed(r.Checks))
	}
}

func TestMarkdownShowsModesSideBySide(t *testing.T) {
	r := sampleReport(70, 1500)
	r.Settings = NewSettings(10, 50)
	th := DefaultThresholds()
	th.TimeScale = 10
	r.Finish(th)
	md := r.Markdown()
	for _, want := range []string{
		"| metric | direct | batch |",
		"| requests Laravel received (QR + status POSTs) | **1000** | **70** |",
		"| lower bound of requests (ideal batcher) | 1 per event | 67 (batch sent 1.04×) |",
		"| delivery HIGH lane p50 / p95 / p99 (ms) | 10.0 / 40.0 / 80.0 | 500 / 900 / 1500 |",
		"**Reduction: 93.0%**",
		"BATCH_INTERVAL=500ms, PRIORITY_INTERVAL=100ms",
		"< 200 ms (2000 ms real ÷ 10)",
		"❌ missed",
		"| gateway CPU avg / peak (% of one core) | – | 12.5 / 0.0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q\n%s", want, md)
		}
	}
}

// TestRelativeGateIgnoresAbsoluteTime is the CI gate: a run ten times
// compressed on a busy machine (every latency over the scaled absolute
// limits, the mock slow) passes when its latencies are few flush intervals
// as measured in that run, and fails on a lane late in intervals, on loss
// and on requests, which no slow machine excuses.
func TestRelativeGateIgnoresAbsoluteTime(t *testing.T) {
	slow := func() *Report {
		r := sampleReport(70, 300) // HIGH p99 300 ms: over 200 ms (2 s ÷ 10)
		b := &r.Modes[1]
		b.Delivery[service.LaneNormal] = Summary{Count: 400, P50: 400, P95: 800, P99: 900} // over 700 ms
		b.Handling["POST /api/qr/batch"] = Summary{Count: 40, P50: 150, P99: 350}          // over 200 ms
		b.FlushIntervalMS = map[service.Lane]float64{service.LaneHigh: 120, service.LaneNormal: 520}
		r.Settings = NewSettings(10, 50)
		return r
	}
	absolute := DefaultThresholds()
	absolute.TimeScale = 10
	relative := absolute
	relative.Relative = true

	r := slow()
	r.Finish(absolute)
	if got := Missed(r.Checks); len(got) != 3 {
		t.Fatalf("absolute gate missed %v, want handling, HIGH and NORMAL", got)
	}
	r = slow()
	r.Finish(relative)
	if !r.Passed {
		t.Fatalf("relative gate failed a slow but sound run: %v", Missed(r.Checks))
	}
	if !strings.Contains(r.Markdown(), "relative to the flush interval measured in the same run") {
		t.Error("markdown does not say latency was gated relative to the measured interval")
	}

	cases := []struct {
		name   string
		spoil  func(b *ModeResult)
		missed string
	}{
		{"HIGH waits several of its flushes", func(b *ModeResult) {
			b.Delivery[service.LaneHigh] = Summary{Count: 600, P50: 300, P95: 480, P99: 500}
		}, "HIGH-lane delivery p99 in flush intervals"},
		{"HIGH flushed on NORMAL's clock", func(b *ModeResult) {
			b.Delivery[service.LaneHigh] = Summary{Count: 600, P50: 300, P95: 500, P99: 560}
			b.FlushIntervalMS[service.LaneHigh] = 520
		}, "HIGH-lane delivery p99 ahead of NORMAL"},
		{"NORMAL waits for full batches", func(b *ModeResult) {
			b.Delivery[service.LaneNormal] = Summary{Count: 400, P50: 900, P95: 1800, P99: 2100}
		}, "NORMAL-lane delivery p99 in flush intervals"},
		{"lost events", func(b *ModeResult) { b.Sent -= 5 }, "every accepted event delivered"},
		{"too many requests", func(b *ModeResult) { b.LaravelRequests = 90 }, "batch requests vs lower bound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := slow()
			c.spoil(&r.Modes[1])
			r.Finish(relative)
			missed := Missed(r.Checks)
			if len(missed) != 1 || !strings.HasPrefix(missed[0], c.missed) {
				t.Fatalf("missed %v, want only %q", missed, c.missed)
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	got := ProgressLine("batch", 5*time.Second, 10*time.Second, 123, 7, 10)
	if !strings.Contains(got, "█████░░░░░  50%") || !strings.Contains(got, "events    123") {
		t.Errorf("progress = %q", got)
	}
	if got := ProgressLine("batch", 20*time.Second, 10*time.Second, 0, 0, 4); !strings.Contains(got, "████ 100%") {
		t.Errorf("overdue progress = %q", got)
	}
}
