package loadtest

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestChartSVGIsWellFormed(t *testing.T) {
	svg := ChartSVG(`requests <per> second & "mode"`, []Series{
		{Name: "direct", Color: "#d62728", Data: []int{0, 40, 38, 41, 12}},
		{Name: "batch", Color: "#1f77b4", Data: []int{0, 2, 2, 3}},
		{Name: "empty", Color: "#000"},
	})
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
	}
	if got := strings.Count(svg, "<polyline"); got != 2 {
		t.Errorf("%d lines, want 2 (empty series drawn as nothing)", got)
	}
	for _, want := range []string{"direct: 131 requests", "batch: 7 requests", "&lt;per&gt;"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 1: 1, 3: 5, 7: 10, 12: 20, 48: 50, 51: 100, 1234: 2000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}
