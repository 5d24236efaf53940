// Package notify sends failure notices (ALERT_WEBHOOK_URL): when items are
// dead-lettered, when a lane delivers nothing for ALERT_AFTER while items
// wait, and when such a lane recovers. Notices are coalesced, de-duplicated
// and rate-limited.
//
// It must never block or slow the outbox: the flusher only hands events to
// a bounded queue (dropped and counted when full); sending happens on the
// Notifier's own goroutine.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"wagateway/service"
)

// Config configures a Notifier; zero fields take the defaults.
type Config struct {
	Instance string        // names this gateway in every notice
	After    time.Duration // ALERT_AFTER: how long a lane may deliver nothing while items wait (2 min)
	// CheckEvery is how often lanes are checked (After/4, between 1 s and 30 s).
	CheckEvery time.Duration
	// DeadLetterGap is the least time between two dead-letter notices; the
	// dead letters in between go into the next one (1 min).
	DeadLetterGap time.Duration
	// MaxPerHour bounds all notices together (60); the rest are suppressed.
	MaxPerHour int
	// QueueSize bounds the events waiting for the Notifier (1024).
	QueueSize   int
	SendTimeout time.Duration // per notice (10 s)
	MaxSamples  int           // dead letters shown in one notice (10)
	Clock       service.Clock
	Observer    service.NoticeObserver // nil: not counted
}

func (c Config) withDefaults() Config {
	if c.After <= 0 {
		c.After = 2 * time.Minute
	}
	if c.CheckEvery <= 0 {
		c.CheckEvery = min(max(c.After/4, time.Second), 30*time.Second)
	}
	if c.DeadLetterGap <= 0 {
		c.DeadLetterGap = time.Minute
	}
	if c.MaxPerHour <= 0 {
		c.MaxPerHour = 60
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 10 * time.Second
	}
	if c.MaxSamples <= 0 {
		c.MaxSamples = 10
	}
	if c.Clock == nil {
		c.Clock = service.SystemClock{}
	}
	return c
}

// Stats reads what waits per lane; the Outbox implements it.
type Stats interface {
	Stats(ctx context.Context) (service.OutboxStats, error)
}

// Notifier watches the flusher (it is a service.FlusherObserver) and the
// outbox, and sends notices through a service.NoticeSender.
type Notifier struct {
	cfg    Config
	sender service.NoticeSender
	stats  Stats
	log    *slog.Logger

	events chan service.DeadLetter
	// lastDelivery is each lane's last progress (unix ns), the start time first.
	lastDelivery map[service.Lane]*atomic.Int64

	// Owned by Run's goroutine:
	stalled map[service.Lane]bool
	// waitingSince is when a check first saw items in the lane after seeing
	// it empty: an idle lane's old last delivery is no stall.
	waitingSince map[service.Lane]time.Time
	pending      []service.DeadLetter // since the last dead-letter notice
	pendingN     int
	lastDead     time.Time
	sentTimes    []time.Time // within the last hour, for MaxPerHour
}

var _ service.FlusherObserver = (*Notifier)(nil)

// New returns a Notifier; Run starts it.
func New(cfg Config, sender service.NoticeSender, stats Stats, log *slog.Logger) *Notifier {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{
		cfg: cfg, sender: sender, stats: stats, log: log,
		events:       make(chan service.DeadLetter, cfg.QueueSize),
		lastDelivery: map[service.Lane]*atomic.Int64{},
		stalled:      map[service.Lane]bool{},
		waitingSince: map[service.Lane]time.Time{},
	}
	start := cfg.Clock.Now().UnixNano()
	for _, l := range service.Lanes {
		n.lastDelivery[l] = &atomic.Int64{}
		n.lastDelivery[l].Store(start)
	}
	return n
}

// OnBatch notes each lane's last progress: a 2xx, or a refusal (the items
// leave the lane as dead letters, which have notices of their own). Only
// requests that will be retried leave a lane stuck.
func (n *Notifier) OnBatch(r service.BatchReport) {
	if last, ok := n.lastDelivery[r.Lane]; ok && r.Outcome() != "retry" {
		last.Store(n.cfg.Clock.Now().UnixNano())
	}
}

func (n *Notifier) OnDelivered(service.Update, time.Duration) {}

// OnDeadLettered queues the dead letter for the next notice, or drops it
// (counted) when the queue is full: the flusher never waits here.
func (n *Notifier) OnDeadLettered(dl service.DeadLetter) {
	select {
	case n.events <- dl:
	default:
		n.count(service.NoticeDeadLetter, service.NoticeDropped)
	}
}

// Run sends notices until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	tick := n.cfg.Clock.After(n.cfg.CheckEvery)
	for {
		select {
		case <-ctx.Done():
			return nil
		case dl := <-n.events:
			n.collect(dl)
			n.drainEvents()
			n.flushDeadLetters(ctx)
		case <-tick:
			n.drainEvents()
			n.flushDeadLetters(ctx)
			n.checkLanes(ctx)
			// Re-armed after the check, so a fake clock's waiter knows the
			// check is over once the next timer exists.
			tick = n.cfg.Clock.After(n.cfg.CheckEvery)
		}
	}
}

