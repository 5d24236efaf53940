package loadtest

import (
	"reflect"
	"testing"
	"time"
)

func TestNewPlanIsDeterministic(t *testing.T) {
	cfg := DefaultWorkload(500, 42)
	a, b := NewPlan(cfg), NewPlan(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same config gave two different plans")
	}
	if !reflect.DeepEqual(a.Actions(3), b.Actions(3)) {
		t.Fatal("same plan gave two different action lists")
	}
	c := NewPlan(DefaultWorkload(500, 43))
	if reflect.DeepEqual(a.Sessions, c.Sessions) {
		t.Fatal("another seed gave the same plan")
	}
}

func TestNewPlanRespectsTheConfig(t *testing.T) {
	cfg := DefaultWorkload(2000, 7)
	p := NewPlan(cfg)
	counts := p.Counts()
	if counts.Sessions != 2000 || counts.Scan+counts.Expire != 2000 {
		t.Fatalf("counts = %+v", counts)
	}
	// Shares are drawn at random: allow a generous band around them.
	near := func(name string, got int, want float64, of int) {
		if f := float64(got) / float64(of); f < want-0.05 || f > want+0.05 {
			t.Errorf("%s share = %.3f, want about %.2f", name, f, want)
		}
	}
	near("scan", counts.Scan, cfg.ScanShare, counts.Sessions)
	near("close", counts.Close, cfg.CloseShare, counts.Scan)
	near("restart", counts.Restart, cfg.RestartShare, counts.Sessions)
	for _, s := range p.Sessions {
		if s.Start < 0 || s.Start >= cfg.Ramp {
			t.Fatalf("%s starts at %s, outside the ramp", s.ID, s.Start)
		}
		if s.Scan > 0 && (s.Scan-s.Start < cfg.ScanDelayMin || s.Scan-s.Start >= cfg.ScanDelayMax) {
			t.Fatalf("%s scans %s after start", s.ID, s.Scan-s.Start)
		}
		if s.Close > 0 && (s.Scan == 0 || s.Close-s.Scan < cfg.CloseDelayMin || s.Close-s.Scan >= cfg.CloseDelayMax) {
			t.Fatalf("%s closes %s after scan %s", s.ID, s.Close-s.Scan, s.Scan)
		}
	}
}

func TestActionsAreSortedAndScaled(t *testing.T) {
	p := NewPlan(DefaultWorkload(300, 1))
	one, ten := p.Actions(1), p.Actions(10)
	if len(one) != len(ten) {
		t.Fatalf("scale changed the number of actions: %d vs %d", len(one), len(ten))
	}
	c := p.Counts()
	if want := c.Sessions + c.Scan + c.Close + c.Restart; len(one) != want {
		t.Fatalf("%d actions, want %d", len(one), want)
	}
	for i := range one {
		if i > 0 && one[i].At < one[i-1].At {
			t.Fatalf("actions out of order at %d", i)
		}
		if want := Scale(one[i].At, 10); ten[i].At != want || ten[i].SessionID != one[i].SessionID {
			t.Fatalf("action %d scaled to %v (%s), want %v (%s)", i, ten[i].At, ten[i].SessionID, want, one[i].SessionID)
		}
	}
}

func TestPlanEnd(t *testing.T) {
	p := Plan{Sessions: []SessionPlan{
		{ID: "a", Start: 10 * time.Second},                                                  // expires at 130 s
		{ID: "b", Start: 5 * time.Second, Scan: 20 * time.Second, Close: 150 * time.Second}, // closes at 150 s
	}}
	if got := p.End(120 * time.Second); got != 150*time.Second {
		t.Errorf("End = %s, want 150s", got)
	}
	if got := p.End(200 * time.Second); got != 210*time.Second {
		t.Errorf("End = %s, want 210s", got)
	}
}

func TestWorkloadValidate(t *testing.T) {
	if err := DefaultWorkload(1000, 1).Validate(); err != nil {
		t.Fatalf("default workload invalid: %v", err)
	}
	bad := DefaultWorkload(0, 1)
	if bad.Validate() == nil {
		t.Error("0 sessions accepted")
	}
	bad = DefaultWorkload(10, 1)
	bad.ScanShare = 1.5
	if bad.Validate() == nil {
		t.Error("share 1.5 accepted")
	}
}
