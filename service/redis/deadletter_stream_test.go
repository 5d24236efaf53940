package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/redis"
)

const deadKey = "wagateway:{core}:deadletter"

// writeDead appends n dead letters straight to the stream (sessions d0…,
// dead at from, from+1s, …), oldest first, and returns their stream ids.
func writeDead(t *testing.T, rdb *goredis.Client, n int, from time.Time) []string {
	t.Helper()
	ctx := context.Background()
	cmds := make([]*goredis.StringCmd, n)
	_, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range n {
			d := service.DeadLetter{Item: outboxtest.Status(fmt.Sprintf("d%d", i), service.LaneNormal, from),
				Reason: "refused", At: from.Add(time.Duration(i) * time.Second)}
			b, err := json.Marshal(d)
			if err != nil {
				return err
			}
			cmds[i] = p.XAdd(ctx, &goredis.XAddArgs{Stream: deadKey, Values: []any{"dead", b}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, c := range cmds {
		ids[i] = c.Val()
	}
	return ids
}

// More dead letters than one read of the stream (500) are all listed, and
// all pruned when they are all past the age limit.
func TestDeadLettersPastOneStreamPage(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	const n = 501
	ids := writeDead(t, rdb, n, t0)

	all, err := ob.DeadLetters(ctx, service.DeadLetterQuery{})
	if err != nil || len(all) != n {
		t.Fatalf("DeadLetters of %d = %d, %v", n, len(all), err)
	}
	if all[0].ID != ids[n-1] || all[n-1].ID != ids[0] {
		t.Fatalf("first and last listed: %s, %s; want %s, %s (newest first)", all[0].ID, all[n-1].ID, ids[n-1], ids[0])
	}
	// An unreadable entry is skipped by the list and pruned by age.
	if err := rdb.XAdd(ctx, &goredis.XAddArgs{Stream: deadKey, Values: []any{"dead", "not json"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if all, err := ob.DeadLetters(ctx, service.DeadLetterQuery{}); err != nil || len(all) != n {
		t.Fatalf("DeadLetters with an unreadable entry = %d, %v; want %d", len(all), err, n)
	}
	evicted, expired, err := ob.PruneDeadLetters(ctx, 10_000, t0.Add(time.Hour))
	if err != nil || evicted != 0 || expired != n+1 {
		t.Fatalf("Prune of %d expired (and one unreadable) = %d evicted, %d expired, %v", n, evicted, expired, err)
	}
	if left := rdb.XLen(ctx, deadKey).Val(); left != 0 {
		t.Fatalf("%d dead letters left after the prune", left)
	}
}

// Prune stops at the first dead letter young enough to keep, even past a
// page of expired ones.
func TestPruneDeadLettersKeepsTheYoungPastAPage(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	writeDead(t, rdb, 503, t0) // dead at t0 … t0+502s
	evicted, expired, err := ob.PruneDeadLetters(ctx, 10_000, t0.Add(501*time.Second))
	if err != nil || evicted != 0 || expired != 501 {
		t.Fatalf("Prune(older than t0+501s) = %d evicted, %d expired, %v; want 0, 501", evicted, expired, err)
	}
	left, err := ob.DeadLetters(ctx, service.DeadLetterQuery{})
	if err != nil || len(left) != 2 || left[0].Item.SessionID != "d502" || left[1].Item.SessionID != "d501" {
		t.Fatalf("left after prune: %d, %v", len(left), err)
	}
	if evicted, expired, err := ob.PruneDeadLetters(ctx, -1, t0); err != nil || evicted != 2 || expired != 0 {
		t.Fatalf("Prune(keep -1) = %d evicted, %d expired, %v; want 2, 0", evicted, expired, err)
	}
}

// Dead-letter ids from users reach Redis only when they are stream ids
// ("ms-seq", up to 20 digits each).
func TestDeadLetterIDsMustBeStreamIDs(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	ids := writeDead(t, rdb, 1, t0)
	for _, id := range []string{"10-0", "9-9", "18446744073709551615-0", "1-18446744073709551615"} {
		if _, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Before: id}); err != nil {
			t.Errorf("DeadLetters(before %q): %v, want it accepted", id, err)
		}
	}
	for _, id := range []string{"", "-", "1-", "-1", "/-0", ":-0", "0-/", "0-:", "a-0", "1-1-1", "123456789012345678901-0", "0-123456789012345678901"} {
		_, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Before: id})
		if id == "" {
			continue // no bound
		}
		if service.ErrorCode(err) != service.EINVALID {
			t.Errorf("DeadLetters(before %q): %v, want EINVALID", id, err)
		}
	}
	// By id: the bad ones are ignored, the good one found.
	got, err := ob.DeadLetters(ctx, service.DeadLetterQuery{IDs: []string{"/-0", ids[0], "x"}})
	if err != nil || len(got) != 1 || got[0].ID != ids[0] {
		t.Fatalf("DeadLetters(ids) = %+v, %v", got, err)
	}
	if n, err := ob.DeleteDeadLetters(ctx, "/-0", ":-9", ""); err != nil || n != 0 {
		t.Fatalf("DeleteDeadLetters of no stream id = %d, %v", n, err)
	}
	if n, err := ob.DeleteDeadLetters(ctx, ids[0]); err != nil || n != 1 {
		t.Fatalf("DeleteDeadLetters(%s) = %d, %v", ids[0], n, err)
	}
}

// Redis that lost the consumer groups (restarted empty, flushed) gets them
// back at the next Claim, which then delivers what was added since.
func TestClaimRecreatesLostConsumerGroups(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	it, err := ob.Add(ctx, outboxtest.Status("s1", service.LaneHigh, t0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ob.Claim(ctx, service.LaneHigh, 10)
	if err != nil || len(got) != 1 || got[0].ID != it.ID {
		t.Fatalf("Claim after the groups were lost = %+v, %v; want %s", got, err, it.ID)
	}
	if !ob.Healthy() {
		t.Fatal("a lost group marked Redis down")
	}
}
