package redis_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"wagateway/internal/clocktest"
	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/redis"
)

// downOutbox is an outbox whose Redis never answers (nothing listens on
// its address): every call works on the outage buffer.
func downOutbox(t *testing.T, cfg redis.OutboxConfig) *redis.Outbox {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	if cfg.Clock == nil {
		cfg.Clock = clocktest.New(time.Now())
	}
	ob := newOutbox(t, outageClient(t, addr), cfg)
	if ob.Healthy() {
		t.Fatal("healthy without a Redis")
	}
	return ob
}

// Buffered items get ids that grow with each Add, as stream ids do: on a
// tie of event times the later add is the newer update.
func TestOutageBufferIDsGrowWithEachAdd(t *testing.T) {
	ctx := context.Background()
	ob := downOutbox(t, redis.OutboxConfig{})
	at := time.Now()
	var items []service.Update
	for _, id := range []string{"a", "b", "c"} {
		it, err := ob.Add(ctx, outboxtest.Status(id, service.LaneHigh, at))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	for i := 1; i < len(items); i++ {
		if service.CompareIDs(items[i-1].ID, items[i].ID) >= 0 {
			t.Fatalf("buffered ids %s then %s: the later add must sort after", items[i-1].ID, items[i].ID)
		}
		if !items[i].Newer(items[i-1]) {
			t.Fatalf("%s (added later, same event time) is not newer than %s", items[i].ID, items[i-1].ID)
		}
	}
}

// Dead letters kept in memory during an outage are listed, newest first,
// before Redis's; a page they fill needs no Redis, a longer one says it is
// unavailable along with what it has.
func TestOutageBufferListsItsDeadLetters(t *testing.T) {
	ctx := context.Background()
	ob := downOutbox(t, redis.OutboxConfig{})
	items := outboxtest.AddN(t, ob, service.LaneNormal, 3)
	outboxtest.MustClaim(t, ob, service.LaneNormal, 10)
	for i, it := range items {
		if err := ob.DeadLetter(ctx, service.LaneNormal, []service.DeadLetter{{Item: it, Reason: "refused"}}); err != nil {
			t.Fatalf("DeadLetter %d during the outage: %v", i, err)
		}
	}
	sessions := func(dead []service.DeadLetter) []string {
		var out []string
		for _, d := range dead {
			out = append(out, d.Item.SessionID)
		}
		return out
	}
	want := []string{items[2].SessionID, items[1].SessionID, items[0].SessionID}

	all, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 10})
	if service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("DeadLetters past what memory holds: %v, want EUNAVAILABLE", err)
	}
	if got := sessions(all); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("dead letters during the outage: %v, want %v (newest first)", got, want)
	}
	page, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 2})
	if err != nil {
		t.Fatalf("a page the buffer fills: %v", err)
	}
	if got := sessions(page); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("first page of 2: %v, want %v", got, want[:2])
	}
	one, err := ob.DeadLetters(ctx, service.DeadLetterQuery{SessionID: items[1].SessionID, Limit: 10})
	if got := sessions(one); len(got) != 1 || got[0] != items[1].SessionID {
		t.Fatalf("dead letters of %s: %v, %v", items[1].SessionID, got, err)
	}
	st, err := ob.Stats(ctx)
	if err != nil || st.DeadLettered != 3 || st.Buffered != 0 {
		t.Fatalf("stats: %+v, %v; want 3 dead letters, nothing buffered", st, err)
	}
}

// During an outage Redis is probed at most once per ProbeInterval (1 s by
// default): calls in between go to the buffer without touching the
// network, and the first call a full interval after the failure finds
// Redis back.
func TestOutageProbesRedisOncePerInterval(t *testing.T) {
	ctx := context.Background()
	srv := startRedisProcess(t)
	clock := clocktest.New(time.Now())
	ob := newOutbox(t, outageClient(t, srv.addr()), redis.OutboxConfig{Clock: clock})
	add := func(id string) service.Update {
		t.Helper()
		it, err := ob.Add(ctx, outboxtest.Status(id, service.LaneHigh, clock.Now()))
		if err != nil {
			t.Fatalf("Add %s: %v", id, err)
		}
		return it
	}
	srv.kill()
	if it := add("a"); !strings.HasPrefix(it.ID, "mem-") || ob.Healthy() {
		t.Fatalf("Add with Redis down: id %q, healthy %v", it.ID, ob.Healthy())
	}
	srv.start()
	clock.Advance(time.Second - time.Millisecond)
	if it := add("b"); !strings.HasPrefix(it.ID, "mem-") || ob.Healthy() {
		t.Fatalf("Add within the probe interval: id %q, healthy %v; want buffered without probing", it.ID, ob.Healthy())
	}
	clock.Advance(time.Millisecond)
	if it := add("c"); strings.HasPrefix(it.ID, "mem-") || !ob.Healthy() {
		t.Fatalf("Add one probe interval after the failure: id %q, healthy %v; want it in Redis", it.ID, ob.Healthy())
	}
	if n := ob.Buffered(); n != 2 {
		t.Fatalf("buffered %d, want a and b until their lane's next Claim", n)
	}
}

// A Claim that finds Redis gone turns to the buffer (empty here) instead
// of failing, and marks the outage.
func TestClaimWhenRedisDiesTurnsToTheBuffer(t *testing.T) {
	ctx := context.Background()
	srv := startRedisProcess(t)
	ob := newOutbox(t, outageClient(t, srv.addr()), redis.OutboxConfig{Clock: clocktest.New(time.Now())})
	outboxtest.AddN(t, ob, service.LaneHigh, 1)
	srv.kill()
	got, err := ob.Claim(ctx, service.LaneHigh, 10)
	if err != nil || len(got) != 0 || ob.Healthy() {
		t.Fatalf("Claim with Redis gone = %v, %v (healthy %v); want nothing, no error, the outage marked", got, err, ob.Healthy())
	}
}

