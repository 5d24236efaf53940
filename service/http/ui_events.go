package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"wagateway/service"
)

const (
	defaultDeliveryEvery = time.Second
	// sseHeartbeat keeps proxies from closing an idle stream.
	sseHeartbeat = 15 * time.Second
	// deadLettersShown is how many dead letters the panel lists.
	deadLettersShown = 20
)

// deliverySnapshot is one push of the dashboard's delivery panel.
type deliverySnapshot struct {
	Batch       service.BatchMetrics     `json:"batch"`
	Health      healthResponse           `json:"health"`
	Traffic     *service.DeliveryTraffic `json:"traffic"`     // null when not followed
	DeadLetters []deadLetterView         `json:"deadLetters"` // null when not listed
}

// deadLetterView is a dead letter without its QR image (large, and useless
// to an operator reading why Laravel refused it).
type deadLetterView struct {
	ID        string    `json:"id"`
	SessionID string    `json:"session_id"`
	Kind      string    `json:"kind"`
	Status    string    `json:"estado_qr,omitempty"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"dead_at"`
}

func (s *Server) deliverySnapshot(ctx context.Context) deliverySnapshot {
	snap := deliverySnapshot{Batch: s.batchMetrics(ctx), Health: s.health(ctx)}
	if s.cfg.UI.Traffic != nil {
		t := s.cfg.UI.Traffic()
		snap.Traffic = &t
	}
	if s.cfg.UI.DeadLetters != nil {
		list, err := s.cfg.UI.DeadLetters(ctx, deadLettersShown)
		if err != nil {
			s.log.Warn("dashboard: list dead letters", "err", err)
		}
		snap.DeadLetters = make([]deadLetterView, 0, len(list))
		for _, dl := range list {
			snap.DeadLetters = append(snap.DeadLetters, deadLetterView{
				ID: dl.Item.ID, SessionID: dl.Item.SessionID, Kind: string(dl.Item.Kind),
				Status: string(dl.Item.Status), Reason: dl.Reason, At: dl.At,
			})
		}
	}
	return snap
}

// GET /ui/events: server-sent events for the dashboard. "session" carries a
// session (as GET /sessions/{id}) each time its QR code or status changes;
// "delivery" carries the delivery panel on connect and whenever it changed.
func (s *Server) handleUIEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The stream outlives the server's WriteTimeout, meant for short answers.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		s.fail(w, r, fmt.Errorf("server-sent events unsupported: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	ctx := r.Context()
	var (
		wake    <-chan struct{}
		changed = func() []string { return nil }
	)
	if s.cfg.UI.Feed != nil {
		var cancel func()
		wake, changed, cancel = s.cfg.UI.Feed.Subscribe()
		defer cancel()
	}
	every := s.cfg.UI.DeliveryEvery
	if every <= 0 {
		every = defaultDeliveryEvery
	}

	var last []byte
	pushDelivery := func() error {
		b, err := json.Marshal(s.deliverySnapshot(ctx))
		if err != nil || bytes.Equal(b, last) {
			return err
		}
		last = b
		return writeEvent(w, rc, "delivery", b)
	}
	if err := pushDelivery(); err != nil {
		return
	}
	tick := s.cfg.Clock.After(every)
	beat := s.cfg.Clock.After(sseHeartbeat)
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case <-wake:
			for _, id := range changed() {
				if err = s.pushSession(ctx, w, rc, id); err != nil {
					break
				}
			}
		case <-tick:
			err = pushDelivery()
			tick = s.cfg.Clock.After(every)
		case <-beat:
			_, err = fmt.Fprint(w, ": keep-alive\n\n")
			if err == nil {
				err = rc.Flush()
			}
			beat = s.cfg.Clock.After(sseHeartbeat)
		}
		if err != nil {
			return // the browser went away
		}
	}
}

func (s *Server) pushSession(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, id string) error {
	sess, src, err := s.cfg.Sessions.Session(ctx, id)
	if err != nil && service.ErrorCode(err) != service.ENOTFOUND {
		s.log.Warn("dashboard: session lookup", "session_id", id, "err", err)
		return nil
	}
	res := toResponse(sess)
	res.SessionID = id
	res.Source = string(src)
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return writeEvent(w, rc, "session", b)
}

func writeEvent(w http.ResponseWriter, rc *http.ResponseController, event string, data []byte) error {
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
		return err
	}
	return rc.Flush()
}
