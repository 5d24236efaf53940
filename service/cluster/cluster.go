// Package cluster makes several gateway instances on one Redis behave as
// one gateway: each instance beats its heart in the instance registry (with
// its ADVERTISE_URL and load), says which instance serves a session (the
// HTTP API forwards there), and takes over its fair share of the sessions
// whose lease lapsed because their instance died or was cut off.
//
// It owns no session itself: starting one is the session manager's job,
// and the lease store decides who holds what. It must never start a session
// whose lease another live instance holds (Start refuses it anyway).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"wagateway/service"
)

// Sessions is what the node needs of the session manager.
type Sessions interface {
	// Start runs the session here, taking its lease (ECONFLICT when another
	// instance holds it, EUNAVAILABLE when this instance is full).
	Start(ctx context.Context, id string) (service.Session, error)
	// Running counts the sessions running here.
	Running() int
	// IsRunning reports whether id runs here.
	IsRunning(id string) bool
}

// Leases is what the node needs of the lease store.
type Leases interface {
	// Owner names the instance holding the session's lease, "" when none.
	Owner(ctx context.Context, sessionID string) (string, error)
	// Orphans maps the sessions that should run and have no lease to
	// their last owner ("" when handed over).
	Orphans(ctx context.Context) (map[string]string, error)
}

// Config tunes a Node; zero fields take the defaults.
type Config struct {
	Instance     string // INSTANCE_ID
	AdvertiseURL string // ADVERTISE_URL: how the others reach this instance
	MaxSessions  int    // MAX_SESSIONS, 0 = unlimited
	// LeaseTTL (LEASE_TTL) paces the heartbeat: one beat every LeaseTTL/3,
	// each valid for two beats; an instance missing that long is dead.
	LeaseTTL time.Duration
	// ScanInterval is how often orphans are looked for (default 1s, at most
	// LeaseTTL/6), with up to a quarter of it as random jitter so the
	// survivors do not scan in lockstep.
	ScanInterval time.Duration
	// RegistryCache is how long a read of the live instances is reused for
	// routing (default 1s).
	RegistryCache time.Duration
	Clock         service.Clock
	Rand          *rand.Rand // default seeded from the instance name
	Logger        *slog.Logger
}

// takeoverParallel is how many orphans one node starts at once: enough to
// keep Redis round trips overlapping when a dead instance left thousands
// (8 took 8.9 s past the lease for 17,620 sessions on 3 survivors).
const takeoverParallel = 32

// Node is this instance's member of the cluster.
type Node struct {
	cfg       Config
	leases    Leases
	instances service.Instances
	sessions  Sessions
	log       *slog.Logger
	started   time.Time

	mu       sync.Mutex
	rand     *rand.Rand
	live     []service.Instance
	liveAt   time.Time
	takeover int64 // sessions taken over since start
}

// New returns a node; Run keeps it in the registry and takes orphans over.
func New(cfg Config, leases Leases, instances service.Instances, sessions Sessions) *Node {
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = time.Second
	}
	cfg.ScanInterval = min(cfg.ScanInterval, cfg.LeaseTTL/6)
	if cfg.RegistryCache <= 0 {
		cfg.RegistryCache = time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = service.SystemClock{}
	}
	if cfg.Rand == nil {
		var seed uint64
		for _, c := range cfg.Instance {
			seed = seed*31 + uint64(c)
		}
		cfg.Rand = rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Node{
		cfg: cfg, leases: leases, instances: instances, sessions: sessions,
		log:     cfg.Logger.With("component", "cluster", "instance", cfg.Instance),
		started: cfg.Clock.Now(), rand: cfg.Rand,
	}
}

// Self is this instance as the registry shows it.
func (n *Node) Self() service.Instance {
	return service.Instance{ID: n.cfg.Instance, URL: n.cfg.AdvertiseURL, Sessions: n.sessions.Running(),
		MaxSessions: n.cfg.MaxSessions, StartedAt: n.started}
}

