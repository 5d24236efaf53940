package loadtest

import (
	"fmt"
	"time"

	"wagateway/service"
)

// Thresholds are the promises the batch run must keep; latencies are in
// real (unscaled) time and divided by the time scale before comparing.
//
// Relative (what -quick and so make test use) drops every absolute time,
// which a busy machine can break: latency is then gated as a multiple of
// the lane's flush interval measured in the same run, and the Laravel
// handling time is not gated. Reduction, the ratio to the lower bound and
// loss are gated either way: no slow machine excuses those.
type Thresholds struct {
	MinReduction     float64       `json:"min_reduction_pct"`   // batch vs direct, %
	MaxVsBound       float64       `json:"max_vs_bound"`        // batch requests / lower bound
	MaxHandlingP99   time.Duration `json:"max_handling_p99_ns"` // the mock's batch handling, never scaled
	MaxHighP99       time.Duration `json:"max_high_p99_ns"`
	MaxNormalP99     time.Duration `json:"max_normal_p99_ns"`
	MaxUndelivered   int64         `json:"max_undelivered"`
	TimeScale        float64       `json:"time_scale"`
	RequireReduction bool          `json:"require_reduction"` // both modes ran

	Relative           bool    `json:"relative"`
	MaxHighIntervals   float64 `json:"max_high_intervals"`   // HIGH p99 / measured HIGH flush interval
	MaxNormalIntervals float64 `json:"max_normal_intervals"` // NORMAL p99 / measured NORMAL flush interval
}

// DefaultThresholds are the seed checklist's promises, and issue 15's
// bound on requests.
func DefaultThresholds() Thresholds {
	return Thresholds{
		MinReduction:   90,
		MaxVsBound:     1.05,
		MaxHandlingP99: 200 * time.Millisecond,
		MaxHighP99:     2 * time.Second,
		MaxNormalP99:   7 * time.Second,
		TimeScale:      1,
		// An item waits at most one flush interval plus the flush itself;
		// HIGH's interval is short next to the work around it, so it gets
		// more intervals. A lane flushed on the other lane's clock misses
		// either (HIGH on NORMAL's: 5 intervals; NORMAL waiting for a full
		// batch: many).
		MaxHighIntervals:   4,
		MaxNormalIntervals: 2,
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
	if r.BatchVsBound != nil && t.MaxVsBound > 0 {
		out = append(out, Check{"batch requests vs lower bound", fmt.Sprintf("≤ %.2f×", t.MaxVsBound),
			fmt.Sprintf("%.3f×", *r.BatchVsBound), *r.BatchVsBound <= t.MaxVsBound})
	}
	batch, ok := r.Mode(service.DeliveryModeBatch)
	if !ok {
		return out
	}
	if t.Relative {
		return append(append(out, t.relativeLatency(batch)...), t.loss(batch))
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
	return append(out, t.loss(batch))
}

func (t Thresholds) loss(batch ModeResult) Check {
	return Check{"every accepted event delivered (or superseded)", fmt.Sprintf("≤ %d undelivered", t.MaxUndelivered),
		fmt.Sprintf("%d undelivered", batch.Undelivered()), batch.Undelivered() <= t.MaxUndelivered && batch.Drained}
}

// relativeLatency gates each lane's delivery p99 in flush intervals as
// measured in the run (FlushIntervalMS).
func (t Thresholds) relativeLatency(batch ModeResult) []Check {
	var out []Check
	lanes := []struct {
		lane service.Lane
		max  float64
	}{{service.LaneHigh, t.MaxHighIntervals}, {service.LaneNormal, t.MaxNormalIntervals}}
	for _, l := range lanes {
		d, ok := batch.Delivery[l.lane]
		interval := batch.FlushIntervalMS[l.lane]
		if !ok || d.Count == 0 || interval <= 0 {
			continue
		}
		ratio := d.P99 / interval
		out = append(out, Check{fmt.Sprintf("%s-lane delivery p99 in flush intervals", upper(l.lane)),
			fmt.Sprintf("≤ %g × the interval measured", l.max),
			fmt.Sprintf("%s ms = %.2f × %s ms", ms(d.P99), ratio, ms(interval)), ratio <= l.max})
	}
	// A HIGH lane flushed on NORMAL's clock keeps the check above (its
	// measured interval is NORMAL's); what it cannot keep is being faster.
	high, normal := batch.Delivery[service.LaneHigh], batch.FlushIntervalMS[service.LaneNormal]
	if high.Count > 0 && normal > 0 {
		out = append(out, Check{"HIGH-lane delivery p99 ahead of NORMAL", "< 1 NORMAL flush interval measured",
			fmt.Sprintf("%s ms vs %s ms", ms(high.P99), ms(normal)), high.P99 < normal})
	}
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
