package loadtest

import (
	"fmt"
	"strings"
)

// ScaleMarkdown renders one or more scale runs: the capacity table (one
// row per instance per run) and each run's checks.
func ScaleMarkdown(reps []ScaleReport) string {
	var b strings.Builder
	if len(reps) == 0 {
		return ""
	}
	r0 := reps[0]
	fmt.Fprintf(&b, "**Scale-out** (`%s`), source %s: %d sessions per run, %d scan (active), %d never scan (expire); time ×%g, LEASE_TTL %s.\n\n",
		r0.Command, r0.Source, r0.Counts.Sessions, r0.Counts.Scan, r0.Counts.Expire, r0.Settings.TimeScale, r0.LeaseTTL)
	b.WriteString("| instances | instance | active sessions | CPU while pairing: s (% of a core) | CPU steady (% of a core) | peak RSS (MB) | RSS steady (MB) | goroutines |\n|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range reps {
		for _, u := range r.Usage {
			fmt.Fprintf(&b, "| %d | %s | %d | %.1f (%.1f) | %.1f | %.1f | %.1f | %d |\n", r.Instances, u.ID, u.Sessions, u.RampCPUSec, u.RampCPU, u.SteadyCPU, u.PeakRSSMB, u.RSSMB, u.Goroutines)
		}
	}
	b.WriteString("\n| instances | plan sent / settled (s) | Redis used_memory peak / end (MB), keys | Redis CPU pairing / steady (%) | GET /sessions (cluster) | ownership rounds, doubles | Laravel wrong | load avg 1-min max / mean | result |\n|---:|---|---|---|---|---|---:|---|---|\n")
	for _, r := range reps {
		res := "✅"
		if !r.Passed {
			res = "❌ " + strings.Join(r.Failures, "; ")
		}
		fmt.Fprintf(&b, "| %d | %.0f / %.0f | %.1f / %.1f, %d | %.1f / %.1f | %d sessions (%d with no state) in %.3f s | %d, %d | %d | %.1f / %.1f | %s |\n",
			r.Instances, r.RampSeconds, r.SettleSeconds, r.RedisPeakMB, r.RedisEndMB, r.RedisKeys, r.RedisRampCPU, r.RedisSteadyCPU,
			r.ListCount, r.ListUnknown, r.ListSeconds, r.OwnershipRounds, len(r.Doubles), r.LaravelDiff, r.LoadAvgMax, r.LoadAvgMean, res)
	}
	for _, r := range reps {
		if r.Killed != "" {
			fmt.Fprintf(&b, "\nkill -9 of %s (%d active sessions) with %d instances: every one on exactly one survivor after %.1f s (LEASE_TTL %s).\n",
				r.Killed, r.KilledActive, r.Instances, r.TakeoverSeconds, r.LeaseTTL)
		}
		if r.Termed != "" {
			fmt.Fprintf(&b, "\nSIGTERM of %s (%d active sessions) with %d others live: it exited after %.1f s, every session on exactly one other instance after %.1f s; Laravel showed %d of them as not active meanwhile (read every 0.5 s).\n",
				r.Termed, r.TermedActive, len(r.Usage)-1-btoi(r.Killed != ""), r.TermExitSeconds, r.HandoverSeconds, r.HandoverFlaps)
		}
		if len(r.ActionErrors) > 0 {
			fmt.Fprintf(&b, "\nplan request errors with %d instances: %v\n", r.Instances, r.ActionErrors)
		}
	}
	if last := reps[len(reps)-1]; last.Uptime != "" {
		fmt.Fprintf(&b, "\n`uptime` at the end: %s\n", last.Uptime)
	}
	return b.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
