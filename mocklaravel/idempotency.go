package mocklaravel

import "sync"

// IdempotencyCapacity bounds how many keys are remembered; the oldest are
// forgotten first, so a long load test cannot grow the mock without limit.
const IdempotencyCapacity = 100_000

// idempotencyLog remembers the Idempotency-Key values each endpoint saw.
// The mock does not answer replays from a cache: newest-wins makes
// reprocessing harmless, and counting them lets tests see retries.
type idempotencyLog struct {
	mu    sync.Mutex
	seen  map[string]int64 // endpoint + " " + key → times seen
	order []string         // ring of keys in arrival order, for eviction
	next  int
}

// observe records one request's key and reports whether it is a replay.
func (l *idempotencyLog) observe(endpoint, key string) bool {
	if key == "" {
		return false
	}
	k := endpoint + " " + key
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]int64{}
	}
	if n, ok := l.seen[k]; ok {
		l.seen[k] = n + 1
		return true
	}
	if len(l.order) < IdempotencyCapacity {
		l.order = append(l.order, k)
	} else {
		delete(l.seen, l.order[l.next])
		l.order[l.next] = k
		l.next = (l.next + 1) % IdempotencyCapacity
	}
	l.seen[k] = 1
	return false
}

// count returns how often each endpoint saw key (only endpoints that did).
func (l *idempotencyLog) count(key string, endpoints []string) map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int64{}
	for _, e := range endpoints {
		if n := l.seen[e+" "+key]; n > 0 {
			out[e] = n
		}
	}
	return out
}

func (l *idempotencyLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

func (l *idempotencyLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen, l.order, l.next = nil, nil, 0
}
