package loadtest

import "testing"

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	cases := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", []float64{7}, 99, 7},
		{"p50 of 1..100", hundred, 50, 50},
		{"p95 of 1..100", hundred, 95, 95},
		{"p99 of 1..100", hundred, 99, 99},
		{"p100 is the max", hundred, 100, 100},
		{"p0 is the min", hundred, 0, 1},
		{"p50 of four takes the second", []float64{1, 2, 3, 4}, 50, 2},
		{"p99 of four is the max", []float64{1, 2, 3, 4}, 99, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Percentile(c.sorted, c.p); got != c.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", len(c.sorted), c.p, got, c.want)
			}
		})
	}
}

func TestSummarizeDoesNotReorderInput(t *testing.T) {
	in := []float64{5, 1, 4, 2, 3}
	s := Summarize(in)
	if s.Count != 5 || s.P50 != 3 || s.Max != 5 || s.Mean != 3 {
		t.Errorf("Summarize = %+v", s)
	}
	if in[0] != 5 || in[1] != 1 {
		t.Errorf("input was reordered: %v", in)
	}
	if (Summarize(nil) != Summary{}) {
		t.Errorf("empty input should give the zero Summary")
	}
}
