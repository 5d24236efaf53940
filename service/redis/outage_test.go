package redis_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/redis"
)

// redisProcess is a redis-server of the test's own, to kill and restart on
// the same port (with its append-only file, as a production Redis would).
type redisProcess struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedisProcess(t *testing.T) *redisProcess {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("outage tests need redis-server on PATH: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &redisProcess{t: t, port: l.Addr().(*net.TCPAddr).Port, dir: t.TempDir()}
	_ = l.Close()
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *redisProcess) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func (p *redisProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command("redis-server", "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", p.dir)
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start redis-server: %v", err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: p.addr(), MaxRetries: -1})
	defer c.Close()
	for i := 0; ; i++ {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return
		} else if i == 200 {
			p.t.Fatalf("redis-server on %d not answering: %v", p.port, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// kill ends the server as a crash would.
func (p *redisProcess) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

func outageClient(t *testing.T, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1,
		DialTimeout: 300 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// While Redis is away, items are accepted into memory and delivered from
// there; when it returns they are written to it. None is lost, none is
// delivered twice, and dead letters of the outage reach Redis too.
func TestOutboxRedisOutage(t *testing.T) {
	ctx := context.Background()
	srv := startRedisProcess(t)
	rdb := outageClient(t, srv.addr())
	clock := clocktest.New(time.Now())
	ob := newOutbox(t, rdb, redis.OutboxConfig{Clock: clock, ProbeInterval: time.Second})
	add := func(id string) service.Update {
		t.Helper()
		it, err := ob.Add(ctx, outboxtest.Status(id, service.LaneHigh, clock.Now()))
		if err != nil {
			t.Fatalf("Add %s: %v", id, err)
		}
		return it
	}
	add("a1")

	srv.kill()
	b1, b2, b3 := add("b1"), add("b2"), add("b3")
	if ob.Healthy() || !strings.HasPrefix(b1.ID, "mem-") {
		t.Fatalf("healthy %v during the outage; id %q", ob.Healthy(), b1.ID)
	}
	st, err := ob.Stats(ctx)
	if err != nil || st.Buffered != 3 || st.Depth[service.LaneHigh] != 3 {
		t.Fatalf("stats during the outage: %+v, %v", st, err)
	}
	// Delivery goes on from memory.
	outboxtest.SameIDs(t, "claim during the outage", outboxtest.MustClaim(t, ob, service.LaneHigh, 10), []service.Update{b1, b2, b3})
	if err := ob.Ack(ctx, service.LaneHigh, b1.ID); err != nil {
		t.Fatalf("Ack of a buffered item: %v", err)
	}
	if err := ob.DeadLetter(ctx, service.LaneHigh, []service.DeadLetter{{Item: b2, Reason: "422 bad"}}); err != nil {
		t.Fatalf("DeadLetter of a buffered item: %v", err)
	}
	// b3 was not acknowledged: a failed delivery, retried later.
	add("b4")
	clock.Advance(2 * time.Second)
	add("b5") // probes Redis, still down
	if ob.Healthy() || ob.Buffered() != 3 {
		t.Fatalf("healthy %v, buffered %d", ob.Healthy(), ob.Buffered())
	}

	srv.start()
	clock.Advance(2 * time.Second)
	got := outboxtest.MustClaim(t, ob, service.LaneHigh, 10)
	if !ob.Healthy() || ob.Buffered() != 0 {
		t.Fatalf("after recovery: healthy %v, buffered %d", ob.Healthy(), ob.Buffered())
	}
	var sessions []string
	for _, it := range got {
		if strings.HasPrefix(it.ID, "mem-") {
			t.Fatalf("%s still claimed from memory after recovery", it.ID)
		}
		sessions = append(sessions, it.SessionID)
	}
	if fmt.Sprint(sessions) != "[a1 b3 b4 b5]" {
		t.Fatalf("claimed after recovery: %v, want [a1 b3 b4 b5]", sessions)
	}
	if err := ob.Ack(ctx, service.LaneHigh, outboxtest.IDs(got)...); err != nil {
		t.Fatal(err)
	}
	if again := outboxtest.MustClaim(t, ob, service.LaneHigh, 10); len(again) != 0 {
		t.Fatalf("delivered twice: %v", again)
	}
	dead, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 10})
	if err != nil || len(dead) != 1 || dead[0].Item.SessionID != "b2" || dead[0].Reason != "422 bad" {
		t.Fatalf("dead letters: %+v, %v", dead, err)
	}
	if n := rdb.XLen(ctx, "wagateway:{core}:deadletter").Val(); n != 1 {
		t.Fatalf("dead letters in redis: %d", n)
	}
	st, err = ob.Stats(ctx)
	if err != nil || st.Depth[service.LaneHigh] != 0 || st.Buffered != 0 || st.DeadLettered != 1 {
		t.Fatalf("stats after recovery: %+v, %v", st, err)
	}
}

// Items claimed from Redis whose Ack fails in an outage come back after it.
func TestOutboxAckDuringOutage(t *testing.T) {
	ctx := context.Background()
	srv := startRedisProcess(t)
	rdb := outageClient(t, srv.addr())
	clock := clocktest.New(time.Now())
	ob := newOutbox(t, rdb, redis.OutboxConfig{Clock: clock})
	items := outboxtest.AddN(t, ob, service.LaneNormal, 2)
	outboxtest.MustClaim(t, ob, service.LaneNormal, 10)
	srv.kill()
	err := ob.Ack(ctx, service.LaneNormal, outboxtest.IDs(items)...)
	if service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("Ack with Redis down: %v, want EUNAVAILABLE", err)
	}
	srv.start()
	if err := ob.Ping(ctx); err != nil || !ob.Healthy() {
		t.Fatalf("Ping after restart: %v (healthy %v)", err, ob.Healthy())
	}
	outboxtest.SameIDs(t, "claim after the outage", outboxtest.MustClaim(t, ob, service.LaneNormal, 10), items)
}

func TestOutboxBufferIsBounded(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there any more
	ob := newOutbox(t, outageClient(t, addr), redis.OutboxConfig{BufferSize: 2, Clock: clocktest.New(time.Now())})
	if ob.Healthy() {
		t.Fatal("healthy without a Redis")
	}
	items := outboxtest.AddN(t, ob, service.LaneHigh, 2)
	_, err = ob.Add(ctx, outboxtest.Status("s9", service.LaneHigh, time.Now()))
	if service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("Add to a full buffer: %v, want EUNAVAILABLE", err)
	}
	outboxtest.SameIDs(t, "claim", outboxtest.MustClaim(t, ob, service.LaneHigh, 10), items)
	if err := ob.Ping(ctx); err == nil {
		t.Fatal("Ping without a Redis succeeded")
	}
	st, err := ob.Stats(ctx)
	if err != nil || st.Buffered != 2 {
		t.Fatalf("stats: %+v, %v", st, err)
	}
}

// Producers keep adding while Redis crashes and comes back; a flusher-like
// loop claims and acknowledges throughout. Every item is delivered.
func TestOutboxOutageUnderLoad(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startRedisProcess(t)
	rdb := outageClient(t, srv.addr())
	ob := newOutbox(t, rdb, redis.OutboxConfig{ProbeInterval: 20 * time.Millisecond})

	const producers, each = 4, 150
	added := make(chan string, producers*each)
	errs := make(chan error, producers)
	var buffered atomic.Int64
	for p := range producers {
		go func() {
			for i := range each {
				id := fmt.Sprintf("p%d_%d", p, i)
				it, err := ob.Add(ctx, outboxtest.Status(id, service.LaneHigh, time.Now()))
				if err != nil {
					errs <- err
					return
				}
				if strings.HasPrefix(it.ID, "mem-") {
					buffered.Add(1)
				}
				added <- id
				time.Sleep(2 * time.Millisecond)
			}
			errs <- nil
		}()
	}
	delivered := map[string]int{}
	consume := func() {
		got, err := ob.Claim(ctx, service.LaneHigh, 50)
		if err != nil {
			return // an outage that began mid-call; the next Claim retries
		}
		for _, it := range got {
			delivered[it.SessionID]++ // "sent to Laravel"
		}
		// An Ack that fails in the crash means these come again.
		_ = ob.Ack(ctx, service.LaneHigh, outboxtest.IDs(got)...)
	}
	outageDone := make(chan struct{})
	go func() {
		defer close(outageDone)
		time.Sleep(100 * time.Millisecond)
		srv.kill()
		time.Sleep(200 * time.Millisecond)
		srv.start()
	}()
	for finished := 0; finished < producers; {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
			finished++
		default:
			consume()
			time.Sleep(5 * time.Millisecond)
		}
	}
	<-outageDone
	for deadline := time.Now().Add(10 * time.Second); len(delivered) < producers*each && time.Now().Before(deadline); {
		consume()
		time.Sleep(10 * time.Millisecond)
	}
	close(added)
	dups := 0
	for id := range added {
		switch n := delivered[id]; {
		case n == 0:
			t.Errorf("%s lost", id)
		case n > 1:
			dups++
		}
	}
	t.Logf("%d items, %d buffered in the outage, %d delivered more than once (an Ack or a reply lost in the crash)",
		producers*each, buffered.Load(), dups)
	if buffered.Load() == 0 {
		t.Fatal("no item was added during the outage: the test proved nothing")
	}
	if !ob.Healthy() || ob.Buffered() != 0 {
		t.Fatalf("after the outage: healthy %v, buffered %d", ob.Healthy(), ob.Buffered())
	}
}
