package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/sqlite"
)

func newOutbox(t testing.TB, db *sqlite.DB, cfg sqlite.OutboxConfig) *sqlite.Outbox {
	t.Helper()
	ob, err := sqlite.NewOutbox(context.Background(), db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ob
}

func TestOutboxContract(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) service.Outbox {
		return newOutbox(t, open(t, "", newClock()), sqlite.OutboxConfig{})
	})
}

// What Add accepted is in the file: a fresh open of the directory (a
// restart) claims it, with the attempts already made.
func TestOutboxItemsSurviveAReopen(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, newClock())
	ob := newOutbox(t, db, sqlite.OutboxConfig{})
	if !ob.Durable() {
		t.Fatal("sqlite outbox says it is not durable")
	}
	items := outboxtest.AddN(t, ob, service.LaneHigh, 3)
	outboxtest.AddN(t, ob, service.LaneNormal, 2)
	outboxtest.MustClaim(t, ob, service.LaneHigh, 10)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	again := newOutbox(t, open(t, dir, newClock()), sqlite.OutboxConfig{})
	got := outboxtest.MustClaim(t, again, service.LaneHigh, 10)
	outboxtest.SameIDs(t, "after reopen", got, items)
	for i, it := range got {
		if it.SessionID != items[i].SessionID || !it.At.Equal(items[i].At) || it.Attempts != 2 {
			t.Fatalf("reopened item %+v, added %+v (want Attempts 2)", it, items[i])
		}
	}
	st, err := again.Stats(context.Background())
	if err != nil || st.Depth[service.LaneHigh] != 3 || st.Depth[service.LaneNormal] != 2 {
		t.Fatalf("stats after reopen: %+v, %v", st, err)
	}
	// New ids keep increasing past the old ones.
	next := outboxtest.AddN(t, again, service.LaneHigh, 1)[0]
	if service.CompareIDs(next.ID, items[2].ID) <= 0 {
		t.Fatalf("id %s after reopen is not after %s", next.ID, items[2].ID)
	}
}

// A consumer that stopped acknowledging loses its items to another one
// after the claim timeout, as with Redis; one that keeps claiming keeps them.
func TestOutboxClaimTimeout(t *testing.T) {
	clock := newClock()
	db := open(t, "", clock)
	a := newOutbox(t, db, sqlite.OutboxConfig{Consumer: "a"})
	b := newOutbox(t, db, sqlite.OutboxConfig{Consumer: "b", ClaimTimeout: 10 * time.Second})
	items := outboxtest.AddN(t, a, service.LaneHigh, 3)
	outboxtest.SameIDs(t, "a claims", outboxtest.MustClaim(t, a, service.LaneHigh, 10), items)
	clock.Advance(9 * time.Second)
	if got := outboxtest.MustClaim(t, b, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("b took items before the claim timeout: %v", outboxtest.IDs(got))
	}
	outboxtest.MustClaim(t, a, service.LaneHigh, 10) // a retries: its claim is renewed
	clock.Advance(9 * time.Second)
	if got := outboxtest.MustClaim(t, b, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("b took a live consumer's items: %v", outboxtest.IDs(got))
	}
	clock.Advance(2 * time.Second) // a has gone quiet for 11 s
	got := outboxtest.MustClaim(t, b, service.LaneHigh, 10)
	outboxtest.SameIDs(t, "b after the claim timeout", got, items)
	if got[0].Attempts != 3 {
		t.Fatalf("taken-over item: Attempts %d, want 3", got[0].Attempts)
	}
	if err := b.Ack(context.Background(), service.LaneHigh, outboxtest.IDs(got)...); err != nil {
		t.Fatal(err)
	}
	if again := outboxtest.MustClaim(t, a, service.LaneHigh, 10); len(again) != 0 {
		t.Fatalf("delivered twice: %v", outboxtest.IDs(again))
	}
}

// Concurrent Adds share transactions, and each still gets its own id and
// only returns once its item is stored.
func TestOutboxConcurrentAddsAllStored(t *testing.T) {
	ctx := context.Background()
	ob := newOutbox(t, open(t, "", newClock()), sqlite.OutboxConfig{})
	const writers, each = 8, 100
	ids := make(chan string, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				it, err := ob.Add(ctx, outboxtest.Status(fmt.Sprintf("w%d-%d", w, i), service.LaneNormal, t0))
				if err != nil {
					t.Error(err)
					return
				}
				ids <- it.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("id %s given twice", id)
		}
		seen[id] = true
	}
	st, err := ob.Stats(ctx)
	if err != nil || st.Depth[service.LaneNormal] != writers*each || len(seen) != writers*each {
		t.Fatalf("stored %d, ids %d, want %d (%v)", st.Depth[service.LaneNormal], len(seen), writers*each, err)
	}
}