func (n *Notifier) drainEvents() {
	for {
		select {
		case dl := <-n.events:
			n.collect(dl)
		default:
			return
		}
	}
}

// collect keeps dl for the next notice: one sample per session, kind and
// reason, at most MaxSamples; all are counted.
func (n *Notifier) collect(dl service.DeadLetter) {
	n.pendingN++
	if len(n.pending) >= n.cfg.MaxSamples {
		return
	}
	for _, p := range n.pending {
		if p.Item.SessionID == dl.Item.SessionID && p.Item.Kind == dl.Item.Kind && p.Reason == dl.Reason {
			return
		}
	}
	n.pending = append(n.pending, dl)
}

func (n *Notifier) flushDeadLetters(ctx context.Context) {
	now := n.cfg.Clock.Now()
	if n.pendingN == 0 || (!n.lastDead.IsZero() && now.Sub(n.lastDead) < n.cfg.DeadLetterGap) {
		return
	}
	samples := make([]service.DeadLetterSample, len(n.pending))
	for i, dl := range n.pending {
		samples[i] = service.DeadLetterSample{SessionID: dl.Item.SessionID, Kind: dl.Item.Kind, Lane: dl.Item.Lane,
			Reason: dl.Reason, DeadAt: dl.At}
	}
	notice := service.Notice{
		Type:        service.NoticeDeadLetter,
		DeadLetters: n.pendingN,
		Samples:     samples,
		Summary: fmt.Sprintf("%d item(s) dead-lettered: Laravel refused them for good; see GET /deadletters, fix, then POST /deadletters/replay",
			n.pendingN),
	}
	n.pending, n.pendingN, n.lastDead = nil, 0, now
	n.send(ctx, notice)
}

// checkLanes sends lane_stalled when a lane with waiting items has not
// delivered for After, and lane_recovered once it delivers again or empties.
func (n *Notifier) checkLanes(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
	st, err := n.stats.Stats(sctx)
	cancel()
	if err != nil {
		n.log.WarnContext(ctx, "notify: outbox stats", "err", err)
		return
	}
	now := n.cfg.Clock.Now()
	for _, l := range service.Lanes {
		waiting := st.Depth[l]
		if waiting == 0 {
			delete(n.waitingSince, l)
		} else if _, ok := n.waitingSince[l]; !ok {
			n.waitingSince[l] = now
		}
		last := time.Unix(0, n.lastDelivery[l].Load())
		if ws, ok := n.waitingSince[l]; ok && ws.After(last) {
			last = ws
		}
		since := now.Sub(last)
		switch {
		case !n.stalled[l] && waiting > 0 && since >= n.cfg.After:
			n.stalled[l] = true
			n.send(ctx, service.Notice{Type: service.NoticeLaneStalled, Lane: l, Waiting: waiting, StalledS: since.Seconds(),
				Summary: fmt.Sprintf("%s lane delivered nothing for %s while %d item(s) wait; check Laravel (GET /health, gateway log)",
					l, since.Round(time.Second), waiting)})
		case n.stalled[l] && (since < n.cfg.After || waiting == 0):
			n.stalled[l] = false
			n.send(ctx, service.Notice{Type: service.NoticeLaneRecovered, Lane: l, Waiting: waiting,
				Summary: fmt.Sprintf("%s lane delivers again (%d item(s) waiting)", l, waiting)})
		}
	}
}

func (n *Notifier) send(ctx context.Context, notice service.Notice) {
	now := n.cfg.Clock.Now()
	kept := n.sentTimes[:0]
	for _, t := range n.sentTimes {
		if now.Sub(t) < time.Hour {
			kept = append(kept, t)
		}
	}
	n.sentTimes = kept
	if len(n.sentTimes) >= n.cfg.MaxPerHour {
		n.count(notice.Type, service.NoticeSuppressed)
		n.log.WarnContext(ctx, "notice suppressed: rate limit", "type", notice.Type, "max_per_hour", n.cfg.MaxPerHour)
		return
	}
	n.sentTimes = append(n.sentTimes, now)
	notice.ID, notice.Instance, notice.At = noticeID(), n.cfg.Instance, now
	sctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
	err := n.sender.SendNotice(sctx, notice)
	cancel()
	if err != nil {
		n.count(notice.Type, service.NoticeFailed)
		n.log.WarnContext(ctx, "notice not delivered", "type", notice.Type, "id", notice.ID, "err", err)
		return
	}
	n.count(notice.Type, service.NoticeSent)
	n.log.InfoContext(ctx, "notice sent", "type", notice.Type, "id", notice.ID, "lane", notice.Lane, "dead_letters", notice.DeadLetters)
}

func (n *Notifier) count(kind, outcome string) {
	if n.cfg.Observer != nil {
		n.cfg.Observer.Notice(kind, outcome)
	}
}

func noticeID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "ntc_" + hex.EncodeToString(b[:])
}
