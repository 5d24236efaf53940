package loadtest

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"wagateway/service"
)

// Report is the outcome of a run: the JSON of -out and the Markdown table.
type Report struct {
	StartedAt time.Time      `json:"started_at"`
	Command   string         `json:"command"`
	Source    string         `json:"source"` // commit the gateway was built from
	Machine   Machine        `json:"machine"`
	Workload  WorkloadConfig `json:"workload"`
	Plan      PlanCounts     `json:"plan"`
	Settings  Settings       `json:"settings"`
	Modes     []ModeResult   `json:"modes"`

	// Reduction is 1 − batch/direct delivery requests; ReductionPerEvent
	// compares requests per accepted event (the two runs' event counts may
	// differ by a few, when an expiry races a QR rotation).
	Reduction         *float64 `json:"reduction,omitempty"`
	ReductionPerEvent *float64 `json:"reduction_per_event,omitempty"`
	// LowerBound is the fewest requests an ideal batcher could send for the
	// workload's complete event timeline (the direct run's, where every
	// event is its own request; else the batch run's delivered items).
	LowerBound     int            `json:"lower_bound"`
	LowerBoundFrom string         `json:"lower_bound_from,omitempty"`
	BatchVsBound   *float64       `json:"batch_vs_bound,omitempty"` // batch requests / lower bound
	Checks         []Check        `json:"checks"`
	Passed         bool           `json:"passed"`
	Thresholds     Thresholds     `json:"thresholds"`
	Notes          []string       `json:"notes,omitempty"`
	LowerBoundLane map[string]int `json:"lower_bound_by_lane,omitempty"`
}

// Machine describes where the numbers come from.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
}

// ThisMachine describes the running machine.
func ThisMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
}

// Mode returns the result of mode, if it ran.
func (r *Report) Mode(mode service.DeliveryMode) (ModeResult, bool) {
	for _, m := range r.Modes {
		if m.Mode == mode {
			return m, true
		}
	}
	return ModeResult{}, false
}

// Finish computes the comparison, the lower bound and the checks.
func (r *Report) Finish(th Thresholds) {
	r.Thresholds = th
	direct, hasDirect := r.Mode(service.DeliveryModeDirect)
	batch, hasBatch := r.Mode(service.DeliveryModeBatch)
	if hasDirect && hasBatch && direct.LaravelRequests > 0 {
		red := 1 - float64(batch.LaravelRequests)/float64(direct.LaravelRequests)
		red = round3(red * 100)
		r.Reduction = &red
		if direct.Events > 0 && batch.Events > 0 {
			per := 1 - (float64(batch.LaravelRequests)/float64(batch.Events))/(float64(direct.LaravelRequests)/float64(direct.Events))
			per = round3(per * 100)
			r.ReductionPerEvent = &per
		}
	}
	var bound map[service.Lane]int
	switch {
	case hasDirect && direct.LowerBound != nil:
		bound, r.LowerBoundFrom = direct.LowerBound, "direct run's event timeline"
	case hasBatch && batch.LowerBound != nil:
		bound, r.LowerBoundFrom = batch.LowerBound, "batch run's delivered items"
	}
	if bound != nil {
		r.LowerBound = Total(bound)
		r.LowerBoundLane = map[string]int{}
		for l, n := range bound {
			r.LowerBoundLane[string(l)] = n
		}
		if hasBatch && r.LowerBound > 0 {
			v := round3(float64(batch.LaravelRequests) / float64(r.LowerBound))
			r.BatchVsBound = &v
		}
	}
	r.Checks = th.Evaluate(r)
	r.Passed = true
	for _, c := range r.Checks {
		r.Passed = r.Passed && c.OK
	}
}

