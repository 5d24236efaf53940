package loadtest

import (
	"slices"
	"testing"
	"time"
)

func TestCheckOwnershipFindsDoublesAndCounts(t *testing.T) {
	o := CheckOwnership(map[string][]ListedSession{
		"gw-1": {{SessionID: "a"}, {SessionID: "b"}},
		"gw-2": {{SessionID: "b"}, {SessionID: "c"}},
	})
	if !slices.Equal(o.Doubles, []string{"b on [gw-1 gw-2]"}) {
		t.Fatalf("Doubles = %v", o.Doubles)
	}
	if o.PerInst["gw-1"] != 2 || o.PerInst["gw-2"] != 2 {
		t.Fatalf("PerInst = %v", o.PerInst)
	}
	// a active on one: settled; b active on two: not; c should have expired;
	// d active on none: not; e expired on none: settled.
	n, ex := o.Unsettled(map[string]string{"a": "active", "b": "active", "c": "expired", "d": "active", "e": "expired"}, 2)
	if n != 3 || len(ex) != 2 {
		t.Fatalf("Unsettled = %d %v, want 3 (two named)", n, ex)
	}
}

func TestStateDiffAndExpectedStates(t *testing.T) {
	p := NewPlan(WorkloadConfig{Sessions: 200, Seed: 3, Ramp: time.Minute, ScanShare: 0.7,
		ScanDelayMin: time.Second, ScanDelayMax: time.Minute})
	want := ExpectedStates(p)
	active := 0
	for _, s := range p.Sessions {
		if (s.Scan > 0) != (want[s.ID] == "active") {
			t.Fatalf("%s: scan %s, expected %q", s.ID, s.Scan, want[s.ID])
		}
		if want[s.ID] == "active" {
			active++
		}
	}
	if active != p.Counts().Scan {
		t.Fatalf("%d active, plan scans %d", active, p.Counts().Scan)
	}
	got := map[string]string{}
	for id, st := range want {
		got[id] = st
	}
	if n, _ := StateDiff(want, got, 5); n != 0 {
		t.Fatalf("StateDiff of equal maps = %d", n)
	}
	delete(got, SessionID(0))
	got[SessionID(1)] = "pending"
	if n, ex := StateDiff(want, got, 1); n != 2 || len(ex) != 1 {
		t.Fatalf("StateDiff = %d %v, want 2 (one named)", n, ex)
	}
}
