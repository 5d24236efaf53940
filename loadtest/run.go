package loadtest

import (
	"context"
	"fmt"
	"time"

	"wagateway/service"
)

// Run sets up, runs every mode of opts in order and returns the finished
// report. With an external gateway and no modes, it runs the gateway's own.
func Run(ctx context.Context, opts Options, th Thresholds, command string) (*Report, error) {
	r, err := NewRunner(opts)
	if err != nil {
		return nil, err
	}
	cleanup, err := r.Setup(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	modes := opts.Modes
	if len(modes) == 0 {
		m, err := NewGatewayClient(opts.GatewayURL, 1).BatchMetrics(ctx)
		if err != nil {
			return nil, fmt.Errorf("gateway mode: %w", err)
		}
		modes = []service.DeliveryMode{m.Mode}
	}
	rep := &Report{
		StartedAt: time.Now().UTC(), Command: command, Machine: ThisMachine(),
		Workload: opts.Workload, Plan: r.Plan().Counts(), Settings: r.Settings(),
		Source: "external gateway",
	}
	if opts.GatewayURL == "" {
		if root, err := ModuleRoot(); err == nil {
			rep.Source = SourceVersion(ctx, root)
		}
	}
	for _, mode := range modes {
		r.log.InfoContext(ctx, "mode starting", "mode", mode, "sessions", opts.Workload.Sessions)
		res, err := r.RunMode(ctx, mode)
		if err != nil {
			return nil, fmt.Errorf("%s mode: %w", mode, err)
		}
		rep.Modes = append(rep.Modes, res)
	}
	rep.Notes = notes(opts, rep)
	rep.Finish(th)
	return rep, nil
}

func notes(opts Options, rep *Report) []string {
	var n []string
	if opts.LaravelApp {
		n = append(n, "Laravel is the real app (contracts/laravel: Laravel 8 on PHP 8.2, one php -S process, SQLite, fresh per mode) in front of the in-process mock, which only keeps the counts: handling is PHP's own time per request (its Server-Timing, framework boot included), CPU the php process's user+system seconds over the mode.")
	}
	if opts.LaravelURL != "" {
		n = append(n, "External mock Laravel: delivery latency and the lower bound need the in-process mock and were not measured.")
	}
	if opts.TimeScale != 1 {
		n = append(n, fmt.Sprintf("The gateway manager checks QR expiry every %s (not scaled): expiries land up to that late.", managerTick))
	}
	budget := Scale(2*time.Second, opts.TimeScale) // the HIGH-lane latency promise, scaled
	for _, m := range rep.Modes {
		if lag := m.ActionLag.P99; lag > 0.1*msOf(budget) {
			n = append(n, fmt.Sprintf("%s: the load generator sent its requests up to %s ms late (p99): the gateway answered slowly or the machine was busy; the latencies include that.", m.Mode, ms(lag)))
		}
		if !m.Drained {
			n = append(n, fmt.Sprintf("%s: the outbox did not empty within the drain time (%s).", m.Mode, opts.Drain))
		}
		for k, c := range m.ActionErrors {
			n = append(n, fmt.Sprintf("%s: %d plan requests failed (%s).", m.Mode, c, k))
		}
	}
	return n
}

// ReportChart is the requests-per-second chart of a report's modes.
func ReportChart(r *Report) string {
	colors := map[service.DeliveryMode]string{service.DeliveryModeDirect: "#d62728", service.DeliveryModeBatch: "#1f77b4"}
	var series []Series
	for _, m := range r.Modes {
		series = append(series, Series{Name: string(m.Mode), Color: colors[m.Mode], Data: m.PerSecond})
	}
	title := fmt.Sprintf("Requests per second to Laravel, %d sessions", r.Plan.Sessions)
	if r.Settings.TimeScale != 1 {
		title += fmt.Sprintf(" (time ×%g)", r.Settings.TimeScale)
	}
	return ChartSVG(title, series)
}
