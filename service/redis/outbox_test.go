package redis_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/clocktest"
	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/redis"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newOutbox(t testing.TB, rdb goredis.UniversalClient, cfg redis.OutboxConfig) *redis.Outbox {
	t.Helper()
	if cfg.Consumer == "" {
		cfg.Consumer = "c1"
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	ob, err := redis.NewOutbox(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ob
}

func TestOutboxContract(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) service.Outbox {
		return newOutbox(t, redistest.Start(t), redis.OutboxConfig{})
	})
}

func TestOutboxKeysAndDurability(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	if !ob.Durable() || !ob.Healthy() {
		t.Fatalf("durable %v healthy %v", ob.Durable(), ob.Healthy())
	}
	it, err := ob.Add(ctx, outboxtest.Status("s1", service.LaneHigh, t0))
	if err != nil {
		t.Fatal(err)
	}
	// The item is in Redis before Add returns: a fresh client sees it.
	msgs, err := rdb.XRange(ctx, "wagateway:{core}:outbox:high", "-", "+").Result()
	if err != nil || len(msgs) != 1 || msgs[0].ID != it.ID {
		t.Fatalf("stream holds %v, %v; want %s", msgs, err, it.ID)
	}
	groups, err := rdb.XInfoGroups(ctx, "wagateway:{core}:outbox:normal").Result()
	if err != nil || len(groups) != 1 || groups[0].Name != "flushers" {
		t.Fatalf("groups of the normal lane: %v, %v", groups, err)
	}
	// A second instance on the same Redis finds the groups already there.
	newOutbox(t, rdb, redis.OutboxConfig{Consumer: "c2"})
}

// A consumer killed between Claim and Ack loses nothing: after the claim
// timeout another consumer delivers its items.
func TestOutboxItemsSurviveAKilledConsumer(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	dead := newOutbox(t, rdb, redis.OutboxConfig{Consumer: "gw-dead"})
	items := outboxtest.AddN(t, dead, service.LaneHigh, 3)
	outboxtest.SameIDs(t, "claim of the consumer about to die", outboxtest.MustClaim(t, dead, service.LaneHigh, 10), items)
	// gw-dead is killed here: no Ack ever comes.

	other := newOutbox(t, sameDB(t, rdb), redis.OutboxConfig{Consumer: "gw-live", ClaimTimeout: 50 * time.Millisecond})
	late := outboxtest.AddN(t, other, service.LaneHigh, 1)
	outboxtest.SameIDs(t, "before the claim timeout", outboxtest.MustClaim(t, other, service.LaneHigh, 10), late)
	time.Sleep(100 * time.Millisecond) // Redis measures the idle time
	got := outboxtest.MustClaim(t, other, service.LaneHigh, 10)
	outboxtest.SameIDs(t, "after the claim timeout", got, append(items, late...))
	for _, it := range got[:3] {
		if it.Attempts != 2 {
			t.Fatalf("%s taken over: Attempts %d, want 2", it.ID, it.Attempts)
		}
	}
	if err := other.Ack(ctx, service.LaneHigh, outboxtest.IDs(got)...); err != nil {
		t.Fatal(err)
	}
	// The dead consumer, restarted under its name, has nothing left to send.
	if again := outboxtest.MustClaim(t, dead, service.LaneHigh, 10); len(again) != 0 {
		t.Fatalf("delivered twice: %v", outboxtest.IDs(again))
	}
	st, _ := other.Stats(ctx)
	if st.Depth[service.LaneHigh] != 0 {
		t.Fatalf("depth: %d", st.Depth[service.LaneHigh])
	}
}

// A live consumer that keeps claiming (retrying a failed delivery) keeps
// its items: each Claim resets their idle time.
func TestOutboxLiveConsumerKeepsItsItems(t *testing.T) {
	rdb := redistest.Start(t)
	a := newOutbox(t, rdb, redis.OutboxConfig{Consumer: "a"})
	b := newOutbox(t, sameDB(t, rdb), redis.OutboxConfig{Consumer: "b", ClaimTimeout: 200 * time.Millisecond})
	items := outboxtest.AddN(t, a, service.LaneHigh, 2)
	outboxtest.MustClaim(t, a, service.LaneHigh, 10)
	time.Sleep(300 * time.Millisecond) // idle past b's claim timeout…
	outboxtest.SameIDs(t, "a retries", outboxtest.MustClaim(t, a, service.LaneHigh, 10), items)
	// …but a's Claim just renewed them.
	if got := outboxtest.MustClaim(t, b, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("b took a live consumer's items: %v", outboxtest.IDs(got))
	}
}

// Consumers that both live never take each other's items.
func TestOutboxConsumersShareWithoutDuplicates(t *testing.T) {
	rdb := redistest.Start(t)
	a := newOutbox(t, rdb, redis.OutboxConfig{Consumer: "a"})
	b := newOutbox(t, rdb, redis.OutboxConfig{Consumer: "b"})
	items := outboxtest.AddN(t, a, service.LaneNormal, 6)
	gotA := outboxtest.MustClaim(t, a, service.LaneNormal, 4)
	gotB := outboxtest.MustClaim(t, b, service.LaneNormal, 4)
	outboxtest.SameIDs(t, "a", gotA, items[:4])
	outboxtest.SameIDs(t, "b", gotB, items[4:])
	outboxtest.SameIDs(t, "a again", outboxtest.MustClaim(t, a, service.LaneNormal, 10), items[:4])
}

func TestOutboxStatsOldestAge(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	clock := clocktest.New(time.Now())
	ob := newOutbox(t, rdb, redis.OutboxConfig{Clock: clock})
	outboxtest.AddN(t, ob, service.LaneNormal, 2)
	clock.Advance(time.Minute)
	st, err := ob.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if age := st.OldestAge[service.LaneNormal]; age < 59*time.Second || age > 61*time.Second {
		t.Fatalf("oldest age %v, want about 1m", age)
	}
	if st.OldestAge[service.LaneHigh] != 0 || st.Depth[service.LaneNormal] != 2 || st.Buffered != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestOutboxUnreadableEntryIsDeadLettered(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	ob := newOutbox(t, rdb, redis.OutboxConfig{})
	rdb.XAdd(ctx, &goredis.XAddArgs{Stream: "wagateway:{core}:outbox:high", Values: []any{"item", "{not json"}})
	items := outboxtest.AddN(t, ob, service.LaneHigh, 1)
	outboxtest.SameIDs(t, "claim", outboxtest.MustClaim(t, ob, service.LaneHigh, 10), items)
	dead, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 10})
	if err != nil || len(dead) != 1 || dead[0].Reason != "unreadable outbox entry" {
		t.Fatalf("dead letters: %+v, %v", dead, err)
	}
	if n := rdb.XLen(ctx, "wagateway:{core}:outbox:high").Val(); n != 1 {
		t.Fatalf("stream length %d, want 1", n)
	}
}

// sameDB is another client on rdb's database, as a second gateway instance has.
func sameDB(t testing.TB, rdb *goredis.Client) *goredis.Client {
	opts := *rdb.Options()
	c := goredis.NewClient(&opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
