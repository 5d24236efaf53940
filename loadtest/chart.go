package loadtest

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Series is one line of the chart: a value per second.
type Series struct {
	Name  string
	Color string
	Data  []int
}

// ChartSVG draws requests per second to Laravel, one line per mode, as a
// self-contained SVG (no script, no external font or style).
func ChartSVG(title string, series []Series) string {
	const (
		width, height = 860, 360
		left, right   = 60, 20
		top, bottom   = 40, 50
		plotW, plotH  = width - left - right, height - top - bottom
	)
	n, peak := 1, 1
	for _, s := range series {
		n = max(n, len(s.Data))
		for _, v := range s.Data {
			peak = max(peak, v)
		}
	}
	yMax := niceCeil(float64(peak))
	x := func(i int) float64 { return left + float64(i)*float64(plotW)/float64(max(n-1, 1)) }
	y := func(v float64) float64 { return top + plotH - v/yMax*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	// Horizontal grid with labels: five steps of the rounded maximum.
	for i := 0; i <= 5; i++ {
		v := yMax * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), left+plotW, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, trimFloat(v))
	}
	// Time axis: about eight labelled ticks.
	step := max(1, int(niceCeil(float64(n)/8)))
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(i), top+plotH+16, i)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">seconds since the gateway was ready</text>`+"\n", left+plotW/2, height-10)
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">requests / s to Laravel</text>`+"\n", top+plotH/2, top+plotH/2)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, top, plotW, plotH)
	for i, s := range series {
		if len(s.Data) == 0 {
			continue
		}
		pts := make([]string, len(s.Data))
		for j, v := range s.Data {
			pts[j] = fmt.Sprintf("%.1f,%.1f", x(j), y(float64(v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", s.Color, strings.Join(pts, " "))
		total := 0
		for _, v := range s.Data {
			total += v
		}
		lx, ly := left+plotW-230, top+18+18*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", lx, ly-4, lx+20, ly-4, s.Color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s: %d requests</text>`+"\n", lx+26, ly, html.EscapeString(s.Name), total)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