// Run beats the heart and scans for orphans until ctx ends.
func (n *Node) Run(ctx context.Context) error {
	n.Heartbeat(ctx)
	beat := n.cfg.Clock.After(n.cfg.LeaseTTL / 3)
	scan := n.cfg.Clock.After(n.jittered())
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat:
			n.Heartbeat(ctx)
			beat = n.cfg.Clock.After(n.cfg.LeaseTTL / 3)
		case <-scan:
			n.TakeOver(ctx)
			scan = n.cfg.Clock.After(n.jittered())
		}
	}
}

func (n *Node) jittered() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.ScanInterval + time.Duration(n.rand.Int64N(int64(n.cfg.ScanInterval/4)+1))
}

// Heartbeat records this instance as live; a failure is logged (the next
// beat retries, and a lapse only means others may take our sessions, which
// the leases guard anyway).
func (n *Node) Heartbeat(ctx context.Context) {
	// Two beats long: a dead instance leaves the registry before its leases
	// lapse, so the survivors' first scan shares its sessions among the
	// live ones only; one late beat does not drop a live one.
	if err := n.instances.Heartbeat(ctx, n.Self(), 2*n.cfg.LeaseTTL/3); err != nil {
		n.log.Warn("heartbeat", "err", err)
	}
}

// Leave removes this instance from the registry at once (graceful stop).
func (n *Node) Leave(ctx context.Context) error {
	return n.instances.Leave(ctx, n.cfg.Instance)
}

// Live lists the live instances, this one included, reusing a read younger
// than RegistryCache.
func (n *Node) Live(ctx context.Context) ([]service.Instance, error) {
	now := n.cfg.Clock.Now()
	n.mu.Lock()
	if n.live != nil && now.Sub(n.liveAt) < n.cfg.RegistryCache {
		live := n.live
		n.mu.Unlock()
		return live, nil
	}
	n.mu.Unlock()
	live, err := n.instances.Live(ctx)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.live, n.liveAt = live, now
	n.mu.Unlock()
	return live, nil
}

// Others counts the live instances besides this one, read fresh: on
// shutdown it decides between handing sessions over and stopping them.
func (n *Node) Others(ctx context.Context) (int, error) {
	live, err := n.instances.Live(ctx)
	if err != nil {
		return 0, err
	}
	others := 0
	for _, in := range live {
		if in.ID != n.cfg.Instance {
			others++
		}
	}
	return others, nil
}

// Route is the HTTP API's Router: the URL of the instance that serves a
// request for session id, "" for this one. A session runs where its lease
// is; an unowned one, when the request may start it, goes here if this
// instance has room, else to the live instance with the most room.
func (n *Node) Route(ctx context.Context, id string, starting bool) (string, error) {
	if n.sessions.IsRunning(id) {
		return "", nil
	}
	owner, err := n.leases.Owner(ctx, id)
	if err != nil {
		return "", fmt.Errorf("route %s: %w", id, err)
	}
	if owner == n.cfg.Instance {
		return "", nil
	}
	live, err := n.Live(ctx)
	if err != nil {
		return "", fmt.Errorf("route %s: %w", id, err)
	}
	if owner != "" {
		for _, in := range live {
			if in.ID == owner && in.URL != "" {
				return in.URL, nil
			}
		}
		// The owner's heartbeat lapsed: its lease will too, and a survivor
		// takes the session over; meanwhile it cannot be served anywhere.
		return "", service.Errorf(service.EUNAVAILABLE, "session %s is held by %s, which is not live; it is taken over within LEASE_TTL", id, owner)
	}
	if !starting || n.Self().HasRoom() {
		return "", nil
	}
	var best *service.Instance
	for i, in := range live {
		if in.ID == n.cfg.Instance || in.URL == "" || !in.HasRoom() {
			continue
		}
		if best == nil || room(in) > room(*best) {
			best = &live[i]
		}
	}
	if best == nil {
		return "", service.Errorf(service.EUNAVAILABLE, "every instance runs MAX_SESSIONS sessions; add an instance or raise MAX_SESSIONS")
	}
	return best.URL, nil
}

