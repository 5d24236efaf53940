package loadtest

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// WorkloadConfig describes the pairing lives of a load run, in real
// (unscaled) time; Plan.Actions divides every time by the time scale.
type WorkloadConfig struct {
	Sessions int    `json:"sessions"`
	Seed     uint64 `json:"seed"`
	// Ramp spreads the POST /start of every session uniformly over [0, Ramp).
	Ramp time.Duration `json:"ramp_ns"`
	// ScanShare of the sessions scan their QR, ScanDelayMin..Max after start;
	// the rest never scan and expire (QR_EXPIRES).
	ScanShare    float64       `json:"scan_share"`
	ScanDelayMin time.Duration `json:"scan_delay_min_ns"`
	ScanDelayMax time.Duration `json:"scan_delay_max_ns"`
	// CloseShare of the scanned sessions are closed by the phone
	// CloseDelayMin..Max after the scan (logged out: status inactive).
	CloseShare    float64       `json:"close_share"`
	CloseDelayMin time.Duration `json:"close_delay_min_ns"`
	CloseDelayMax time.Duration `json:"close_delay_max_ns"`
	// RestartShare of the sessions POST /start again RestartDelayMin..Max
	// after the first (a user reloading the page): within QR_THROTTLE the
	// gateway answers with the current QR and no new event.
	RestartShare    float64       `json:"restart_share"`
	RestartDelayMin time.Duration `json:"restart_delay_min_ns"`
	RestartDelayMax time.Duration `json:"restart_delay_max_ns"`
}

// DefaultWorkload is a pairing storm of n sessions: everyone opens the
// pairing page within a minute, most scan within 90 s (some after the first
// code's 60 s, so they see a second code), a fifth never scan.
func DefaultWorkload(n int, seed uint64) WorkloadConfig {
	return WorkloadConfig{
		Sessions: n, Seed: seed,
		Ramp:      60 * time.Second,
		ScanShare: 0.8, ScanDelayMin: 5 * time.Second, ScanDelayMax: 90 * time.Second,
		CloseShare: 0.3, CloseDelayMin: 10 * time.Second, CloseDelayMax: 30 * time.Second,
		RestartShare: 0.1, RestartDelayMin: 2 * time.Second, RestartDelayMax: 20 * time.Second,
	}
}

// Validate reports the first unusable field.
func (c WorkloadConfig) Validate() error {
	switch {
	case c.Sessions < 1 || c.Sessions > 100_000:
		return fmt.Errorf("sessions must be 1..100000, got %d", c.Sessions)
	case c.Ramp < 0:
		return fmt.Errorf("ramp must be ≥ 0, got %s", c.Ramp)
	case !share(c.ScanShare) || !share(c.CloseShare) || !share(c.RestartShare):
		return fmt.Errorf("shares must be within 0..1")
	case c.ScanDelayMin < 0 || c.ScanDelayMax < c.ScanDelayMin:
		return fmt.Errorf("scan delay range %s..%s is invalid", c.ScanDelayMin, c.ScanDelayMax)
	case c.CloseDelayMin < 0 || c.CloseDelayMax < c.CloseDelayMin:
		return fmt.Errorf("close delay range %s..%s is invalid", c.CloseDelayMin, c.CloseDelayMax)
	case c.RestartDelayMin < 0 || c.RestartDelayMax < c.RestartDelayMin:
		return fmt.Errorf("restart delay range %s..%s is invalid", c.RestartDelayMin, c.RestartDelayMax)
	}
	return nil
}

func share(f float64) bool { return f >= 0 && f <= 1 }

// SessionPlan is one session's life; a zero Scan, Close or Restart means
// it does not happen. Times are offsets from the start of the run.
type SessionPlan struct {
	ID      string        `json:"id"`
	Start   time.Duration `json:"start"`
	Restart time.Duration `json:"restart,omitempty"`
	Scan    time.Duration `json:"scan,omitempty"`
	Close   time.Duration `json:"close,omitempty"`
}

// Plan is the whole seeded workload; the same config gives the same plan.
type Plan struct {
	Config   WorkloadConfig
	Sessions []SessionPlan
}