// Markdown renders the report: settings, then the modes side by side, then the checks.
func (r *Report) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	wl := r.Workload
	w("**Workload** (seed %d): %d sessions starting over %s; %d scan after %s–%s, %d of them closed %s–%s later; %d never scan (expire); %d reload /start within %s–%s.\n\n",
		wl.Seed, r.Plan.Sessions, wl.Ramp, r.Plan.Scan, wl.ScanDelayMin, wl.ScanDelayMax, r.Plan.Close, wl.CloseDelayMin, wl.CloseDelayMax,
		r.Plan.Expire, r.Plan.Restart, wl.RestartDelayMin, wl.RestartDelayMax)
	s := r.Settings
	if s.TimeScale != 1 {
		w("**Time scale ×%g**: every interval divided by %g — SIM_TIME_SCALE=%g, BATCH_INTERVAL=%s, PRIORITY_INTERVAL=%s, QR_EXPIRES=%s, QR_THROTTLE=%s, CACHE_TTL_QR/STATUS/CONNECTION=%s/%s/%s, workload times too. Latencies below are real (compressed) milliseconds; %s.\n\n",
			s.TimeScale, s.TimeScale, s.TimeScale, s.Scaled["BATCH_INTERVAL"], s.Scaled["PRIORITY_INTERVAL"], s.Scaled["QR_EXPIRES"], s.Scaled["QR_THROTTLE"],
			s.Scaled["CACHE_TTL_QR"], s.Scaled["CACHE_TTL_STATUS"], s.Scaled["CACHE_TTL_CONNECTION"], r.latencyGate())
	} else {
		w("**Real time**: BATCH_INTERVAL=%s, PRIORITY_INTERVAL=%s, QR_EXPIRES=%s, QR_THROTTLE=%s.\n\n",
			s.Scaled["BATCH_INTERVAL"], s.Scaled["PRIORITY_INTERVAL"], s.Scaled["QR_EXPIRES"], s.Scaled["QR_THROTTLE"])
	}
	w("BATCH_SIZE=%d · %s, %d CPUs, %s · source %s · %s\n\n", s.BatchSize, r.Machine.OS, r.Machine.CPUs, r.Machine.GoVersion,
		r.Source, r.StartedAt.Format("2006-01-02 15:04 MST"))

	w("| metric |")
	for _, m := range r.Modes {
		w(" %s |", m.Mode)
	}
	w("\n|---|")
	for range r.Modes {
		w("---:|")
	}
	w("\n")
	row := func(name string, cell func(m ModeResult) string) {
		w("| %s |", name)
		for _, m := range r.Modes {
			w(" %s |", cell(m))
		}
		w("\n")
	}
	row("events accepted by the gateway", func(m ModeResult) string { return fmt.Sprint(m.Events) })
	row("requests Laravel received (QR + status POSTs)", func(m ModeResult) string { return "**" + fmt.Sprint(m.LaravelRequests) + "**" })
	row("items in them / superseded before sending", func(m ModeResult) string { return fmt.Sprintf("%d / %d", m.LaravelItems, m.Superseded) })
	row("requests per event", func(m ModeResult) string {
		if m.Events == 0 {
			return "–"
		}
		return fmt.Sprintf("%.3f", float64(m.LaravelRequests)/float64(m.Events))
	})
	row("lower bound of requests (ideal batcher)", func(m ModeResult) string {
		if m.Mode == service.DeliveryModeBatch && r.LowerBound > 0 {
			return fmt.Sprintf("%d (batch sent %.2f×)", r.LowerBound, deref(r.BatchVsBound))
		}
		if m.Mode == service.DeliveryModeDirect {
			return "1 per event"
		}
		return "–"
	})
	for _, l := range service.Lanes {
		row(fmt.Sprintf("delivery %s lane p50 / p95 / p99 (ms)", strings.ToUpper(string(l))), func(m ModeResult) string {
			d, ok := m.Delivery[l]
			if !ok || d.Count == 0 {
				return "–"
			}
			return fmt.Sprintf("%s / %s / %s", ms(d.P50), ms(d.P95), ms(d.P99))
		})
	}
	row("flush interval measured HIGH / NORMAL (ms)", func(m ModeResult) string {
		high, okH := m.FlushIntervalMS[service.LaneHigh]
		normal, okN := m.FlushIntervalMS[service.LaneNormal]
		if m.Mode != service.DeliveryModeBatch || !okH || !okN {
			return "–"
		}
		return fmt.Sprintf("%s / %s", ms(high), ms(normal))
	})
	row("Laravel handling p50 / p99 (ms), QR endpoint", func(m ModeResult) string { return handling(m, true) })
	row("Laravel handling p50 / p99 (ms), status endpoint", func(m ModeResult) string { return handling(m, false) })
	if r.laravelApp() {
		row("Laravel (PHP) CPU seconds, peak RSS (MB)", func(m ModeResult) string {
			return fmt.Sprintf("%.2f s, %.1f", m.LaravelCPUSeconds, m.LaravelPeakRSSMB)
		})
		row("Laravel round trip p50 / p99 (ms), QR; status (waits for the one PHP process)", func(m ModeResult) string {
			return roundTrip(m)
		})
	}
	row("gateway CPU avg / peak (% of one core)", func(m ModeResult) string {
		if m.GatewayPeakRSSMB == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f / %.1f", m.GatewayCPUPercent, m.GatewayCPUPeakPercent)
	})
	row("gateway peak RSS (MB)", func(m ModeResult) string {
		if m.GatewayPeakRSSMB == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f", m.GatewayPeakRSSMB)
	})
	row("gateway goroutines / open fds (peak)", func(m ModeResult) string {
		return fmt.Sprintf("%s / %s", countOrDash(m.GatewayGoroutinesPeak), countOrDash(m.GatewayFDsPeak))
	})
	row("store: Redis used_memory / embedded DATA_DIR peak (MB)", func(m ModeResult) string {
		switch m.Store {
		case StoreEmbedded:
			return fmt.Sprintf("embedded %.2f", m.StoreFileMB)
		case StoreMemory:
			return "in process (OUTBOX=memory, not durable)"
		}
		return fmt.Sprintf("redis %.2f", m.RedisUsedMemoryMB)
	})
	row("GET /sessions/{id} p50 / p99 (ms), reads", func(m ModeResult) string {
		return fmt.Sprintf("%s / %s, %d (%d errors)", ms(m.Reads.P50), ms(m.Reads.P99), m.Reads.Count, m.ReadErrors)
	})
	row("undelivered / dead-lettered / retries", func(m ModeResult) string {
		return fmt.Sprintf("%d / %d / %d", m.Undelivered(), m.DeadLettered, m.Retries)
	})
	row("run time (s), load generator lag p99 (ms)", func(m ModeResult) string {
		return fmt.Sprintf("%.1f, %s", m.Duration, ms(m.ActionLag.P99))
	})
	w("\n")
	if r.Reduction != nil {
		w("**Reduction: %.1f%%** fewer requests to Laravel (batch vs direct); per accepted event %.1f%%.\n\n", *r.Reduction, deref(r.ReductionPerEvent))
	}
	if len(r.Checks) > 0 {
		w("| check | threshold | measured | |\n|---|---|---|---|\n")
		for _, c := range r.Checks {
			mark := "✅"
			if !c.OK {
				mark = "❌ missed"
			}
			w("| %s | %s | %s | %s |\n", c.Name, c.Threshold, c.Measured, mark)
		}
		w("\n")
	}
	for _, n := range r.Notes {
		w("- %s\n", n)
	}
	return b.String()
}

