// Package outboxtest is the behaviour every service.Outbox must show, as a
// test suite each implementation runs against itself (inmem in memory, redis
// on a real Redis). It holds only tests of the interface's contract.
package outboxtest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wagateway/service"
)

// Run runs the contract tests; newOutbox must return an empty outbox for
// each subtest.
func Run(t *testing.T, newOutbox func(t *testing.T) service.Outbox) {
	tests := []struct {
		name string
		run  func(t *testing.T, ob service.Outbox)
	}{
		{"AddAssignsIncreasingIDs", addAssignsIncreasingIDs},
		{"AddRejectsInvalidItems", addRejectsInvalidItems},
		{"ClaimOldestFirstUpToMax", claimOldestFirstUpToMax},
		{"ClaimEmptyLane", claimEmptyLane},
		{"ClaimOfNothing", claimOfNothing},
		{"UnackedItemsAreClaimedAgain", unackedItemsAreClaimedAgain},
		{"AckRemovesForGood", ackRemovesForGood},
		{"AckUnknownIDsIsHarmless", ackUnknownIDsIsHarmless},
		{"LanesAreIndependent", lanesAreIndependent},
		{"DeadLetterKeepsReason", deadLetterKeepsReason},
		{"StatsCountWaitingItems", statsCountWaitingItems},
		{"DeadLettersPageNewestFirst", deadLettersPageNewestFirst},
		{"DeadLettersBySessionAndID", deadLettersBySessionAndID},
		{"DeleteDeadLetters", deleteDeadLetters},
		{"PruneDeadLettersByCapAndAge", pruneDeadLettersByCapAndAge},
		{"AddSupersedesOlderOfItsKey", addSupersedesOlderOfItsKey},
		{"AddSupersedesAcrossLanes", addSupersedesAcrossLanes},
		{"AddSupersedesClaimedItems", addSupersedesClaimedItems},
		{"AddRefusesOlderThanPending", addRefusesOlderThanPending},
		{"AckForgetsTheKey", ackForgetsTheKey},
		{"SupersededInFlightCountsOnlyIfNotDelivered", supersededInFlightCountsOnlyIfNotDelivered},
		{"DepthBoundedBySessionsAndKinds", depthBoundedBySessionsAndKinds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newOutbox(t)) })
	}
}

// Status returns a valid status item for session id on lane, at event time at.
func Status(id string, lane service.Lane, at time.Time) service.Update {
	return service.Update{Kind: service.KindStatus, Lane: lane, SessionID: id,
		Status: service.StatusPending, At: at}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)

// addNCalls makes AddN's session ids unique across calls: an outbox keeps
// one update per session and kind, so a repeated id would supersede.
var addNCalls atomic.Int64

// AddN adds n status items of n new sessions to lane, event times 1 ms
// apart, and returns them with their ids.
func AddN(t *testing.T, ob service.Outbox, lane service.Lane, n int) []service.Update {
	t.Helper()
	call := addNCalls.Add(1)
	var out []service.Update
	for i := range n {
		it, err := ob.Add(context.Background(), Status(fmt.Sprintf("a%d-s%d", call, i), lane, t0.Add(time.Duration(i)*time.Millisecond)))
		if err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
		out = append(out, it)
	}
	return out
}

// MustClaim claims and fails the test on error.
func MustClaim(t *testing.T, ob service.Outbox, lane service.Lane, max int) []service.Update {
	t.Helper()
	got, err := ob.Claim(context.Background(), lane, max)
	if err != nil {
		t.Fatalf("Claim(%s, %d): %v", lane, max, err)
	}
	return got
}

// IDs returns the ids of items, in order.
func IDs(items []service.Update) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}

// SameIDs fails unless got has exactly the ids of want, in order.
func SameIDs(t *testing.T, what string, got, want []service.Update) {
	t.Helper()
	g, w := IDs(got), IDs(want)
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("%s: got ids %v, want %v", what, g, w)
	}
}

