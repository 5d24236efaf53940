package loadtest

import (
	"math"
	"slices"
)

// Summary is a distribution of milliseconds, nearest-rank percentiles.
type Summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Summarize sorts a copy of samples and returns their summary; no samples
// give a zero Summary (Count 0 says "no data", not "0 ms").
func Summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	return Summary{
		Count: len(s),
		P50:   round3(Percentile(s, 50)),
		P95:   round3(Percentile(s, 95)),
		P99:   round3(Percentile(s, 99)),
		Max:   round3(s[len(s)-1]),
		Mean:  round3(sum / float64(len(s))),
	}
}

// Percentile is the nearest-rank p-th percentile of sorted: the smallest
// value with at least p% of the samples at or below it. It is always one
// of the samples, so a p99 of 100 samples is the 99th value, not a blend.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
