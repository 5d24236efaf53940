package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"wagateway/mocklaravel"
	"wagateway/service"
	"wagateway/service/session"
)

// Options configure a run.
type Options struct {
	Workload  WorkloadConfig
	TimeScale float64 // ≥ 1 compresses every interval and the workload alike
	BatchSize int
	Modes     []service.DeliveryMode

	LaravelURL string // a running mocklaravel; "" starts one in-process (and measures delivery delays)
	// LaravelApp puts the real Laravel app (contracts/laravel, one php -S
	// process, fresh per mode) in front of the in-process mock: the gateway
	// delivers to PHP, and the report adds PHP's CPU seconds and handling.
	LaravelApp bool
	GatewayURL string // a running gateway (its own DELIVERY_MODE); "" starts children
	GatewayPID int    // with GatewayURL: read its CPU and RSS from /proc
	GatewayBin string // a prebuilt gateway; "" builds ./service/cmd/gateway
	RedisURL   string // a Redis whose database is flushed before each mode; "": see StartRedis
	StartRedis bool   // with RedisURL "": a redis-server per mode; false: the embedded store in a fresh DATA_DIR per mode
	// OutboxMemory runs the gateways with OUTBOX=memory (outbox, cache and
	// leases in process, not durable): what the durable store costs.
	OutboxMemory bool
	RedisBin     string

	Workers      int           // concurrent plan requests
	Readers      int           // goroutines reading GET /sessions/{id}
	ReadInterval time.Duration // pause between one reader's reads
	Drain        time.Duration // longest wait for the outbox to empty after the plan ends (real time)
	PprofAddr    string        // PPROF_ADDR of the gateway children (loopback), to profile a run; "" off

	Dir      string // work dir for binaries and logs
	Logger   *slog.Logger
	Progress io.Writer // progress bar; nil for none
}

// managerTick is the gateway manager's QR-expiry tick (session.Tick); it is
// not scaled, so an expiry may come up to this late (in real time).
const managerTick = session.Tick

// Runner runs the same plan once per mode.
type Runner struct {
	opts     Options
	plan     Plan
	settings Settings
	log      *slog.Logger

	mock      *mocklaravel.Server // nil with an external mock
	app       *appProxy           // with Options.LaravelApp
	recorder  *Recorder
	mockURL   string
	mockAdmin *mocklaravel.Client
	gwBin     string
}

// NewRunner checks opts and prepares the plan.
func NewRunner(opts Options) (*Runner, error) {
	if err := opts.Workload.Validate(); err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	if opts.TimeScale < 1 {
		return nil, fmt.Errorf("time scale must be ≥ 1, got %v", opts.TimeScale)
	}
	for _, m := range opts.Modes {
		if m != service.DeliveryModeDirect && m != service.DeliveryModeBatch {
			return nil, fmt.Errorf("unknown mode %q", m)
		}
	}
	if opts.OutboxMemory && (opts.RedisURL != "" || opts.StartRedis || opts.GatewayURL != "") {
		return nil, fmt.Errorf("the memory outbox is for the gateways the load test starts, without Redis")
	}
	for _, u := range []string{opts.LaravelURL, opts.GatewayURL, opts.RedisURL} {
		if err := requireLoopback(u); err != nil {
			return nil, err
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Workers = max(opts.Workers, 1)
	return &Runner{
		opts:     opts,
		plan:     NewPlan(opts.Workload),
		settings: NewSettings(opts.TimeScale, opts.BatchSize),
		log:      opts.Logger,
	}, nil
}

// Plan is the seeded workload of the run.
func (r *Runner) Plan() Plan { return r.plan }

// Settings are the gateway settings of the run.
func (r *Runner) Settings() Settings { return r.settings }

// Setup starts the in-process mock (unless external) and builds the gateway.
func (r *Runner) Setup(ctx context.Context) (cleanup func(), err error) {
	var closers []func()
	cleanup = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	if r.opts.LaravelURL == "" {
		mock, err := mocklaravel.New(mocklaravel.Config{Logger: r.log.With("component", "mocklaravel")})
		if err != nil {
			return nil, fmt.Errorf("mock laravel: %w", err)
		}
		closers = append(closers, func() { _ = mock.Close() })
		r.mock = mock
		var next http.Handler = mock
		if r.opts.LaravelApp {
			r.app = newAppProxy(mock)
			next = r.app
		}
		r.recorder = NewRecorder(next, nil)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("mock laravel listen: %w", err)
		}
		srv := &http.Server{Handler: r.recorder, ReadHeaderTimeout: 10 * time.Second}
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = srv.Serve(ln)
		}()
		closers = append(closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			<-served
		})
		r.mockURL = "http://" + ln.Addr().String()
	} else {
		if r.opts.LaravelApp {
			return nil, fmt.Errorf("the Laravel app runs behind the in-process mock: leave the mock's URL empty")
		}
		r.mockURL = r.opts.LaravelURL
	}
	r.mockAdmin = mocklaravel.NewClient(r.mockURL)
	if err := r.mockAdmin.Health(ctx); err != nil {
		return nil, fmt.Errorf("mock laravel at %s: %w", r.mockURL, err)
	}
	if r.opts.GatewayURL == "" {
		r.gwBin = r.opts.GatewayBin
		if r.gwBin == "" {
			root, err := ModuleRoot()
			if err != nil {
				return nil, err
			}
			r.log.InfoContext(ctx, "building the gateway", "dir", r.opts.Dir)
			if r.gwBin, err = BuildGateway(ctx, root, r.opts.Dir); err != nil {
				return nil, err
			}
		}
	}
	return cleanup, nil
}