// RouteRead is Route for a request that only reads (GET). When this is the
// only live instance no other can answer better, so it serves the request
// here without asking the lease store who holds the session (a Redis round
// trip per read of a session not running here). A session whose owner's
// heartbeat lapsed, or that an instance joined less than RegistryCache ago
// runs, is then answered from the caches instead of forwarded or refused.
func (n *Node) RouteRead(ctx context.Context, id string) (string, error) {
	if n.sessions.IsRunning(id) {
		return "", nil
	}
	if live, err := n.Live(ctx); err == nil && len(live) == 1 && live[0].ID == n.cfg.Instance {
		return "", nil
	}
	return n.Route(ctx, id, false)
}

// room is how many more sessions an instance may start (huge when unlimited).
func room(in service.Instance) int {
	if in.MaxSessions <= 0 {
		return 1 << 30
	}
	return in.MaxSessions - in.Sessions
}

// TakeOver starts this instance's fair share of the orphans: at most
// ceil(orphans / live instances), within MAX_SESSIONS, picked at random so
// survivors scanning at once mostly pick different ones. It returns how
// many it started.
func (n *Node) TakeOver(ctx context.Context) int {
	all, err := n.leases.Orphans(ctx)
	if err != nil {
		n.log.Warn("look for orphaned sessions", "err", err)
		return 0
	}
	if len(all) == 0 {
		return 0
	}
	live, err := n.instances.Live(ctx)
	if err != nil {
		n.log.Warn("live instances", "err", err)
		return 0
	}
	// A session whose last owner is alive lost only its lease record (a
	// Redis failover): the owner still runs it and takes the lease back at
	// its next renewal. Taking it would run it twice.
	alive := map[string]bool{}
	for _, in := range live {
		alive[in.ID] = true
	}
	orphans := make([]string, 0, len(all))
	for id, owner := range all {
		// Our own name on a session we do not run: an earlier process of
		// this instance (restarted with the same INSTANCE_ID) left it.
		mine := owner == n.cfg.Instance && !n.sessions.IsRunning(id)
		if owner == "" || !alive[owner] || mine {
			orphans = append(orphans, id)
		}
	}
	if len(orphans) == 0 {
		return 0
	}
	slices.Sort(orphans) // map order is random; the shuffle below is the injected one
	share := (len(orphans) + max(len(live), 1) - 1) / max(len(live), 1)
	if n.cfg.MaxSessions > 0 {
		share = min(share, n.cfg.MaxSessions-n.sessions.Running())
	}
	n.mu.Lock()
	n.rand.Shuffle(len(orphans), func(i, j int) { orphans[i], orphans[j] = orphans[j], orphans[i] })
	n.mu.Unlock()
	// A few starts at once: each is a few Redis round trips, and a dead
	// instance may have left thousands.
	var (
		mu      sync.Mutex
		started int
		next    int
		wg      sync.WaitGroup
	)
	for range takeoverParallel {
		wg.Go(func() {
			for {
				mu.Lock()
				if started >= share || next >= len(orphans) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				id := orphans[next]
				next++
				started++ // reserved; given back if the start fails
				mu.Unlock()
				_, err := n.sessions.Start(ctx, id)
				if err != nil {
					mu.Lock()
					started--
					mu.Unlock()
				}
				switch {
				case err == nil:
					n.log.Info("session taken over", "session_id", id)
				case service.ErrorCode(err) == service.ECONFLICT, errors.Is(err, context.Canceled):
					// Another survivor was quicker, or we are stopping.
				default:
					n.log.Warn("take over session", "session_id", id, "err", err)
				}
			}
		})
	}
	wg.Wait()
	if started > 0 {
		n.mu.Lock()
		n.takeover += int64(started)
		n.mu.Unlock()
		n.log.Info("orphaned sessions taken over", "count", started, "orphans", len(orphans), "live_instances", len(live))
	}
	return started
}

// TakenOver counts the sessions this instance took over since start.
func (n *Node) TakenOver() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.takeover
}
