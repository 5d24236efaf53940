package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"wagateway/service"
)

// ClaimFactor × BatchSize is what one flush claims when Config.ClaimMax is 0:
// enough for several full requests per claim.
const ClaimFactor = 20

// Config configures a Flusher. Every setting must be set (the defaults live
// in service/config); Validate names the first one that is not.
type Config struct {
	Mode             service.DeliveryMode
	BatchSize        int           // items per request (BATCH_SIZE)
	BatchInterval    time.Duration // NORMAL lane flush interval (BATCH_INTERVAL)
	PriorityInterval time.Duration // HIGH lane flush interval (PRIORITY_INTERVAL)
	ClaimMax         int           // items one flush claims at a time; 0 means ClaimFactor×BatchSize
	BackoffBase      time.Duration // first retry waits up to this
	BackoffMax       time.Duration // no retry waits longer (unless Laravel's Retry-After says so)

	Clock    service.Clock           // service.SystemClock when nil
	Rand     func() float64          // math/rand/v2's Float64 when nil
	Observer service.FlusherObserver // service.NopFlusherObserver when nil
}

// Validate reports the first unusable field, naming it.
func (c Config) Validate() error {
	switch {
	case !c.Mode.Valid():
		return service.Errorf(service.EINVALID, "delivery mode must be %q or %q, got %q", service.DeliveryModeBatch, service.DeliveryModeDirect, c.Mode)
	case c.BatchSize <= 0:
		return service.Errorf(service.EINVALID, "batch size must be positive, got %d", c.BatchSize)
	case c.BatchInterval <= 0, c.PriorityInterval <= 0:
		return service.Errorf(service.EINVALID, "flush intervals must be positive, got %s and %s", c.BatchInterval, c.PriorityInterval)
	case c.ClaimMax < 0:
		return service.Errorf(service.EINVALID, "claim max must not be negative, got %d", c.ClaimMax)
	case c.BackoffBase <= 0, c.BackoffMax <= 0:
		return service.Errorf(service.EINVALID, "backoff base and max must be positive, got %s and %s", c.BackoffBase, c.BackoffMax)
	}
	return nil
}

