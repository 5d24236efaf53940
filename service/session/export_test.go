package session

import "wagateway/service"

// RecountByStatus counts the live sessions by status the slow way, to
// check the counts SessionsByStatus keeps.
func RecountByStatus(m *Manager) map[service.Status]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[service.Status]int{}
	for _, s := range m.live {
		out[s.shownStatus()]++
	}
	return out
}
