package loadtest

import (
	"fmt"
	"slices"
	"sort"
)

// ListedSession is one entry of a gateway's GET /sessions list.
type ListedSession struct {
	SessionID string `json:"session_id"`
	Status    string `json:"estado_qr"`
	Instance  string `json:"instance"`
}

// Ownership is what one round of GET /sessions?scope=local over every
// instance says about who runs what.
type Ownership struct {
	Where   map[string][]string // session → the instances listing it
	Doubles []string            // sessions listed by two or more instances
	PerInst map[string]int      // instance → sessions it lists
}

// CheckOwnership reads one round of local lists (instance → its sessions).
func CheckOwnership(lists map[string][]ListedSession) Ownership {
	o := Ownership{Where: map[string][]string{}, PerInst: map[string]int{}}
	for inst, list := range lists {
		o.PerInst[inst] = len(list)
		for _, s := range list {
			o.Where[s.SessionID] = append(o.Where[s.SessionID], inst)
		}
	}
	for id, on := range o.Where {
		if len(on) > 1 {
			sort.Strings(on)
			o.Doubles = append(o.Doubles, fmt.Sprintf("%s on %v", id, on))
		}
	}
	sort.Strings(o.Doubles)
	return o
}

// Unsettled lists the sessions of want (session → "active" or "expired")
// that one round does not show as they should end: an active session on
// exactly one instance, an expired one on none. At most limit are named.
func (o Ownership) Unsettled(want map[string]string, limit int) (n int, examples []string) {
	for _, id := range slices.Sorted(mapKeys(want)) {
		on := o.Where[id]
		ok := len(on) == 1
		if want[id] != "active" {
			ok = len(on) == 0
		}
		if !ok {
			n++
			if len(examples) < limit {
				examples = append(examples, fmt.Sprintf("%s (want %s) on %v", id, want[id], on))
			}
		}
	}
	return n, examples
}

// StateDiff lists the sessions whose state in got differs from want, at
// most limit of them by name, and how many differ in all.
func StateDiff(want, got map[string]string, limit int) (n int, examples []string) {
	for _, id := range slices.Sorted(mapKeys(want)) {
		if got[id] != want[id] {
			n++
			if len(examples) < limit {
				examples = append(examples, fmt.Sprintf("%s: %q, want %q", id, got[id], want[id]))
			}
		}
	}
	return n, examples
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ExpectedStates is how every session of p ends when nothing is lost:
// scanned ones active, the others expired (QR_EXPIRES).
func ExpectedStates(p Plan) map[string]string {
	out := make(map[string]string, len(p.Sessions))
	for _, s := range p.Sessions {
		if s.Scan > 0 {
			out[s.ID] = "active"
		} else {
			out[s.ID] = "expired"
		}
	}
	return out
}
