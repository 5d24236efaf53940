package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wagateway/service"
)

var (
	// errFlusherLaravelDown ends a flush cycle whose request kept failing:
	// the items stay claimed and the next cycle, after the backoff, goes on.
	errFlusherLaravelDown = errors.New("laravel unavailable, flush cycle stopped")
	// errFlusherBackingOff skips a cycle that comes before the backoff ended.
	errFlusherBackingOff = errors.New("backing off after failures")
	// errFlusherClaimAgain ends a pass after a failed try and its backoff:
	// the next try claims again instead of resending what it holds, which
	// the outbox may have superseded meanwhile (Laravel would get older
	// states when it comes back).
	errFlusherClaimAgain = errors.New("claim again before the next try")
)

const (
	// flusherCycleAttempts is how often one Run cycle tries a request before
	// leaving it to a later cycle; FlushAll keeps trying until its deadline.
	flusherCycleAttempts = 3
	// flusherAckTimeout bounds the Ack or DeadLetter that follows Laravel's
	// answer; it runs even when ctx just ended, or Laravel would get the
	// items again.
	flusherAckTimeout = 5 * time.Second
)

// flushHow is what a flush sends.
type flushHow int

const (
	// flushDue: the interval ended, everything pending goes (once; more
	// while claims come back full).
	flushDue flushHow = iota
	// flushFull: a kind filled a request before the interval ended. Only
	// full requests go; the rest (the other kind's, the filling kind's
	// remainder) waits, claimed, for the interval, where it can still fill
	// up. Sending it too made a storm cost 1.26× the fewest requests.
	flushFull
	// flushDrain: FlushAll, everything until the lane is empty or ctx ends,
	// retrying instead of stopping the cycle.
	flushDrain
)

// flushCycle is one pass over the items one Claim returned.
type flushCycle struct {
	lane  *flusherLane
	drain bool // FlushAll: retry until ctx ends instead of stopping the cycle
	full  bool // flushFull: send full requests only
	// superseded maps a sent item's id to the ids of the older items of its
	// key, acknowledged together with it.
	superseded map[string][]string
}

// flushLane claims and delivers a lane's items as how says.
func (f *Flusher) flushLane(ctx context.Context, l *flusherLane, how flushHow) error {
	drain := how == flushDrain
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cycleTries = 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if wait := l.notBefore.Sub(f.cfg.Clock.Now()); wait > 0 {
			if !drain {
				return errFlusherBackingOff
			}
			if err := f.sleep(ctx, wait); err != nil {
				return err
			}
		}
		// Reset before the claim: what is published while it runs is not in
		// it and must still count toward the next early wake-up.
		for _, n := range l.since {
			n.Store(0)
		}
		items, err := f.outbox.Claim(ctx, l.lane, f.cfg.ClaimMax)
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		if len(items) == 0 {
			return nil
		}
		if err := f.flushItems(ctx, &flushCycle{lane: l, drain: drain, full: how == flushFull}, items); err != nil {
			if errors.Is(err, errFlusherClaimAgain) {
				continue
			}
			return err
		}
		if !drain && len(items) < f.cfg.ClaimMax {
			return nil
		}
	}
}

func (f *Flusher) flushItems(ctx context.Context, c *flushCycle, items []service.Update) error {
	items, err := f.dropUnsendable(ctx, c.lane, items)
	if err != nil {
		return err
	}
	if f.cfg.Mode == service.DeliveryModeDirect {
		// The old behaviour: every event on its own, no coalescing.
		for _, it := range items {
			if err := f.deliver(ctx, c, it.Kind, []service.Update{it}); err != nil {
				return err
			}
		}
		return nil
	}
	// Superseded items are acknowledged with the newest item of their key,
	// once Laravel took it, not before: an item leaves the outbox only when
	// something at least as new reached Laravel. If the newest is refused
	// (dead-lettered), the older ones stay and the next cycle sends the
	// newest of them instead, so Laravel still gets the latest valid state.
	newest, superseded := coalesce(items)
	c.superseded = superseded
	for _, chunk := range chunkByKind(newest, f.cfg.BatchSize) {
		if c.full && len(chunk) < f.cfg.BatchSize {
			continue
		}
		if err := f.deliver(ctx, c, chunk[0].Kind, chunk); err != nil {
			return err
		}
	}
	return nil
}

// dropUnsendable dead-letters items that fail Validate (a corrupt or foreign
// outbox entry) instead of failing every request they would join.
func (f *Flusher) dropUnsendable(ctx context.Context, l *flusherLane, items []service.Update) ([]service.Update, error) {
	ok := items[:0:0]
	for _, it := range items {
		if verr := it.Validate(); verr != nil {
			if err := f.deadLetter(ctx, l, []service.Update{it}, "invalid item: "+service.ErrorMessage(verr)); err != nil {
				return nil, err
			}
			continue
		}
		ok = append(ok, it)
	}
	return ok, nil
}

