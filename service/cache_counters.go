package service

import "sync/atomic"

// CacheCounters counts what one cache level does, for its Metrics. Every
// Cache implementation keeps one, so the levels count alike; the zero value
// is ready and safe for concurrent use.
type CacheCounters struct {
	hits, misses, sets, invalidations, errors atomic.Int64
}

// Hit counts a lookup that found a value.
func (c *CacheCounters) Hit() { c.hits.Add(1) }

// Miss counts a lookup that found nothing (or nothing live).
func (c *CacheCounters) Miss() { c.misses.Add(1) }

// Set counts a value stored.
func (c *CacheCounters) Set() { c.sets.Add(1) }

// Invalidation counts an Invalidate or InvalidateAll done.
func (c *CacheCounters) Invalidation() { c.invalidations.Add(1) }

// Failure counts a call the level could not serve.
func (c *CacheCounters) Failure() { c.errors.Add(1) }

// Decoded counts a value found and read back: a hit when err is nil, else
// a failure and a miss (a value that cannot be read is as good as absent,
// the caller asks the next level). It reports whether the value is usable.
func (c *CacheCounters) Decoded(err error) bool {
	if err != nil {
		c.Failure()
		c.Miss()
		return false
	}
	c.Hit()
	return true
}

// Metrics returns the counts so far.
func (c *CacheCounters) Metrics() CacheMetrics {
	hits, misses := c.hits.Load(), c.misses.Load()
	return CacheMetrics{Hits: hits, Misses: misses, HitRate: HitRate(hits, misses),
		Sets: c.sets.Load(), Invalidations: c.invalidations.Load(), Errors: c.errors.Load()}
}
