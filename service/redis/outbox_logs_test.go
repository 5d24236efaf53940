package redis_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/clocktest"
	"wagateway/internal/logtest"
	"wagateway/internal/redistest"
	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/redis"
)

// countLines counts the log lines whose message is msg.
func countLines(logs, msg string) int {
	return strings.Count(logs, `"msg":"`+msg+`"`)
}

// The outbox logs an outage once when it starts and once when it ends,
// and nothing above info while Redis answers.
func TestOutboxLogsEachOutageOnce(t *testing.T) {
	ctx := context.Background()
	srv := startRedisProcess(t)
	clock := clocktest.New(time.Now())
	logs := &logtest.Buffer{}
	ob := newOutbox(t, outageClient(t, srv.addr()), redis.OutboxConfig{Clock: clock,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	items := outboxtest.AddN(t, ob, service.LaneHigh, 2)
	outboxtest.SameIDs(t, "claim", outboxtest.MustClaim(t, ob, service.LaneHigh, 10), items)
	if err := ob.Ack(ctx, service.LaneHigh, outboxtest.IDs(items)...); err != nil {
		t.Fatal(err)
	}
	if l := logs.String(); strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
		t.Fatalf("warnings while Redis answers:\n%s", l)
	}

	srv.kill()
	for range 3 { // three calls fail; one outage
		outboxtest.AddN(t, ob, service.LaneHigh, 1)
		clock.Advance(2 * time.Second)
	}
	if _, err := ob.Stats(ctx); err != nil {
		t.Fatal(err)
	}
	srv.start()
	clock.Advance(2 * time.Second)
	if got := outboxtest.MustClaim(t, ob, service.LaneHigh, 10); len(got) != 3 {
		t.Fatalf("claimed %d after the outage, want the 3 buffered", len(got))
	}
	l := logs.String()
	if n := countLines(l, "redis unreachable; outbox items are buffered in memory (not durable) until it returns"); n != 1 {
		t.Errorf("%d outage warnings, want 1:\n%s", n, l)
	}
	if n := countLines(l, "redis reachable again; outbox back on redis"); n != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", n, l)
	}
	if strings.Contains(l, `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", l)
	}
}

// An unreadable stream entry is logged once, as dead-lettered; its dead
// letter's write succeeds, so no failure is logged.
func TestUnreadableEntryLoggedOnce(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	logs := &logtest.Buffer{}
	ob := newOutbox(t, rdb, redis.OutboxConfig{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err := rdb.XAdd(ctx, &goredis.XAddArgs{Stream: "wagateway:{core}:outbox:high", Values: []any{"item", "{not json"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if got := outboxtest.MustClaim(t, ob, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("claimed %v, want nothing readable", outboxtest.IDs(got))
	}
	l := logs.String()
	if countLines(l, "unreadable outbox entries dead-lettered") != 1 || strings.Contains(l, "dead-lettering unreadable entries failed") {
		t.Fatalf("log, want one dead-lettered line and no failure:\n%s", l)
	}
}