// SessionID names the i-th session of a plan.
func SessionID(i int) string { return fmt.Sprintf("load_%05d", i) }

// NewPlan draws every session's life from cfg.Seed.
func NewPlan(cfg WorkloadConfig) Plan {
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x10ad7e57))
	between := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(r.Int64N(int64(hi-lo)))
	}
	p := Plan{Config: cfg, Sessions: make([]SessionPlan, cfg.Sessions)}
	for i := range p.Sessions {
		s := SessionPlan{ID: SessionID(i), Start: between(0, cfg.Ramp)}
		// Every draw happens for every session, so changing one share does
		// not reshuffle the other sessions' times.
		restart, scan, closed := r.Float64(), r.Float64(), r.Float64()
		restartAfter := between(cfg.RestartDelayMin, cfg.RestartDelayMax)
		scanAfter := between(cfg.ScanDelayMin, cfg.ScanDelayMax)
		closeAfter := between(cfg.CloseDelayMin, cfg.CloseDelayMax)
		if restart < cfg.RestartShare {
			s.Restart = s.Start + max(restartAfter, time.Millisecond)
		}
		if scan < cfg.ScanShare {
			s.Scan = s.Start + max(scanAfter, time.Millisecond)
			if closed < cfg.CloseShare {
				s.Close = s.Scan + max(closeAfter, time.Millisecond)
			}
		}
		p.Sessions[i] = s
	}
	return p
}

// ActionKind is what the load generator asks the gateway to do.
type ActionKind string

const (
	ActionStart   ActionKind = "start"   // POST /start
	ActionRestart ActionKind = "restart" // POST /start again (a page reload)
	ActionScan    ActionKind = "scan"    // POST /sim/sessions/{id}/scan
	ActionClose   ActionKind = "close"   // POST /sim/sessions/{id}/close
)

// Action is one request of the plan, At after the run starts.
type Action struct {
	At        time.Duration
	Kind      ActionKind
	SessionID string
}

// Actions lists the plan's requests in time order with every time divided
// by scale (≥ 1 compresses the schedule); ties keep session order.
func (p Plan) Actions(scale float64) []Action {
	if scale <= 0 {
		scale = 1
	}
	var out []Action
	add := func(at time.Duration, k ActionKind, id string) {
		out = append(out, Action{At: Scale(at, scale), Kind: k, SessionID: id})
	}
	for _, s := range p.Sessions {
		add(s.Start, ActionStart, s.ID)
		if s.Restart > 0 {
			add(s.Restart, ActionRestart, s.ID)
		}
		if s.Scan > 0 {
			add(s.Scan, ActionScan, s.ID)
		}
		if s.Close > 0 {
			add(s.Close, ActionClose, s.ID)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// End is when the last event of the plan happens, unscaled: the last
// action, or the expiry of the last unscanned session.
func (p Plan) End(qrExpires time.Duration) time.Duration {
	var end time.Duration
	for _, s := range p.Sessions {
		end = max(end, s.Start, s.Restart, s.Scan, s.Close)
		if s.Scan == 0 || s.Scan > s.Start+qrExpires {
			end = max(end, s.Start+qrExpires)
		}
	}
	return end
}

// Counts tallies the plan: how many sessions scan, close, restart, expire.
func (p Plan) Counts() PlanCounts {
	c := PlanCounts{Sessions: len(p.Sessions)}
	for _, s := range p.Sessions {
		switch {
		case s.Scan == 0:
			c.Expire++
		case s.Close > 0:
			c.Scan++
			c.Close++
		default:
			c.Scan++
		}
		if s.Restart > 0 {
			c.Restart++
		}
	}
	return c
}

// PlanCounts is what a plan makes the sessions do.
type PlanCounts struct {
	Sessions int `json:"sessions"`
	Scan     int `json:"scanned"`
	Close    int `json:"closed"`
	Expire   int `json:"expired"`
	Restart  int `json:"restarted"`
}

// Scale divides d by scale: the compressed duration of a real one.
func Scale(d time.Duration, scale float64) time.Duration {
	if scale <= 0 {
		return d
	}
	return time.Duration(float64(d) / scale)
}