// deliver sends items (one kind, ≤ BatchSize) as one request under one
// idempotency key, and isolates refused items when Laravel rejects it. A
// request that fails waits out its backoff and returns errFlusherClaimAgain
// (the lane claims again and retries), or ends the cycle after
// flusherCycleAttempts tries (FlushAll keeps on).
func (f *Flusher) deliver(ctx context.Context, c *flushCycle, kind service.Kind, items []service.Update) error {
	l := c.lane
	key := idempotencyKey(kind, items)
	attempt := l.cycleTries
	start := f.cfg.Clock.Now()
	err := f.post(ctx, kind, key, items)
	end := f.cfg.Clock.Now()
	_, resent := l.failedKeys[key]
	f.countRequest(l, kind, end, attempt > 0 || resent)
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // stopping: the items stay in the outbox
	}
	report := service.BatchReport{Lane: l.lane, Kind: kind, Mode: f.cfg.Mode, Items: len(items), Attempt: attempt,
		IdempotencyKey: key, Duration: end.Sub(start), Err: err}
	var de *service.DeliveryError
	if errors.As(err, &de) {
		report.StatusCode = de.StatusCode
	}
	f.cfg.Observer.OnBatch(report)
	if err == nil {
		l.failures, l.notBefore = 0, time.Time{}
		delete(l.failedKeys, key)
		return f.delivered(ctx, c, kind, items, attempt, end.Sub(start))
	}
	f.failed.Add(1)
	delete(l.failedKeys, key)

	if !service.Resent(err, f.cfg.Mode) {
		// Laravel answered and refused these items: it is up.
		l.failures, l.notBefore = 0, time.Time{}
		return f.isolate(ctx, c, kind, items, de)
	}
	l.failures++
	l.cycleTries++
	if l.failedKeys == nil {
		l.failedKeys = map[string]struct{}{}
	}
	if len(l.failedKeys) < maxFailedKeys {
		l.failedKeys[key] = struct{}{}
	}
	wait := backoff(l.failures, f.cfg.BackoffBase, f.cfg.BackoffMax, f.cfg.Rand)
	if de != nil {
		wait = max(wait, de.RetryAfter)
	}
	l.notBefore = end.Add(wait)
	f.log.WarnContext(ctx, "batch failed", "lane", l.lane, "kind", kind, "items", len(items),
		"status", report.StatusCode, "attempt", attempt, "retry_in_ms", wait.Milliseconds(), "err", err)
	if !c.drain && l.cycleTries >= flusherCycleAttempts {
		return errFlusherLaravelDown
	}
	if err := f.sleep(ctx, wait); err != nil {
		return err
	}
	return errFlusherClaimAgain
}

// post is one request to Laravel.
func (f *Flusher) post(ctx context.Context, kind service.Kind, key string, items []service.Update) error {
	if f.cfg.Mode == service.DeliveryModeDirect {
		it := items[0]
		if kind == service.KindQR {
			return f.laravel.PostQR(ctx, key, service.QRUpdate{SessionID: it.SessionID, QR: it.QR, GeneratedAt: it.At})
		}
		return f.laravel.PostStatus(ctx, key, service.StatusUpdate{SessionID: it.SessionID, Status: it.Status, UpdatedAt: it.At})
	}
	var res service.BatchResult
	var err error
	if kind == service.KindQR {
		qrs := make([]service.QRUpdate, len(items))
		for i, it := range items {
			qrs[i] = service.QRUpdate{SessionID: it.SessionID, QR: it.QR, GeneratedAt: it.At}
		}
		res, err = f.laravel.PostQRBatch(ctx, key, qrs)
	} else {
		sts := make([]service.StatusUpdate, len(items))
		for i, it := range items {
			sts[i] = service.StatusUpdate{SessionID: it.SessionID, Status: it.Status, UpdatedAt: it.At}
		}
		res, err = f.laravel.PostStatusBatch(ctx, key, sts)
	}
	if err == nil && (res.Failed > 0 || !res.Success) {
		// A 2xx is Laravel taking responsibility for the batch; it does not
		// say which items it could not store, so there is nothing to resend.
		f.log.WarnContext(ctx, "laravel stored part of a batch", "kind", kind, "items", len(items),
			"success", res.Success, "updated", res.Updated, "failed", res.Failed, "idempotency_key", key)
	}
	return err
}