func TestOutboxDeadLettersAreCapped(t *testing.T) {
	ctx := context.Background()
	ob := newOutbox(t, open(t, "", newClock()), sqlite.OutboxConfig{DeadLetterCap: 3})
	items := outboxtest.AddN(t, ob, service.LaneNormal, 5)
	for _, it := range items {
		if err := ob.DeadLetter(ctx, service.LaneNormal, []service.DeadLetter{{Item: it, Reason: "422"}}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 10})
	if err != nil || len(list) != 3 || list[0].Item.ID != items[4].ID || list[2].Item.ID != items[2].ID {
		t.Fatalf("dead letters: %+v, %v", list, err)
	}
	if !list[0].At.Equal(t0) {
		t.Fatalf("dead letter without a time got %v, want the clock's %v", list[0].At, t0)
	}
}

// An entry that is no item (damage, a future version) is moved to the
// dead letters instead of blocking its lane.
func TestOutboxUnreadableRowIsDeadLettered(t *testing.T) {
	ctx := context.Background()
	db := open(t, "", newClock())
	ob := newOutbox(t, db, sqlite.OutboxConfig{})
	id, err := sqlite.AddRawItem(db, service.LaneHigh, []byte("not json"))
	if err != nil {
		t.Fatal(err)
	}
	items := outboxtest.AddN(t, ob, service.LaneHigh, 1)
	outboxtest.SameIDs(t, "claim", outboxtest.MustClaim(t, ob, service.LaneHigh, 10), items)
	list, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 10})
	if err != nil || len(list) != 1 || list[0].Item.ID != strconv.FormatInt(id, 10) || list[0].Reason != "unreadable outbox entry" {
		t.Fatalf("dead letters: %+v, %v", list, err)
	}
}

// TestOutboxSurvivesKill9 runs a child process that claims items and is
// killed with SIGKILL before it acknowledges them: the parent then opens
// the same directory (the kernel dropped the child's lock) and gets every
// item back. While the child lives, the directory is refused.
func TestOutboxSurvivesKill9(t *testing.T) {
	if os.Getenv("SQLITE_CHILD_DIR") != "" {
		t.Skip("child side runs in TestChildHoldsClaims")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildHoldsClaims$", "-test.v")
	cmd.Env = append(os.Environ(), "SQLITE_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	var ids string
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "claimed "); ok {
			ids = rest
			break
		}
	}
	if ids == "" {
		t.Fatalf("child never claimed: %v", lines.Err())
	}

	_, err = sqlite.Open(ctx, sqlite.Config{Dir: dir})
	if service.ErrorCode(err) != service.ECONFLICT || !strings.Contains(err.Error(), fmt.Sprintf("process %d", cmd.Process.Pid)) {
		t.Fatalf("Open while the child holds the directory: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// The restarted gateway has another consumer name (INSTANCE_ID is
	// host-pid): the dead one's claims are released at open, no timeout.
	ob := newOutbox(t, open(t, dir, nil), sqlite.OutboxConfig{Consumer: "restarted"})
	got := outboxtest.MustClaim(t, ob, service.LaneHigh, 100)
	if fmt.Sprint(outboxtest.IDs(got)) != ids {
		t.Fatalf("after kill -9: claimed %v, the child had %s", outboxtest.IDs(got), ids)
	}
	for _, it := range got {
		if it.Attempts != 2 {
			t.Fatalf("%s: Attempts %d, want 2 (one by the killed child)", it.ID, it.Attempts)
		}
	}
}

// TestChildHoldsClaims is the child of TestOutboxSurvivesKill9: it adds
// and claims items, says which, and waits to be killed.
func TestChildHoldsClaims(t *testing.T) {
	dir := os.Getenv("SQLITE_CHILD_DIR")
	if dir == "" {
		t.Skip("only runs as the child of TestOutboxSurvivesKill9")
	}
	db, err := sqlite.Open(context.Background(), sqlite.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ob := newOutbox(t, db, sqlite.OutboxConfig{Consumer: "child"})
	outboxtest.AddN(t, ob, service.LaneHigh, 20)
	got := outboxtest.MustClaim(t, ob, service.LaneHigh, 100)
	fmt.Printf("claimed %v\n", outboxtest.IDs(got))
	time.Sleep(30 * time.Second) // killed long before
	t.Error("the parent did not kill this child")
}