func addAssignsIncreasingIDs(t *testing.T, ob service.Outbox) {
	items := AddN(t, ob, service.LaneHigh, 3)
	for i, it := range items {
		if it.ID == "" {
			t.Fatalf("item %d has no id", i)
		}
		if i > 0 {
			// Same event time: Newer falls back to the outbox id.
			a, b := it, items[i-1]
			a.At, b.At = t0, t0
			if !a.Newer(b) {
				t.Fatalf("id %q is not after %q", it.ID, items[i-1].ID)
			}
		}
	}
	if !strings.HasSuffix(items[1].SessionID, "-s1") || items[1].Status != service.StatusPending || !items[1].At.Equal(t0.Add(time.Millisecond)) {
		t.Fatalf("Add changed the item: %+v", items[1])
	}
}

func addRejectsInvalidItems(t *testing.T, ob service.Outbox) {
	bad := []service.Update{
		Status("no spaces allowed", service.LaneHigh, t0),
		Status("s1", "urgent", t0),
		Status("s1", service.LaneHigh, time.Time{}),
		{Kind: service.KindQR, Lane: service.LaneHigh, SessionID: "s1", At: t0},
	}
	for _, it := range bad {
		if _, err := ob.Add(context.Background(), it); service.ErrorCode(err) != service.EINVALID {
			t.Errorf("Add(%+v) = %v, want an EINVALID error", it, err)
		}
	}
	if got := MustClaim(t, ob, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("invalid items were stored: %v", got)
	}
}

func claimOldestFirstUpToMax(t *testing.T, ob service.Outbox) {
	items := AddN(t, ob, service.LaneNormal, 5)
	got := MustClaim(t, ob, service.LaneNormal, 3)
	SameIDs(t, "first claim", got, items[:3])
	for i, it := range got {
		if it.SessionID != items[i].SessionID || !it.At.Equal(items[i].At) || it.Kind != service.KindStatus ||
			it.Lane != service.LaneNormal || it.Status != service.StatusPending {
			t.Fatalf("claimed %+v, added %+v", it, items[i])
		}
		if it.Attempts != 1 {
			t.Fatalf("first claim of %s: Attempts %d, want 1", it.ID, it.Attempts)
		}
	}
	// Nothing acked: the held items come again, then the new ones.
	SameIDs(t, "claim of all", MustClaim(t, ob, service.LaneNormal, 10), items)
}

func claimEmptyLane(t *testing.T, ob service.Outbox) {
	if got := MustClaim(t, ob, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("empty outbox gave %v", got)
	}
}

// A Claim of at most 0 items claims nothing (Redis's COUNT 0 would mean
// every item).
func claimOfNothing(t *testing.T, ob service.Outbox) {
	AddN(t, ob, service.LaneHigh, 3)
	if got := MustClaim(t, ob, service.LaneHigh, 0); len(got) != 0 {
		t.Fatalf("Claim of 0 gave %d items", len(got))
	}
	if got := MustClaim(t, ob, service.LaneHigh, 10); len(got) != 3 || got[0].Attempts != 1 {
		t.Fatalf("then Claim gave %d items (first attempted %d times), want 3 claimed once", len(got), got[0].Attempts)
	}
}

func unackedItemsAreClaimedAgain(t *testing.T, ob service.Outbox) {
	items := AddN(t, ob, service.LaneHigh, 3)
	first := MustClaim(t, ob, service.LaneHigh, 3)
	SameIDs(t, "first claim", first, items)
	again := MustClaim(t, ob, service.LaneHigh, 3)
	SameIDs(t, "claim after a failed delivery", again, items)
	for _, it := range again {
		if it.Attempts != 2 {
			t.Fatalf("second claim of %s: Attempts %d, want 2", it.ID, it.Attempts)
		}
	}
}

func ackRemovesForGood(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	items := AddN(t, ob, service.LaneHigh, 4)
	got := MustClaim(t, ob, service.LaneHigh, 2)
	if err := ob.Ack(ctx, service.LaneHigh, IDs(got)...); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	SameIDs(t, "claim after ack", MustClaim(t, ob, service.LaneHigh, 10), items[2:])
	if err := ob.Ack(ctx, service.LaneHigh, items[2].ID, items[3].ID); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if got := MustClaim(t, ob, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("acked items came back: %v", IDs(got))
	}
	st, err := ob.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Depth[service.LaneHigh] != 0 {
		t.Fatalf("depth after acking everything: %d", st.Depth[service.LaneHigh])
	}
}

