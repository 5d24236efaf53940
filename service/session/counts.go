package session

import "wagateway/service"

// SessionsByStatus counts the sessions running on this instance by status,
// for metrics: a starting session (no QR yet) counts as pending, like
// Sessions shows it. It reads memory only, so a scrape never waits on Redis.
func (m *Manager) SessionsByStatus() map[service.Status]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[service.Status]int, 4)
	for _, s := range m.live {
		out[s.shownStatus()]++
	}
	return out
}
