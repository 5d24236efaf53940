package session

import "wagateway/service"

// SessionsByStatus counts the sessions running on this instance by status,
// for metrics: a starting session (no QR yet) counts as pending, like
// Sessions shows it. It reads the counts kept in memory (m.shown), so a
// scrape never waits on Redis nor walks the sessions.
func (m *Manager) SessionsByStatus() map[service.Status]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[service.Status]int, len(m.shown))
	for st, n := range m.shown {
		if n > 0 {
			out[st] = n
		}
	}
	return out
}