func ackUnknownIDsIsHarmless(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	items := AddN(t, ob, service.LaneHigh, 1)
	MustClaim(t, ob, service.LaneHigh, 1)
	if err := ob.Ack(ctx, service.LaneHigh, items[0].ID); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := ob.Ack(ctx, service.LaneHigh, items[0].ID); err != nil {
		t.Fatalf("second Ack of the same id: %v", err)
	}
	if err := ob.Ack(ctx, service.LaneHigh); err != nil {
		t.Fatalf("Ack of nothing: %v", err)
	}
}

func lanesAreIndependent(t *testing.T, ob service.Outbox) {
	high := AddN(t, ob, service.LaneHigh, 2)
	normal := AddN(t, ob, service.LaneNormal, 3)
	SameIDs(t, "high", MustClaim(t, ob, service.LaneHigh, 10), high)
	SameIDs(t, "normal", MustClaim(t, ob, service.LaneNormal, 10), normal)
}

func deadLetterKeepsReason(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	items := AddN(t, ob, service.LaneNormal, 3)
	got := MustClaim(t, ob, service.LaneNormal, 3)
	dead := []service.DeadLetter{
		{Item: got[0], Reason: "422: session_id unknown", At: t0},
		{Item: got[2], Reason: "422: bad status", At: t0.Add(time.Second)},
	}
	if err := ob.DeadLetter(ctx, service.LaneNormal, dead); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	SameIDs(t, "claim after dead-lettering", MustClaim(t, ob, service.LaneNormal, 10), items[1:2])

	list, err := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 10})
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(list) != 2 {
		t.Fatalf("DeadLetters: %d, want 2: %+v", len(list), list)
	}
	if list[0].Item.ID != got[2].ID || list[0].Reason != "422: bad status" || !list[0].At.Equal(t0.Add(time.Second)) {
		t.Fatalf("newest dead letter: %+v", list[0])
	}
	if list[1].Item.ID != got[0].ID || list[1].Item.SessionID != items[0].SessionID || list[1].Reason != "422: session_id unknown" {
		t.Fatalf("oldest dead letter: %+v", list[1])
	}
	if one, _ := ob.DeadLetters(ctx, service.DeadLetterQuery{Limit: 1}); len(one) != 1 || one[0].Item.ID != got[2].ID {
		t.Fatalf("DeadLetters(1) = %+v", one)
	}
	st, err := ob.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.DeadLettered != 2 || st.Depth[service.LaneNormal] != 1 {
		t.Fatalf("stats after dead-lettering: %+v", st)
	}
}

func statsCountWaitingItems(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	AddN(t, ob, service.LaneHigh, 3)
	AddN(t, ob, service.LaneNormal, 1)
	MustClaim(t, ob, service.LaneHigh, 2) // claimed but not delivered: still waiting
	st, err := ob.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Depth[service.LaneHigh] != 3 || st.Depth[service.LaneNormal] != 1 || st.DeadLettered != 0 {
		t.Fatalf("stats: %+v", st)
	}
	for _, lane := range service.Lanes {
		if age, ok := st.OldestAge[lane]; !ok || age < 0 {
			t.Fatalf("oldest age of %s: %v (present %v)", lane, age, ok)
		}
	}
}

// deadLetterN dead-letters n claimed items s0…s(n-1) of the normal lane,
// dead at t0, t0+1s, …, and returns them as listed, newest first.
func deadLetterN(t *testing.T, ob service.Outbox, n int) []service.DeadLetter {
	t.Helper()
	ctx := context.Background()
	added := AddN(t, ob, service.LaneNormal, n)
	got := MustClaim(t, ob, service.LaneNormal, n)
	for i, it := range got { // one call each: ids in dead order
		dl := service.DeadLetter{Item: it, Reason: fmt.Sprintf("422 #%d", i), At: t0.Add(time.Duration(i) * time.Second)}
		if err := ob.DeadLetter(ctx, service.LaneNormal, []service.DeadLetter{dl}); err != nil {
			t.Fatalf("DeadLetter: %v", err)
		}
	}
	list, err := ob.DeadLetters(ctx, service.DeadLetterQuery{})
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(list) != n {
		t.Fatalf("DeadLetters: %d, want %d", len(list), n)
	}
	seen := map[string]bool{}
	for i, d := range list {
		if d.ID == "" || seen[d.ID] {
			t.Fatalf("dead letter %d has an empty or repeated id: %+v", i, list)
		}
		seen[d.ID] = true
		if want := added[n-1-i].SessionID; d.Item.SessionID != want {
			t.Fatalf("dead letter %d is %s, want %s (newest first)", i, d.Item.SessionID, want)
		}
	}
	return list
}

