package redis

import (
	"slices"
	"testing"
	"time"

	"wagateway/service"
)

func bufItem(id string) service.Update {
	return service.Update{Kind: service.KindStatus, Lane: service.LaneHigh, SessionID: id,
		Status: service.StatusPending, At: time.Unix(1, 0)}
}

func ids(items []service.Update) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func TestBufferMoveKeepsWhatFailedAndDropsWhatWasAcked(t *testing.T) {
	b := newBuffer(10, 10)
	now := time.Unix(100, 0)
	var added []service.Update
	for _, s := range []string{"a", "b", "c", "d"} {
		it, err := b.add(bufItem(s), now)
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, it)
	}
	b.claim(service.LaneHigh, 2) // a, b handed out

	moved := b.startMove(service.LaneHigh)
	if len(moved) != 4 {
		t.Fatalf("moving %d items, want 4", len(moved))
	}
	if got := b.claim(service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("items being moved were claimed: %v", ids(got))
	}
	// b is acknowledged while its write is under way.
	if removed := b.remove(service.LaneHigh, []string{added[1].ID}); len(removed) != 1 {
		t.Fatalf("removed %v", removed)
	}
	// a and b reach Redis, c fails, d reaches Redis.
	acked := b.finishMove(service.LaneHigh, moved, []string{"1-0", "1-1", "", "1-3"})
	if !slices.Equal(acked, []string{"1-1"}) {
		t.Fatalf("acked meanwhile: %v, want [1-1]", acked)
	}
	got := b.claim(service.LaneHigh, 10)
	if !slices.Equal(ids(got), []string{added[2].ID}) || got[0].Attempts != 1 {
		t.Fatalf("left in the buffer: %+v", got)
	}
	if b.len() != 1 || b.stats().total != 1 {
		t.Fatalf("len %d, stats %+v", b.len(), b.stats())
	}
}

func TestBufferMoveRestoresClaimedState(t *testing.T) {
	b := newBuffer(10, 10)
	it, _ := b.add(bufItem("a"), time.Unix(100, 0))
	b.claim(service.LaneHigh, 1)
	moved := b.startMove(service.LaneHigh)
	b.finishMove(service.LaneHigh, moved, []string{""})
	got := b.claim(service.LaneHigh, 1)
	if len(got) != 1 || got[0].ID != it.ID || got[0].Attempts != 2 {
		t.Fatalf("after a failed move: %+v", got)
	}
}

func TestBufferIsBounded(t *testing.T) {
	b := newBuffer(2, 2)
	for i := range 2 {
		if _, err := b.add(bufItem("a"), time.Now()); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	if _, err := b.add(bufItem("a"), time.Now()); service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("add to a full buffer: %v", err)
	}
	b.keepDead(service.DeadLetter{Reason: "1"}, service.DeadLetter{Reason: "2"}, service.DeadLetter{Reason: "3"})
	if d := b.deadLetters(10); len(d) != 2 || d[0].Reason != "3" || d[1].Reason != "2" {
		t.Fatalf("dead letters kept: %+v", d)
	}
}