// withDeps fills the collaborators left nil and the derived values.
func (c Config) withDeps() Config {
	if c.ClaimMax == 0 {
		c.ClaimMax = ClaimFactor * c.BatchSize
	}
	if c.BackoffMax < c.BackoffBase {
		c.BackoffMax = c.BackoffBase
	}
	if c.Clock == nil {
		c.Clock = service.SystemClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Observer == nil {
		c.Observer = service.NopFlusherObserver{}
	}
	return c
}

// Flusher delivers outbox items to Laravel: one loop per lane claims what
// waits, coalesces it to the newest item per session and kind, sends it in
// requests of at most BatchSize items, and acknowledges items only after
// Laravel answered 2xx. It is the Publisher the session manager writes to.
type Flusher struct {
	cfg     Config
	outbox  service.Outbox
	laravel service.Laravel
	log     *slog.Logger
	lanes   map[service.Lane]*flusherLane

	accepted, requests, sent, superseded atomic.Int64
	failed, retries, deadLettered        atomic.Int64
	lastQR, lastStatus                   atomic.Int64 // unix ms of the last request per kind

	pendingMu sync.Mutex
	pending   map[service.Kind]int // items this instance saw accepted and not yet gone
}

// flusherLane is one lane's loop state.
type flusherLane struct {
	lane     service.Lane
	interval time.Duration
	wake     chan struct{} // a flush is wanted before the interval ends
	// Items of each kind published since the lane's last claim. A request
	// carries one kind, so a full request is ready when one kind reaches
	// BatchSize; counting the lane's total would wake it early to send
	// part-filled requests of both kinds.
	since map[service.Kind]*atomic.Int64

	requests, sent, lastFlush atomic.Int64

	// mu makes flushes of a lane one at a time (Run's loop and FlushAll)
	// and guards the backoff state, which outlives a flush cycle so an
	// outage is not hammered anew every interval.
	mu        sync.Mutex
	failures  int       // consecutive failed tries of this lane's requests
	notBefore time.Time // no request before this
	// failedKeys are idempotency keys of requests that failed and will be
	// sent again: a later cycle resending one is a retry too, though its
	// attempt count starts anew. Cleared on success; bounded.
	failedKeys map[string]struct{}
	// cycleTries counts the failed tries of the current flush cycle.
	cycleTries int
}

// maxFailedKeys bounds flusherLane.failedKeys: past it a resend may count
// as a first try, which only understates retries.
const maxFailedKeys = 256

// New returns a Flusher; Run starts its loops. It fails when cfg is not
// valid (see Config.Validate).
func New(cfg Config, outbox service.Outbox, laravel service.Laravel, logger *slog.Logger) (*Flusher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("flusher config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDeps()
	f := &Flusher{
		cfg:     cfg,
		outbox:  outbox,
		laravel: laravel,
		log:     logger,
		lanes:   make(map[service.Lane]*flusherLane, len(service.Lanes)),
		pending: make(map[service.Kind]int, 2),
	}
	for _, l := range service.Lanes {
		interval := cfg.BatchInterval
		if l == service.LaneHigh {
			interval = cfg.PriorityInterval
		}
		f.lanes[l] = &flusherLane{lane: l, interval: interval, wake: make(chan struct{}, 1),
			since: map[service.Kind]*atomic.Int64{service.KindQR: new(atomic.Int64), service.KindStatus: new(atomic.Int64)}}
	}
	return f, nil
}

var _ service.Publisher = (*Flusher)(nil)

// Publish validates it and adds it to the outbox; once it returns nil the
// item will reach Laravel (durably, when the outbox is). An item without a
// lane gets LaneFor's.
func (f *Flusher) Publish(ctx context.Context, it service.Update) error {
	if it.Lane == "" {
		it.Lane = service.LaneFor(it.Kind, it.Status)
	}
	if err := it.Validate(); err != nil {
		return err
	}
	added, err := f.outbox.Add(ctx, it)
	if err != nil {
		return fmt.Errorf("publish %s: %w", it, err)
	}
	f.accepted.Add(1)
	f.addPending(added.Kind, 1)
	f.log.DebugContext(ctx, "item added", "session_id", added.SessionID, "kind", added.Kind, "lane", added.Lane, "id", added.ID)

	l := f.lanes[added.Lane]
	n := l.since[added.Kind].Add(1)
	if f.cfg.Mode == service.DeliveryModeDirect || n >= int64(f.cfg.BatchSize) {
		select {
		case l.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return nil
}

// Run flushes each lane every interval, or earlier when BatchSize items
// arrived (at once for every item in direct mode), until ctx is done. It
// returns nil when stopped by ctx; what is pending stays in the outbox (call
// FlushAll to deliver it before exiting).
func (f *Flusher) Run(ctx context.Context) error {
	f.log.InfoContext(ctx, "flusher started", "mode", f.cfg.Mode, "batch_size", f.cfg.BatchSize,
		"batch_interval", f.cfg.BatchInterval.String(), "priority_interval", f.cfg.PriorityInterval.String(),
		"durable", f.outbox.Durable())
	var wg sync.WaitGroup
	for _, lane := range service.Lanes {
		l := f.lanes[lane]
		wg.Go(func() { f.runLane(ctx, l) })
	}
	wg.Wait()
	return nil
}

func (f *Flusher) runLane(ctx context.Context, l *flusherLane) {
	tick := f.cfg.Clock.After(l.interval)
	for {
		how := flushDue
		select {
		case <-ctx.Done():
			return
		case <-tick:
			tick = f.cfg.Clock.After(l.interval)
		case <-l.wake:
			if f.cfg.Mode == service.DeliveryModeBatch {
				how = flushFull
			}
		}
		err := f.flushLane(ctx, l, how)
		switch {
		case err == nil, ctx.Err() != nil, errors.Is(err, errFlusherLaravelDown):
			// Failed requests were logged where they failed.
		case errors.Is(err, errFlusherBackingOff):
			f.log.DebugContext(ctx, "flush skipped: backing off", "lane", l.lane)
		default:
			f.log.ErrorContext(ctx, "flush failed", "lane", l.lane, "err", err)
		}
	}
}

// FlushAll delivers everything pending now, lanes in parallel, retrying
// failures with backoff until the outbox is empty or ctx ends (use it on
// SIGTERM with a deadline). What it cannot deliver stays in the outbox.
func (f *Flusher) FlushAll(ctx context.Context) error {
	start := f.cfg.Clock.Now()
	errs := make([]error, len(service.Lanes))
	var wg sync.WaitGroup
	for i, lane := range service.Lanes {
		wg.Go(func() {
			if err := f.flushLane(ctx, f.lanes[lane], flushDrain); err != nil {
				errs[i] = fmt.Errorf("flush %s lane: %w", lane, err)
			}
		})
	}
	wg.Wait()
	err := errors.Join(errs...)
	f.log.InfoContext(ctx, "flush all done", "ms", f.cfg.Clock.Now().Sub(start).Milliseconds(),
		"sent", f.sent.Load(), "dead_lettered", f.deadLettered.Load(), "complete", err == nil)
	return err
}

// Metrics is what GET /metrics/batch shows. Lane depths come from the
// outbox; the per-kind counts (qrBatchSize, statusBatchSize) are what this
// instance accepted and has not yet seen delivered, dead-lettered or
// superseded.
func (f *Flusher) Metrics(ctx context.Context) service.BatchMetrics {
	m := service.BatchMetrics{
		LastFlushQR:     f.lastQR.Load(),
		LastFlushStatus: f.lastStatus.Load(),
		Mode:            f.cfg.Mode,
		Durable:         f.outbox.Durable(),
		Accepted:        f.accepted.Load(),
		Requests:        f.requests.Load(),
		Sent:            f.sent.Load(),
		Superseded:      f.superseded.Load(),
		Failed:          f.failed.Load(),
		Retries:         f.retries.Load(),
		DeadLettered:    f.deadLettered.Load(),
		Lanes:           make(map[service.Lane]service.LaneMetrics, len(service.Lanes)),
	}
	// Retries carry no new event: only first tries count against what was
	// accepted. Never negative: direct mode saves nothing, it costs nothing.
	m.RequestsSaved = max(0, m.Accepted-(m.Requests-m.Retries))
	f.pendingMu.Lock()
	m.QRBatchSize, m.StatusBatchSize = f.pending[service.KindQR], f.pending[service.KindStatus]
	f.pendingMu.Unlock()

	stats, err := f.outbox.Stats(ctx)
	if err != nil {
		f.log.WarnContext(ctx, "outbox stats unavailable for batch metrics", "err", err)
	}
	// The outbox drops superseded updates itself when they are added (so an
	// outage costs one update per session and kind): they count as
	// superseded, and are no longer pending.
	for _, n := range stats.Superseded {
		m.Superseded += int64(n)
	}
	m.QRBatchSize = max(0, m.QRBatchSize-stats.Superseded[service.KindQR])
	m.StatusBatchSize = max(0, m.StatusBatchSize-stats.Superseded[service.KindStatus])
	for _, lane := range service.Lanes {
		l := f.lanes[lane]
		m.Lanes[lane] = service.LaneMetrics{
			Pending:   stats.Depth[lane],
			Requests:  l.requests.Load(),
			Sent:      l.sent.Load(),
			LastFlush: l.lastFlush.Load(),
			OldestMs:  stats.OldestAge[lane].Milliseconds(),
		}
	}
	return m
}

// addPending moves the per-kind pending count, never below zero (items of
// a previous run or another instance were never counted up).
func (f *Flusher) addPending(kind service.Kind, n int) {
	f.pendingMu.Lock()
	defer f.pendingMu.Unlock()
	f.pending[kind] = max(0, f.pending[kind]+n)
}