// latencyGate says how the checks below treat latency.
func (r *Report) latencyGate() string {
	if r.Thresholds.Relative {
		return "latency is checked relative to the flush interval measured in the same run, no absolute time (a busy machine cannot fail it)"
	}
	return fmt.Sprintf("the latency thresholds were divided by %g", r.Settings.TimeScale)
}

// laravelApp reports whether the modes ran against the real Laravel app.
func (r *Report) laravelApp() bool {
	for _, m := range r.Modes {
		if m.LaravelCPUSeconds > 0 || len(m.LaravelRoundTrip) > 0 {
			return true
		}
	}
	return false
}

func roundTrip(m ModeResult) string {
	var parts []string
	for _, k := range []string{"POST /api/qr/batch", "POST /api/qr", "POST /api/whatsapp/status/batch", "POST /api/whatsapp/status"} {
		if h, ok := m.LaravelRoundTrip[k]; ok && h.Count > 0 {
			parts = append(parts, fmt.Sprintf("%s / %s", ms(h.P50), ms(h.P99)))
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, "; ")
}

func countOrDash(n int64) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprint(n)
}

func handling(m ModeResult, qr bool) string {
	keys := []string{"POST /api/whatsapp/status/batch", "POST /api/whatsapp/status"}
	if qr {
		keys = []string{"POST /api/qr/batch", "POST /api/qr"}
	}
	var parts []string
	for _, k := range keys {
		if h, ok := m.Handling[k]; ok && h.Count > 0 {
			parts = append(parts, fmt.Sprintf("%s / %s", ms(h.P50), ms(h.P99)))
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, "; ")
}

// ms prints milliseconds with sensible precision.
func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
