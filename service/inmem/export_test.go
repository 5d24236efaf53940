package inmem

// HistorySweeps and HistorySessions expose History's bookkeeping to the
// tests of its cost and its memory bound.
func HistorySweeps(h *History) int { h.mu.Lock(); defer h.mu.Unlock(); return h.sweeps }

func HistorySessions(h *History) int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.sessions) }
