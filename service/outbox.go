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

	// DeadLetters lists up to limit dead-lettered items, newest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)

	// Stats reports how many items wait per lane and the age of the oldest.
	Stats(ctx context.Context) (OutboxStats, error)

	// Durable reports whether items survive a crash of this process.
	Durable() bool
}

// DeadLetter is an item Laravel refused, with why.
type DeadLetter struct {
	Item   Update    `json:"item"`
	Reason string    `json:"reason"`
	At     time.Time `json:"dead_at"`
}

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
}

// Publisher accepts an event's item for delivery to Laravel: it is in the
// outbox (durably, when the outbox is) once Publish returns nil. delivery.Flusher
// implements it; the session manager only needs this.
type Publisher interface {
	Publish(ctx context.Context, it Update) error
}
