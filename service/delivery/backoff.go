package delivery

import "time"

// backoff is the wait before the next try after n consecutive failures
// (n ≥ 1): "full jitter" over an exponential ceiling min(max, base·2^(n-1)),
// so many gateways that saw Laravel fail together do not come back together.
// rnd returns a number in [0, 1).
func backoff(n int, base, max time.Duration, rnd func() float64) time.Duration {
	ceiling := backoffCeiling(n, base, max)
	return time.Duration(rnd() * float64(ceiling))
}

// backoffCeiling is the largest wait backoff can return after n failures.
func backoffCeiling(n int, base, max time.Duration) time.Duration {
	if base <= 0 || max <= 0 {
		return 0
	}
	ceiling := min(base, max)
	for i := 1; i < n && ceiling < max; i++ {
		ceiling *= 2 // stops doubling at max, so it cannot overflow
	}
	return min(ceiling, max)
}
