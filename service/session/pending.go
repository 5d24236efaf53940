package session

import (
	"container/heap"
	"time"
)

// pendingQueue orders the pairings waiting for a scan by their first QR, so
// the expiry tick looks only at those due instead of every live session.
// Entries are not removed when a session connects or stops: expireQRs drops
// an entry that no longer matches its session when it comes up.
type pendingQueue []pendingEntry

type pendingEntry struct {
	id    string
	s     *managedSession
	since time.Time // s.pendingSince when queued
}

func (q pendingQueue) Len() int           { return len(q) }
func (q pendingQueue) Less(i, j int) bool { return q[i].since.Before(q[j].since) }
func (q pendingQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *pendingQueue) Push(x any)        { *q = append(*q, x.(pendingEntry)) }
func (q *pendingQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = pendingEntry{}
	*q = old[:len(old)-1]
	return e
}

func (q *pendingQueue) push(e pendingEntry) { heap.Push(q, e) }

// popDue removes and returns the oldest entry queued at or before cutoff.
func (q *pendingQueue) popDue(cutoff time.Time) (pendingEntry, bool) {
	if len(*q) == 0 || (*q)[0].since.After(cutoff) {
		return pendingEntry{}, false
	}
	return heap.Pop(q).(pendingEntry), true
}
