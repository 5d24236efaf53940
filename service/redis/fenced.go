package redis

import "wagateway/service"

// fence extends addScript's keys and arguments for an update that carries
// its session's lease: Redis refuses the update (ECONFLICT) when the lease
// lapsed and a newer holder took it, so an instance that paused past its
// lease cannot report for a session another instance runs now. During an
// outage the update is buffered like any other: the writer can neither
// prove nor disprove its lease then, and it made the update while it
// believed it held it. Every key has the {core} tag.
func (o *Outbox) fence(keys []string, args []any, lease service.Lease) ([]string, []any) {
	keys = append(keys, coreKey(o.cfg.Prefix, "lease:"+lease.SessionID),
		coreKey(o.cfg.Prefix, "fence:"+lease.SessionID), coreKey(o.cfg.Prefix, "running"))
	args = append(args, leaseValue(lease), lease.Token, lease.TTL.Milliseconds(), lease.SessionID, lease.Owner)
	return keys, args
}
