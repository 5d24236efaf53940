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
		LowerBound: map[service.Lane]int{service.LaneHigh: 50, service.LaneNormal: 10},
	}
	batch := ModeResult{
		Mode: service.DeliveryModeBatch, Events: 1000, Sent: 990, Superseded: 10, LaravelRequests: batchRequests, LaravelItems: 990, Drained: true,
		Delivery: map[service.Lane]Summary{
			service.LaneHigh:   {Count: 600, P50: 500, P95: 900, P99: highP99},
			service.LaneNormal: {Count: 400, P50: 2500, P95: 4800, P99: 5000},
		},
		Handling:          map[string]Summary{"POST /api/qr/batch": {Count: 40, P50: 0.5, P99: 3}, "POST /api/whatsapp/status/batch": {Count: 30, P50: 0.3, P99: 2}},
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
	if r.LowerBound != 60 || r.BatchVsBound == nil || *r.BatchVsBound != 1.167 {
		t.Fatalf("bound = %d (%v), want 60 and 1.167×", r.LowerBound, r.BatchVsBound)
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
		{"too many requests", 150, 1500, 1, []string{"request reduction"}},
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
		"| lower bound of requests (ideal batcher) | 1 per event | 60 (batch sent 1.17×) |",
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

func TestProgressLine(t *testing.T) {
	got := ProgressLine("batch", 5*time.Second, 10*time.Second, 123, 7, 10)
	if !strings.Contains(got, "█████░░░░░  50%") || !strings.Contains(got, "events    123") {
		t.Errorf("progress = %q", got)
	}
	if got := ProgressLine("batch", 20*time.Second, 10*time.Second, 0, 0, 4); !strings.Contains(got, "████ 100%") {
		t.Errorf("overdue progress = %q", got)
	}
}