func deadLettersPageNewestFirst(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	all := deadLetterN(t, ob, 5)
	var paged []service.DeadLetter
	q := service.DeadLetterQuery{Limit: 2}
	for range 10 {
		page, err := ob.DeadLetters(ctx, q)
		if err != nil {
			t.Fatalf("DeadLetters(%+v): %v", q, err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d over the limit 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		q.Before = page[len(page)-1].ID
	}
	if len(paged) != len(all) {
		t.Fatalf("paged through %d dead letters, want %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].ID != all[i].ID || paged[i].Reason != all[i].Reason {
			t.Fatalf("page item %d = %+v, want %+v", i, paged[i], all[i])
		}
	}
}

func deadLettersBySessionAndID(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	all := deadLetterN(t, ob, 4) // sessions …s3 …s2 …s1 …s0
	s1 := all[2].Item.SessionID
	bySession, err := ob.DeadLetters(ctx, service.DeadLetterQuery{SessionID: s1})
	if err != nil || len(bySession) != 1 || bySession[0].ID != all[2].ID {
		t.Fatalf("DeadLetters(session %s) = %+v, %v", s1, bySession, err)
	}
	byID, err := ob.DeadLetters(ctx, service.DeadLetterQuery{IDs: []string{all[3].ID, "no-such-id", all[0].ID}})
	if err != nil || len(byID) != 2 || byID[0].ID != all[0].ID || byID[1].ID != all[3].ID {
		t.Fatalf("DeadLetters(ids) = %+v, %v", byID, err)
	}
	if none, err := ob.DeadLetters(ctx, service.DeadLetterQuery{IDs: []string{all[0].ID}, SessionID: s1}); err != nil || len(none) != 0 {
		t.Fatalf("DeadLetters(id of another session, session %s) = %+v, %v", s1, none, err)
	}
}

func deleteDeadLetters(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	all := deadLetterN(t, ob, 3)
	n, err := ob.DeleteDeadLetters(ctx, all[1].ID, "no-such-id", "1-1-1")
	if err != nil || n != 1 {
		t.Fatalf("DeleteDeadLetters = %d, %v; want 1", n, err)
	}
	if n, err := ob.DeleteDeadLetters(ctx, all[1].ID); err != nil || n != 0 {
		t.Fatalf("DeleteDeadLetters again = %d, %v; want 0", n, err)
	}
	left, _ := ob.DeadLetters(ctx, service.DeadLetterQuery{})
	if len(left) != 2 || left[0].ID != all[0].ID || left[1].ID != all[2].ID {
		t.Fatalf("left after delete: %+v", left)
	}
	if st, _ := ob.Stats(ctx); st.DeadLettered != 2 {
		t.Fatalf("stats count %d dead letters, want 2", st.DeadLettered)
	}
}

func pruneDeadLettersByCapAndAge(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	all := deadLetterN(t, ob, 6) // dead at t0 … t0+5s, listed newest first
	evicted, expired, err := ob.PruneDeadLetters(ctx, 4, t0)
	if err != nil || evicted != 2 || expired != 0 {
		t.Fatalf("Prune(keep 4) = %d evicted, %d expired, %v; want 2, 0", evicted, expired, err)
	}
	// s2 is dead at t0+2s, s3 at t0+3s: before t0+3s only s2 is left to expire.
	evicted, expired, err = ob.PruneDeadLetters(ctx, 100, t0.Add(3*time.Second))
	if err != nil || evicted != 0 || expired != 1 {
		t.Fatalf("Prune(older than t0+3s) = %d evicted, %d expired, %v; want 0, 1", evicted, expired, err)
	}
	left, _ := ob.DeadLetters(ctx, service.DeadLetterQuery{})
	if len(left) != 3 || left[0].ID != all[0].ID || left[2].ID != all[2].ID {
		t.Fatalf("left after prune: %+v, want the newest three", left)
	}
}

// QR returns a valid QR update for session id at event time at (HIGH lane).
func QR(id string, at time.Time) service.Update {
	return service.Update{Kind: service.KindQR, Lane: service.LaneHigh, SessionID: id,
		QR: "data:image/png;base64,AA==", At: at}
}

func mustAdd(t *testing.T, ob service.Outbox, it service.Update) service.Update {
	t.Helper()
	added, err := ob.Add(context.Background(), it)
	if err != nil {
		t.Fatalf("Add(%s): %v", it, err)
	}
	return added
}

func superseded(t *testing.T, ob service.Outbox) map[service.Kind]int {
	t.Helper()
	st, err := ob.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st.Superseded
}

func addSupersedesOlderOfItsKey(t *testing.T, ob service.Outbox) {
	mustAdd(t, ob, Status("s1", service.LaneNormal, t0))
	newer := mustAdd(t, ob, Status("s1", service.LaneNormal, t0.Add(time.Second)))
	other := mustAdd(t, ob, Status("s2", service.LaneNormal, t0)) // another session
	qr := mustAdd(t, ob, QR("s1", t0))                            // another kind
	SameIDs(t, "normal lane", MustClaim(t, ob, service.LaneNormal, 10), []service.Update{newer, other})
	SameIDs(t, "high lane", MustClaim(t, ob, service.LaneHigh, 10), []service.Update{qr})
	if got := superseded(t, ob); got[service.KindStatus] != 1 || got[service.KindQR] != 0 {
		t.Fatalf("Stats.Superseded = %v, want 1 status", got)
	}
}

func addSupersedesAcrossLanes(t *testing.T, ob service.Outbox) {
	mustAdd(t, ob, Status("s1", service.LaneNormal, t0))
	active := Status("s1", service.LaneHigh, t0.Add(time.Second))
	active.Status = service.StatusActive
	active = mustAdd(t, ob, active)
	if got := MustClaim(t, ob, service.LaneNormal, 10); len(got) != 0 {
		t.Fatalf("the older status stayed in the NORMAL lane: %v", IDs(got))
	}
	SameIDs(t, "high lane", MustClaim(t, ob, service.LaneHigh, 10), []service.Update{active})
}

// An update claimed by a delivery that then fails must not come back once a
// newer one of its key waits: Laravel would get the older state after an
// outage.
func addSupersedesClaimedItems(t *testing.T, ob service.Outbox) {
	old := mustAdd(t, ob, QR("s1", t0))
	SameIDs(t, "first claim", MustClaim(t, ob, service.LaneHigh, 10), []service.Update{old})
	newer := mustAdd(t, ob, QR("s1", t0.Add(20*time.Second)))
	SameIDs(t, "claim after a failed delivery", MustClaim(t, ob, service.LaneHigh, 10), []service.Update{newer})
	if err := ob.Ack(context.Background(), service.LaneHigh, old.ID, newer.ID); err != nil {
		t.Fatalf("Ack of a superseded id with the newest: %v", err)
	}
	if got := MustClaim(t, ob, service.LaneHigh, 10); len(got) != 0 {
		t.Fatalf("left after acking: %v", IDs(got))
	}
}

func addRefusesOlderThanPending(t *testing.T, ob service.Outbox) {
	newer := mustAdd(t, ob, Status("s1", service.LaneNormal, t0.Add(time.Second)))
	late := mustAdd(t, ob, Status("s1", service.LaneNormal, t0))
	if late.ID != "" {
		t.Fatalf("an update older than the pending one was stored as %q", late.ID)
	}
	SameIDs(t, "claim", MustClaim(t, ob, service.LaneNormal, 10), []service.Update{newer})
	if got := superseded(t, ob); got[service.KindStatus] != 1 {
		t.Fatalf("Stats.Superseded = %v, want 1 status", got)
	}
}

// Once the newest update of a key is delivered, nothing of that key is
// pending: the next update is stored whatever its time (a new pairing).
func ackForgetsTheKey(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	first := mustAdd(t, ob, Status("s1", service.LaneNormal, t0.Add(time.Minute)))
	MustClaim(t, ob, service.LaneNormal, 10)
	if err := ob.Ack(ctx, service.LaneNormal, first.ID); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	next := mustAdd(t, ob, Status("s1", service.LaneNormal, t0))
	if next.ID == "" {
		t.Fatal("an update of a key with nothing pending was refused: Ack did not forget the key")
	}
	SameIDs(t, "claim", MustClaim(t, ob, service.LaneNormal, 10), []service.Update{next})
	dead := mustAdd(t, ob, QR("s2", t0.Add(time.Minute)))
	MustClaim(t, ob, service.LaneHigh, 10)
	if err := ob.DeadLetter(ctx, service.LaneHigh, []service.DeadLetter{{Item: dead, Reason: "422"}}); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	if again := mustAdd(t, ob, QR("s2", t0)); again.ID == "" {
		t.Fatal("an update of a dead-lettered key was refused: DeadLetter did not forget the key")
	}
}

// However many codes rotate while Laravel is away, the outbox keeps one per
// session and kind.
func depthBoundedBySessionsAndKinds(t *testing.T, ob service.Outbox) {
	const sessions, rotations = 10, 30
	for r := range rotations {
		at := t0.Add(time.Duration(r) * 20 * time.Second)
		for s := range sessions {
			id := fmt.Sprintf("s%d", s)
			mustAdd(t, ob, QR(id, at))
			mustAdd(t, ob, Status(id, service.LaneNormal, at))
		}
		if r%10 == 0 {
			MustClaim(t, ob, service.LaneHigh, 100) // a delivery that keeps failing
		}
	}
	// Laravel is back: what is left is the newest code of each session.
	// (This claim also settles the codes superseded while the last failed
	// delivery held them: they count as superseded now.)
	last := t0.Add(time.Duration(rotations-1) * 20 * time.Second)
	for _, it := range MustClaim(t, ob, service.LaneHigh, 100) {
		if !it.At.Equal(last) {
			t.Fatalf("claimed %s, want only the newest code of each session", it)
		}
	}
	st, err := ob.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Depth[service.LaneHigh] != sessions || st.Depth[service.LaneNormal] != sessions {
		t.Fatalf("depth %v after %d rotations of %d sessions, want %d per lane", st.Depth, rotations, sessions, sessions)
	}
	want := (rotations - 1) * sessions
	if st.Superseded[service.KindQR] != want || st.Superseded[service.KindStatus] != want {
		t.Fatalf("Stats.Superseded = %v, want %d per kind", st.Superseded, want)
	}
}

// An update superseded while a delivery holds it counts either as sent (its
// request reached Laravel: the flusher acknowledges it) or as superseded
// (the delivery failed and the lane is claimed again), never as both: the
// metrics' sent + superseded must add up to what was accepted.
func supersededInFlightCountsOnlyIfNotDelivered(t *testing.T, ob service.Outbox) {
	ctx := context.Background()
	delivered := mustAdd(t, ob, QR("s1", t0))
	failed := mustAdd(t, ob, QR("s2", t0))
	SameIDs(t, "claim", MustClaim(t, ob, service.LaneHigh, 10), []service.Update{delivered, failed})
	mustAdd(t, ob, QR("s1", t0.Add(20*time.Second)))
	newer := mustAdd(t, ob, QR("s2", t0.Add(20*time.Second)))
	if got := superseded(t, ob)[service.KindQR]; got != 0 {
		t.Fatalf("Stats.Superseded[qr] = %d while both superseded updates are in flight, want 0", got)
	}
	if err := ob.Ack(ctx, service.LaneHigh, delivered.ID); err != nil { // its request reached Laravel
		t.Fatalf("Ack: %v", err)
	}
	if got := superseded(t, ob)[service.KindQR]; got != 0 {
		t.Fatalf("Stats.Superseded[qr] = %d after the in-flight update was delivered, want 0", got)
	}
	// s2's request failed: the next claim retries, without the superseded one.
	got := MustClaim(t, ob, service.LaneHigh, 10)
	if len(got) != 2 || got[1].ID != newer.ID {
		t.Fatalf("claim after the failed delivery: %v, want s1's and s2's newer codes", IDs(got))
	}
	if got := superseded(t, ob)[service.KindQR]; got != 1 {
		t.Fatalf("Stats.Superseded[qr] = %d after the failed delivery's lane was claimed again, want 1", got)
	}
}
