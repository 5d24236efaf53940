package service

import (
	"context"
	"time"
)

// Lease is one instance's hold on one session. Token is the fencing token:
// it grows with every new holder of the session's lease, so a write that
// carries an older token is refused, however late it arrives.
type Lease struct {
	SessionID string `json:"session_id"`
	Owner     string `json:"owner"`
	Token     int64  `json:"token"`
	// TTL is how long each take or renewal holds the lease (LEASE_TTL);
	// a fenced write that finds the lease lost by a Redis failover takes
	// it back for this long.
	TTL time.Duration `json:"-"`
}

// Valid reports whether l names a held lease (Token 0 is never handed out).
func (l Lease) Valid() bool { return l.SessionID != "" && l.Owner != "" && l.Token > 0 }

// Leases makes each WhatsApp session owned by exactly one gateway instance
// (two clients on one device replace each other forever), and says which
// sessions lost their instance, for the survivors to take over.
type Leases interface {
	// Take acquires the lease of sessionID for owner with a new fencing
	// token, or keeps (and extends) the one owner holds already. When
	// another live owner holds it, ok is false and the Lease names it.
	// A taken session counts as running until End.
	Take(ctx context.Context, sessionID, owner string, ttl time.Duration) (lease Lease, ok bool, err error)
	// Renew extends each lease still held exactly as given (same owner and
	// token), or takes it back with the same token when it is free and no
	// newer token was handed out since (it lapsed unclaimed, or a Redis
	// failover lost it), but never after End or Handover of it (a renewal
	// in flight must not bring an ended session back); held[i] is false
	// when another instance holds it or held it since, or it was given up:
	// its session must stop here before it does anything else.
	Renew(ctx context.Context, ttl time.Duration, leases ...Lease) (held []bool, err error)
	// End gives the lease up for good: the session ended here (logged out,
	// expired, closed, stopped by the last instance); nobody resumes it.
	End(ctx context.Context, lease Lease) error
	// Handover gives the lease up for another instance to take at once:
	// the session keeps running somewhere (graceful shutdown).
	Handover(ctx context.Context, lease Lease) error
	// Owner returns the current holder, "" when nobody holds it.
	Owner(ctx context.Context, sessionID string) (string, error)
	// Owners maps each of ids that has a holder to it, in few round trips.
	Owners(ctx context.Context, ids []string) (map[string]string, error)
	// Orphans maps the running sessions without a lease to their last
	// owner ("" when handed over): their instance died, was cut off, handed
	// them over, or a Redis failover lost the lease (then the owner, still
	// alive, takes it back at its next renewal).
	Orphans(ctx context.Context) (map[string]string, error)
	// Known lists every session id ever registered and not forgotten.
	Known(ctx context.Context) ([]string, error)
	// Register and Forget maintain the Known set; Forget also ends the
	// session's claim to run (it leaves the running set).
	Register(ctx context.Context, sessionID string) error
	Forget(ctx context.Context, sessionID string) error
}

// ValidateLease checks the arguments of Leases.Take and Renew, for every
// implementation alike.
func ValidateLease(sessionID, owner string, ttl time.Duration) error {
	if err := ValidateSessionID(sessionID); err != nil {
		return err
	}
	if owner == "" {
		return Errorf(EINVALID, "lease of %s needs an owner", sessionID)
	}
	if ttl < time.Millisecond {
		return Errorf(EINVALID, "lease of %s needs a ttl of at least 1ms, got %s", sessionID, ttl)
	}
	return nil
}
