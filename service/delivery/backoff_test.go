package delivery

import (
	"testing"
	"time"
)

func TestBackoffCeiling(t *testing.T) {
	const base, max = 500 * time.Millisecond, 30 * time.Second
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{6, 16 * time.Second},
		{7, 30 * time.Second},
		{1000, 30 * time.Second}, // no overflow however long the outage
	}
	for _, tt := range tests {
		if got := backoffCeiling(tt.n, base, max); got != tt.want {
			t.Errorf("backoffCeiling(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
	if got := backoffCeiling(3, time.Minute, time.Second); got != time.Second {
		t.Errorf("a base above max is capped: got %s", got)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	tests := []struct {
		n    int
		rnd  float64
		want time.Duration
	}{
		{1, 0, 0},
		{1, 0.5, 250 * time.Millisecond},
		{3, 0.25, 500 * time.Millisecond},
		{9, 0.5, 15 * time.Second},
	}
	for _, tt := range tests {
		got := backoff(tt.n, 500*time.Millisecond, 30*time.Second, func() float64 { return tt.rnd })
		if got != tt.want {
			t.Errorf("backoff(%d, rand %v) = %s, want %s", tt.n, tt.rnd, got, tt.want)
		}
	}
}
