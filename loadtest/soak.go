package loadtest

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// SoakSample is one second of a soak run (make soak).
type SoakSample struct {
	T           float64 `json:"t_s"` // since the gateway was ready
	RSSKB       int64   `json:"rss_kb"`
	Goroutines  int64   `json:"goroutines"`
	FDs         int64   `json:"fds"`
	RedisBytes  int64   `json:"redis_used_memory"`
	OutboxDepth int64   `json:"outbox_depth"`
}

// soakMetrics names each sampled value, its colour, and the slack a
// flatness check allows on top of the tolerance: a handful of fds or
// goroutines, a batch or two of outbox depth, are noise, not a leak.
var soakMetrics = []struct {
	Name  string
	Color string
	Slack float64
	Get   func(SoakSample) int64
}{
	{"RSS (KB)", "#1f77b4", 0, func(s SoakSample) int64 { return s.RSSKB }},
	{"goroutines", "#ff7f0e", 10, func(s SoakSample) int64 { return s.Goroutines }},
	{"open fds", "#2ca02c", 5, func(s SoakSample) int64 { return s.FDs }},
	{"Redis used_memory (B)", "#d62728", 0, func(s SoakSample) int64 { return s.RedisBytes }},
	{"outbox depth", "#9467bd", 100, func(s SoakSample) int64 { return s.OutboxDepth }},
}

// SoakCheck compares a metric's mean over the first and the last window
// after warm-up.
type SoakCheck struct {
	Metric string  `json:"metric"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Change float64 `json:"change_pct"`
	OK     bool    `json:"ok"`
}

// SoakChecks says whether every metric stayed flat after warm-up: the mean
// of the last fifth of the remaining samples is within tolerance (0.10 for
// 10 %, plus the metric's slack) of the mean of the first fifth. A leak
// grows; a drop is reported but passes.
func SoakChecks(samples []SoakSample, warmup time.Duration, tolerance float64) []SoakCheck {
	var after []SoakSample
	for _, s := range samples {
		if s.T >= warmup.Seconds() {
			after = append(after, s)
		}
	}
	var out []SoakCheck
	w := len(after) / 5
	for _, m := range soakMetrics {
		c := SoakCheck{Metric: m.Name}
		if w == 0 {
			out = append(out, c) // too short to say: not OK
			continue
		}
		c.Start, c.End = meanOf(after[:w], m.Get), meanOf(after[len(after)-w:], m.Get)
		if c.Start > 0 {
			c.Change = round3((c.End/c.Start - 1) * 100)
		}
		c.OK = c.End <= c.Start*(1+tolerance)+m.Slack
		out = append(out, c)
	}
	return out
}

func meanOf(s []SoakSample, get func(SoakSample) int64) float64 {
	var sum float64
	for _, x := range s {
		sum += float64(get(x))
	}
	return sum / float64(len(s))
}

// SoakChart draws every metric as a percentage of its mean over the first
// window after warm-up, so one axis shows whether anything grows.
func SoakChart(title string, samples []SoakSample, warmup time.Duration) string {
	const (
		width, height = 860, 380
		left, right   = 60, 20
		top, bottom   = 40, 50
		plotW, plotH  = width - left - right, height - top - bottom
		yMax          = 200.0 // % of the baseline
	)
	checks := SoakChecks(samples, warmup, 0.1)
	n := max(len(samples), 2)
	x := func(i int) float64 { return left + float64(i)*float64(plotW)/float64(n-1) }
	y := func(v float64) float64 { return top + plotH - min(v, yMax)/yMax*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), left+plotW, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g%%</text>`+"\n", left-6, y(v)+4, v)
	}
	if len(samples) > 0 {
		for i, s := range samples {
			if s.T >= warmup.Seconds() {
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#aaa" stroke-dasharray="4 3"/>`+"\n", x(i), top, x(i), top+plotH)
				fmt.Fprintf(&b, `<text x="%.1f" y="%d">warm-up ends</text>`+"\n", x(i)+4, top+12)
				break
			}
		}
		step := max(1, len(samples)/8)
		for i := 0; i < len(samples); i += step {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x(i), top+plotH+16, samples[i].T)
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">seconds since the gateway was ready</text>`+"\n", left+plotW/2, height-10)
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%% of the level after warm-up</text>`+"\n", top+plotH/2, top+plotH/2)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, top, plotW, plotH)
	for i, m := range soakMetrics {
		base := checks[i].Start
		if base <= 0 {
			continue
		}
		pts := make([]string, len(samples))
		for j, s := range samples {
			pts[j] = fmt.Sprintf("%.1f,%.1f", x(j), y(float64(m.Get(s))/base*100))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", m.Color, strings.Join(pts, " "))
		lx, ly := left+plotW-300, top+30+18*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", lx, ly-4, lx+20, ly-4, m.Color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s: %.0f → %.0f (%+.1f%%)</text>`+"\n", lx+26, ly, html.EscapeString(m.Name), checks[i].Start, checks[i].End, checks[i].Change)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
