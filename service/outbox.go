package service

import (
	"context"
	"time"
)

// Outbox holds QR and status items durably until Laravel has them.
//
// An item added with Add stays until it is acknowledged (Ack) or
// dead-lettered; a consumer that dies while holding items does not lose them:
// after the claim timeout another consumer's Claim takes them over.
type Outbox interface {
	// Add stores it and returns it with its ID set. When Add returns nil the
	// item survives a crash of this process (for a durable outbox).
	//
	// Only the newest update of a Key can matter to Laravel, so Add removes
	// every pending update of it.Key() (in either lane, claimed or not) that
	// it is Newer than; if a pending one is newer than it, it is not stored
	// and comes back with an empty ID. Either way the outbox holds at most
	// one update per session and kind, however long Laravel is away.
	// Stats.Superseded counts the updates that left this way.
	Add(ctx context.Context, it Update) (Update, error)

	// Claim returns up to max pending items of lane, oldest first: first the
	// items this consumer already holds and has not acknowledged (so a failed
	// delivery is retried by the next Claim), then new ones, then items held
	// too long by a consumer that went away. Items stay in the outbox.
	Claim(ctx context.Context, lane Lane, max int) ([]Update, error)

	// Ack removes delivered (or superseded) items for good.
	Ack(ctx context.Context, lane Lane, ids ...string) error

	// DeadLetter removes items Laravel refused and keeps them, with the
	// reason, where an operator can inspect them.
	DeadLetter(ctx context.Context, lane Lane, dead []DeadLetter) error

	// DeadLetters lists the dead letters q picks, newest first. Each has
	// an ID the outbox gave it when it kept it (empty while it is held in
	// memory only, e.g. during a Redis outage).
	DeadLetters(ctx context.Context, q DeadLetterQuery) ([]DeadLetter, error)

	// DeleteDeadLetters drops the dead letters with these ids and returns
	// how many it dropped; unknown ids are ignored.
	DeleteDeadLetters(ctx context.Context, ids ...string) (int, error)

	// PruneDeadLetters keeps at most the newest keep dead letters and drops
	// those dead (DeadLetter.At) before olderThan; it returns how many went
	// for each reason. Dead letters are about in At order, so a letter out
	// of order may outlive olderThan until those before it go.
	PruneDeadLetters(ctx context.Context, keep int, olderThan time.Time) (evicted, expired int, err error)

	// Stats reports how many items wait per lane and the age of the oldest.
	Stats(ctx context.Context) (OutboxStats, error)

	// Durable reports whether items survive a crash of this process.
	Durable() bool
}

// DeadLetter is an item Laravel refused, with why.
type DeadLetter struct {
	ID     string    `json:"id,omitempty"` // set by the Outbox that keeps it
	Item   Update    `json:"item"`
	Reason string    `json:"reason"`
	At     time.Time `json:"dead_at"`
}

// Outcomes of a dead letter leaving the list, for DeadLetterObserver.
const (
	DeadLetterReplayed = "replayed" // put back into the outbox
	DeadLetterDeleted  = "deleted"  // dropped by an operator
	DeadLetterExpired  = "expired"  // older than the age limit
	DeadLetterEvicted  = "evicted"  // beyond the cap
)

// DeadLetterObserver is told how many dead letters left the list and why.
type DeadLetterObserver interface {
	DeadLettersHandled(outcome string, n int)
}

// ReplayResult counts one replay of dead letters.
type ReplayResult struct {
	Replayed int      `json:"replayed"` // back in the outbox, removed from the dead letters
	Failed   int      `json:"failed"`   // could not be published again: still dead letters
	IDs      []string `json:"ids"`      // the replayed dead letters
}

// DeadLetterQuery picks dead letters: those with IDs when set, else all,
// or only those of SessionID; newest first, older than the dead letter
// Before (an ID: the last one of the previous page) when set, and at most
// Limit (none when 0).
type DeadLetterQuery struct {
	IDs       []string
	SessionID string
	Before    string
	Limit     int
}

// Match reports whether q picks dl, its Limit aside.
func (q DeadLetterQuery) Match(dl DeadLetter) bool {
	if len(q.IDs) > 0 {
		found := false
		for _, id := range q.IDs {
			if id != "" && id == dl.ID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if q.SessionID != "" && dl.Item.SessionID != q.SessionID {
		return false
	}
	if q.Before != "" && (dl.ID == "" || CompareIDs(dl.ID, q.Before) >= 0) {
		return false
	}
	return true
}

// Full reports whether n dead letters fill q's Limit.
func (q DeadLetterQuery) Full(n int) bool { return q.Limit > 0 && n >= q.Limit }

// OutboxStats is a snapshot of what waits in the outbox.
type OutboxStats struct {
	Depth        map[Lane]int           `json:"depth"`
	OldestAge    map[Lane]time.Duration `json:"oldest_age"`
	DeadLettered int                    `json:"dead_lettered"`
	// Superseded counts, per kind, the updates Add removed or did not store
	// because a newer one of their key came, since this process opened the
	// outbox.
	Superseded map[Kind]int `json:"superseded,omitempty"`
	// Buffered counts items (included in Depth) held only in memory because
	// the durable store is unreachable: they are lost if the process dies.
	Buffered int `json:"buffered"`
	// Unconfirmed counts items the store accepted that no replica has
	// confirmed yet (Redis behind Sentinel): also held in memory until one
	// does, since a failover would lose them.
	Unconfirmed int `json:"unconfirmed,omitempty"`
}

// Publisher accepts an event's item for delivery to Laravel: it is in the
// outbox (durably, when the outbox is) once Publish returns nil. delivery.Flusher
// implements it; the session manager only needs this.
type Publisher interface {
	Publish(ctx context.Context, it Update) error
}
