// Package service is the domain of wagateway: the plain types (sessions,
// statuses, QR codes, the updates waiting for Laravel, lanes) and the
// interfaces the outside world is reached through (Driver, Cache, Leases,
// Outbox, Laravel, Publisher). One noun per file.
//
// It must never import an outside dependency or run anything: no goroutines,
// no I/O. Redis, HTTP, whatsmeow and Laravel live in subpackages that import
// this one; the session manager is service/session, the flusher
// service/delivery, and service/cmd/gateway wires them.
package service
