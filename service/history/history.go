// Package history records every status change the gateway publishes in a
// service.StatusHistory, for GET /sessions/{id}/history. It wraps the
// Publisher the session manager writes to, so the manager knows nothing of
// it; it must never fail or delay a publish because the history failed.
package history

import (
	"context"
	"log/slog"

	"wagateway/service"
)

// Publisher returns next, recording each status update it accepts in h as
// a change made on instance.
func Publisher(next service.Publisher, h service.StatusHistory, instance string, log *slog.Logger) service.Publisher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return recorder{next: next, h: h, instance: instance, log: log}
}

type recorder struct {
	next     service.Publisher
	h        service.StatusHistory
	instance string
	log      *slog.Logger
}

func (r recorder) Publish(ctx context.Context, u service.Update) error {
	if err := r.next.Publish(ctx, u); err != nil {
		return err
	}
	if u.Kind != service.KindStatus {
		return nil
	}
	c := service.StatusChange{Status: u.Status, Reason: u.Reason, Instance: r.instance, At: u.At}
	// The update is in the outbox already: a history failure is only logged.
	if err := r.h.Record(context.WithoutCancel(ctx), u.SessionID, c); err != nil {
		r.log.WarnContext(ctx, "status history not recorded", "session_id", u.SessionID, "err", err)
	}
	return nil
}