func (f *Flusher) countRequest(l *flusherLane, kind service.Kind, at time.Time, retry bool) {
	ms := at.UnixMilli()
	f.requests.Add(1)
	l.requests.Add(1)
	l.lastFlush.Store(ms)
	if kind == service.KindQR {
		f.lastQR.Store(ms)
	} else {
		f.lastStatus.Store(ms)
	}
	if retry {
		f.retries.Add(1)
	}
}

// delivered acknowledges items Laravel took, with the items they superseded.
func (f *Flusher) delivered(ctx context.Context, c *flushCycle, kind service.Kind, items []service.Update, attempt int, took time.Duration) error {
	ids := make([]string, 0, len(items))
	superseded := 0
	for _, it := range items {
		ids = append(ids, it.ID)
		older := c.superseded[it.ID]
		ids = append(ids, older...)
		superseded += len(older)
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flusherAckTimeout)
	defer cancel()
	if err := f.outbox.Ack(actx, c.lane.lane, ids...); err != nil {
		// Laravel has them: a later cycle sends them again under the same
		// idempotency key, which Laravel recognises.
		return fmt.Errorf("ack %d delivered items: %w", len(ids), err)
	}
	f.sent.Add(int64(len(items)))
	c.lane.sent.Add(int64(len(items)))
	f.superseded.Add(int64(superseded))
	f.addPending(kind, -len(ids))
	now := f.cfg.Clock.Now()
	for _, it := range items {
		f.cfg.Observer.OnDelivered(it, now.Sub(it.At))
	}
	if f.cfg.Mode == service.DeliveryModeDirect {
		f.log.InfoContext(ctx, "item sent", "lane", c.lane.lane, "kind", kind, "session_id", items[0].SessionID,
			"request_ms", took.Milliseconds(), "retries", attempt)
		return nil
	}
	f.log.InfoContext(ctx, "batch sent", "lane", c.lane.lane, "kind", kind, "items", len(items),
		"request_ms", took.Milliseconds(), "superseded", superseded, "retries", attempt)
	return nil
}

// isolate handles a request Laravel refused: the items a 422 named are
// dead-lettered and the rest resent; without names the batch is halved
// until the bad items are alone, so one bad item never blocks the others.
func (f *Flusher) isolate(ctx context.Context, c *flushCycle, kind service.Kind, items []service.Update, de *service.DeliveryError) error {
	reason := fmt.Sprintf("laravel refused the item: %v", de)
	if len(items) == 1 {
		return f.deadLetter(ctx, c.lane, items, reason)
	}
	if bad, rest := flusherSplitInvalid(items, de.Invalid); len(bad) > 0 {
		if err := f.deadLetter(ctx, c.lane, bad, reason); err != nil {
			return err
		}
		if len(rest) == 0 {
			return nil
		}
		return f.deliver(ctx, c, kind, rest)
	}
	half := len(items) / 2
	f.log.InfoContext(ctx, "splitting refused batch", "lane", c.lane.lane, "kind", kind, "items", len(items), "status", de.StatusCode)
	if err := f.deliver(ctx, c, kind, items[:half]); err != nil {
		return err
	}
	return f.deliver(ctx, c, kind, items[half:])
}

// flusherSplitInvalid separates the items at the indices a 422 named; none
// when an index does not fit items (then the answer is not trusted).
func flusherSplitInvalid(items []service.Update, invalid []int) (bad, rest []service.Update) {
	named := make(map[int]bool, len(invalid))
	for _, i := range invalid {
		if i < 0 || i >= len(items) {
			return nil, nil
		}
		named[i] = true
	}
	for i, it := range items {
		if named[i] {
			bad = append(bad, it)
		} else {
			rest = append(rest, it)
		}
	}
	return bad, rest
}

func (f *Flusher) deadLetter(ctx context.Context, l *flusherLane, items []service.Update, reason string) error {
	now := f.cfg.Clock.Now()
	dead := make([]service.DeadLetter, len(items))
	for i, it := range items {
		dead[i] = service.DeadLetter{Item: it, Reason: reason, At: now}
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flusherAckTimeout)
	defer cancel()
	if err := f.outbox.DeadLetter(actx, l.lane, dead); err != nil {
		return fmt.Errorf("dead-letter %d items: %w", len(items), err)
	}
	f.deadLettered.Add(int64(len(items)))
	for _, dl := range dead {
		f.addPending(dl.Item.Kind, -1)
		f.log.WarnContext(ctx, "item dead-lettered", "lane", l.lane, "kind", dl.Item.Kind,
			"session_id", dl.Item.SessionID, "id", dl.Item.ID, "reason", reason)
		f.cfg.Observer.OnDeadLettered(dl)
	}
	return nil
}

// sleep waits d on the injected clock, or until ctx ends.
func (f *Flusher) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.cfg.Clock.After(d):
		return nil
	}
}
