// Package loadtest drives a wagateway (simulated phones) through a seeded
// workload of pairing sessions, once per delivery mode (direct: one Laravel
// request per event; batch: the outbox), and measures what Laravel received,
// how late it got it, and what the gateway cost in CPU, memory and Redis.
//
// It must only ever send load to loopback addresses, and every loop it runs
// ends by itself (plan end plus a bounded drain), so a run always stops.
package loadtest
