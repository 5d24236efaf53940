package loadtest

import (
	"fmt"
	"time"

	"wagateway/service"
)

// Thresholds are the promises the batch run must keep; latencies are in
// real (unscaled) time and divided by the time scale before comparing.
type Thresholds struct {
	MinReduction     float64       `json:"min_reduction_pct"`   // batch vs direct, %
	MaxHandlingP99   time.Duration `json:"max_handling_p99_ns"` // the mock's batch handling, never scaled
	MaxHighP99       time.Duration `json:"max_high_p99_ns"`
	MaxNormalP99     time.Duration `json:"max_normal_p99_ns"`
	MaxUndelivered   int64         `json:"max_undelivered"`
	TimeScale        float64       `json:"time_scale"`
	RequireReduction bool          `json:"require_reduction"` // both modes ran
}

// DefaultThresholds are the seed checklist's promises.
func DefaultThresholds() Thresholds {
	return Thresholds{
		MinReduction:   90,
		MaxHandlingP99: 200 * time.Millisecond,
		MaxHighP99:     2 * time.Second,
		MaxNormalP99:   7 * time.Second,
		TimeScale:      1,
	}
}

// Check is one threshold and how the run did against it.
type Check struct {
	Name      string `json:"name"`
	Threshold string `json:"threshold"`
	Measured  string `json:"measured"`
	OK        bool   `json:"ok"`
}

// Evaluate checks the batch run of r (and the reduction, when both ran).
func (t Thresholds) Evaluate(r *Report) []Check {
	var out []Check
	scale := t.TimeScale
	if scale <= 0 {
		scale = 1
	}
	if r.Reduction != nil {
		out = append(out, Check{"request reduction", fmt.Sprintf("≥ %g%%", t.MinReduction),
			fmt.Sprintf("%.1f%%", *r.Reduction), *r.Reduction >= t.MinReduction})
	} else if t.RequireReduction {
		out = append(out, Check{"request reduction", fmt.Sprintf("≥ %g%%", t.MinReduction), "not measured (needs both modes)", false})
	}
	batch, ok := r.Mode(service.DeliveryModeBatch)
	if !ok {
		return out
	}
	if p99 := batch.HandlingP99(); len(batch.Handling) > 0 {
		out = append(out, Check{"Laravel batch handling p99", "< " + fmtMS(t.MaxHandlingP99),
			ms(p99) + " ms", p99 < msOf(t.MaxHandlingP99)})
	}
	lanes := []struct {
		lane service.Lane
		max  time.Duration
	}{{service.LaneHigh, t.MaxHighP99}, {service.LaneNormal, t.MaxNormalP99}}
	for _, l := range lanes {
		d, ok := batch.Delivery[l.lane]
		if !ok || d.Count == 0 {
			continue
		}
		limit := Scale(l.max, scale)
		th := "< " + fmtMS(limit)
		if scale != 1 {
			th += fmt.Sprintf(" (%s real ÷ %g)", fmtMS(l.max), scale)
		}
		out = append(out, Check{fmt.Sprintf("%s-lane delivery p99", upper(l.lane)), th, ms(d.P99) + " ms", d.P99 < msOf(limit)})
	}
	out = append(out, Check{"every accepted event delivered (or superseded)", fmt.Sprintf("≤ %d undelivered", t.MaxUndelivered),
		fmt.Sprintf("%d undelivered", batch.Undelivered()), batch.Undelivered() <= t.MaxUndelivered && batch.Drained})
	return out
}

// Missed names the checks that failed.
func Missed(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if !c.OK {
			out = append(out, fmt.Sprintf("%s: %s, want %s", c.Name, c.Measured, c.Threshold))
		}
	}
	return out
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtMS(d time.Duration) string { return ms(msOf(d)) + " ms" }

func upper(l service.Lane) string {
	if l == service.LaneHigh {
		return "HIGH"
	}
	return "NORMAL"
}
