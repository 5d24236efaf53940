package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"wagateway/service"
)

// DeadLetterConfig bounds the dead letters kept; zero fields take defaults.
type DeadLetterConfig struct {
	Keep       int           // at most this many are kept, the oldest go first (10 000)
	MaxAge     time.Duration // older ones go (7 days)
	PruneEvery time.Duration // how often Run enforces both (1 min)
	Clock      service.Clock
	Observer   service.DeadLetterObserver // nil: not counted
}

// DeadLetters is what an operator does with the items Laravel refused: list
// them, replay them once the cause is fixed, drop them; and it keeps their
// number and age bounded.
//
// A replay publishes each item again with its original event time, so it
// goes through the outbox like a new event: coalescing and Laravel's
// newest-per-session rule still keep an old state from overwriting a newer.
type DeadLetters struct {
	cfg     DeadLetterConfig
	outbox  service.Outbox
	publish service.Publisher
	log     *slog.Logger
}

// NewDeadLetters returns the dead-letter service over outbox, replaying
// through publish (the Flusher).
func NewDeadLetters(cfg DeadLetterConfig, outbox service.Outbox, publish service.Publisher, log *slog.Logger) *DeadLetters {
	if cfg.Keep <= 0 {
		cfg.Keep = 10_000
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = service.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DeadLetters{cfg: cfg, outbox: outbox, publish: publish, log: log}
}

// List returns the dead letters q picks, newest first.
func (d *DeadLetters) List(ctx context.Context, q service.DeadLetterQuery) ([]service.DeadLetter, error) {
	return d.outbox.DeadLetters(ctx, q)
}

// replayPage is how many dead letters one step of a replay reads.
const replayPage = 200

// Replay publishes the dead letters q picks again (all of them: q.Limit
// only sizes the steps) and removes each from the dead letters once it is
// back in the outbox. A crash between the two replays it twice, which the
// newest-wins rule makes harmless; the other order could lose it.
func (d *DeadLetters) Replay(ctx context.Context, q service.DeadLetterQuery) (service.ReplayResult, error) {
	res := service.ReplayResult{IDs: []string{}}
	q.Limit = replayPage
	for {
		page, err := d.outbox.DeadLetters(ctx, q)
		if err != nil {
			return res, fmt.Errorf("replay: list dead letters: %w", err)
		}
		var done []string
		// Oldest first within a step, so the outbox holds them in event order.
		for _, dl := range slices.Backward(page) {
			if dl.ID == "" {
				continue // held in memory during an outage: replayable once stored
			}
			it := dl.Item
			it.ID, it.Attempts = "", 0
			if err := d.publish.Publish(ctx, it); err != nil {
				res.Failed++
				d.log.WarnContext(ctx, "dead letter not replayed", "session_id", it.SessionID, "dead_letter", dl.ID, "err", err)
				if ctx.Err() != nil {
					break
				}
				continue
			}
			done = append(done, dl.ID)
		}
		if len(done) > 0 {
			if _, err := d.outbox.DeleteDeadLetters(context.WithoutCancel(ctx), done...); err != nil {
				// Published already: they will be replayed again next time, harmlessly.
				return res, fmt.Errorf("replay: remove %d replayed dead letters: %w", len(done), err)
			}
			res.Replayed += len(done)
			res.IDs = append(res.IDs, done...)
			d.count(service.DeadLetterReplayed, len(done))
		}
		if len(page) < replayPage || ctx.Err() != nil {
			break
		}
		q.Before = page[len(page)-1].ID
	}
	d.log.InfoContext(ctx, "dead letters replayed", "replayed", res.Replayed, "failed", res.Failed,
		"session_id", q.SessionID, "ids", len(q.IDs))
	return res, ctx.Err()
}

// Delete drops one dead letter; ENOTFOUND when there is none with id.
func (d *DeadLetters) Delete(ctx context.Context, id string) error {
	n, err := d.outbox.DeleteDeadLetters(ctx, id)
	if err != nil {
		return fmt.Errorf("delete dead letter %s: %w", id, err)
	}
	if n == 0 {
		return service.Errorf(service.ENOTFOUND, "no dead letter %q", id)
	}
	d.count(service.DeadLetterDeleted, n)
	d.log.InfoContext(ctx, "dead letter deleted", "dead_letter", id)
	return nil
}

// Prune enforces Keep and MaxAge once.
func (d *DeadLetters) Prune(ctx context.Context) error {
	evicted, expired, err := d.outbox.PruneDeadLetters(ctx, d.cfg.Keep, d.cfg.Clock.Now().Add(-d.cfg.MaxAge))
	d.count(service.DeadLetterEvicted, evicted)
	d.count(service.DeadLetterExpired, expired)
	if evicted+expired > 0 {
		d.log.InfoContext(ctx, "dead letters pruned", "evicted", evicted, "expired", expired)
	}
	if err != nil {
		return fmt.Errorf("prune dead letters: %w", err)
	}
	return nil
}

// Run prunes every PruneEvery until ctx ends; failures are logged and
// retried at the next tick.
func (d *DeadLetters) Run(ctx context.Context) error {
	for {
		if err := d.Prune(ctx); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "dead letter prune failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.cfg.Clock.After(d.cfg.PruneEvery):
		}
	}
}

func (d *DeadLetters) count(outcome string, n int) {
	if d.cfg.Observer != nil && n > 0 {
		d.cfg.Observer.DeadLettersHandled(outcome, n)
	}
}