// Claim of 0 items hands out nothing, not even this consumer's pending ones.
func TestClaimOfZeroLeavesPendingItems(t *testing.T) {
	ctx := context.Background()
	ob := newOutbox(t, redistest.Start(t), redis.OutboxConfig{})
	items := outboxtest.AddN(t, ob, service.LaneNormal, 2)
	outboxtest.SameIDs(t, "first claim", outboxtest.MustClaim(t, ob, service.LaneNormal, 10), items)
	if got, err := ob.Claim(ctx, service.LaneNormal, 0); err != nil || len(got) != 0 {
		t.Fatalf("Claim(0) = %v, %v; want nothing", outboxtest.IDs(got), err)
	}
}

// An item claimed from the buffer during an outage and refused by Laravel
// after Redis came back is dead-lettered into Redis at once.
func TestBufferedItemDeadLetteredAfterRecovery(t *testing.T) {
	ctx := context.Background()
	srv := startRedisProcess(t)
	ob := newOutbox(t, outageClient(t, srv.addr()), redis.OutboxConfig{Clock: clocktest.New(time.Now())})
	srv.kill()
	it, err := ob.Add(ctx, outboxtest.Status("s1", service.LaneHigh, time.Now()))
	if err != nil || !strings.HasPrefix(it.ID, "mem-") {
		t.Fatalf("Add during the outage = %+v, %v", it, err)
	}
	claimed := outboxtest.MustClaim(t, ob, service.LaneHigh, 10)
	srv.start()
	if err := ob.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	if err := ob.DeadLetter(ctx, service.LaneHigh, []service.DeadLetter{{Item: claimed[0], Reason: "422"}}); err != nil {
		t.Fatalf("DeadLetter of a buffered item once Redis is back: %v", err)
	}
	dead, err := ob.DeadLetters(ctx, service.DeadLetterQuery{})
	if err != nil || len(dead) != 1 || dead[0].ID == "" || dead[0].Item.SessionID != "s1" {
		t.Fatalf("dead letters = %+v, %v; want s1's, stored in Redis", dead, err)
	}
	if ob.Buffered() != 0 {
		t.Fatalf("%d items still buffered", ob.Buffered())
	}
}

// A buffered item's dead letter whose write to Redis fails (Redis went
// away again) is kept in memory, not lost.
func TestBufferedDeadLetterKeptWhenItsWriteFails(t *testing.T) {
	ctx := context.Background()
	srv := startRedisProcess(t)
	clock := clocktest.New(time.Now())
	ob := newOutbox(t, outageClient(t, srv.addr()), redis.OutboxConfig{Clock: clock})
	srv.kill()
	if _, err := ob.Add(ctx, outboxtest.Status("s1", service.LaneHigh, time.Now())); err != nil {
		t.Fatal(err)
	}
	claimed := outboxtest.MustClaim(t, ob, service.LaneHigh, 10)
	srv.start()
	if err := ob.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	srv.kill() // gone again before the dead letter is written
	err := ob.DeadLetter(ctx, service.LaneHigh, []service.DeadLetter{{Item: claimed[0], Reason: "422"}})
	if service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("DeadLetter with Redis gone: %v, want EUNAVAILABLE", err)
	}
	dead, _ := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 1})
	if len(dead) != 1 || dead[0].Item.SessionID != "s1" || dead[0].Reason != "422" {
		t.Fatalf("dead letters in memory = %+v; want s1's, kept until Redis returns", dead)
	}
	// Redis returns: the next Claim writes the kept dead letter, though no
	// item waits in the buffer.
	srv.start()
	clock.Advance(2 * time.Second)
	if got := outboxtest.MustClaim(t, ob, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("claimed %v, want nothing", outboxtest.IDs(got))
	}
	dead, err = ob.DeadLetters(ctx, service.DeadLetterQuery{})
	if err != nil || len(dead) != 1 || dead[0].ID == "" || dead[0].Item.SessionID != "s1" {
		t.Fatalf("dead letters after the outage = %+v, %v; want s1's, stored in Redis", dead, err)
	}
}

// During an outage Stats answers from the buffer alone, without an error,
// with each lane's oldest buffered item's age; a Stats call that finds
// Redis gone marks the outage instead of failing.
func TestOutageStatsFromTheBuffer(t *testing.T) {
	ctx := context.Background()
	srv := startRedisProcess(t)
	clock := clocktest.New(time.Now())
	ob := newOutbox(t, outageClient(t, srv.addr()), redis.OutboxConfig{Clock: clock})
	srv.kill()
	st, err := ob.Stats(ctx)
	if err != nil || ob.Healthy() {
		t.Fatalf("Stats as Redis goes away: %+v, %v (healthy %v); want the buffer's, no error, the outage marked", st, err, ob.Healthy())
	}
	outboxtest.AddN(t, ob, service.LaneNormal, 2)
	clock.Advance(5 * time.Second)
	st, err = ob.Stats(ctx)
	if err != nil || st.Buffered != 2 || st.Depth[service.LaneNormal] != 2 || st.Depth[service.LaneHigh] != 0 {
		t.Fatalf("Stats during the outage = %+v, %v", st, err)
	}
	if st.OldestAge[service.LaneNormal] != 5*time.Second || st.OldestAge[service.LaneHigh] != 0 {
		t.Fatalf("oldest ages during the outage = %v; want normal 5s, high 0", st.OldestAge)
	}
}
