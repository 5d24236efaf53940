//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// scaleLeaseTTL is the LEASE_TTL of the scale scenarios: short, so a
// takeover is seconds, not half a minute.
const scaleLeaseTTL = 3 * time.Second

// Fleet is several gateway instances on one Redis, as behind a load
// balancer, and a watcher that asks every instance every 150 ms which
// sessions it runs, for the whole test: a session listed by two instances in
// one round is a double ownership.
type Fleet struct {
	t   *testing.T
	env []string // shared by every instance

	mu     sync.Mutex
	gws    map[string]*Gateway // instance id → its process, while it runs
	rounds int
	last   map[string][]LocalSession // instance id → its sessions in the last round
	double []string                  // violations: "<time> <session> on a, b"
	stop   chan struct{}
	done   chan struct{}
}

// LocalSession is one entry of GET /sessions?scope=local.
type LocalSession struct {
	SessionID string `json:"session_id"`
	Status    string `json:"estado_qr"`
	Instance  string `json:"instance"`
}

// startFleet starts n instances gw-1…gw-n with env and the watcher.
func startFleet(t *testing.T, n int, env ...string) *Fleet {
	t.Helper()
	f := &Fleet{t: t, env: append([]string{"LEASE_TTL=" + scaleLeaseTTL.String()}, env...),
		gws: map[string]*Gateway{}, last: map[string][]LocalSession{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for i := 1; i <= n; i++ {
		f.Start(fmt.Sprintf("gw-%d", i))
	}
	go f.watch()
	t.Cleanup(f.stopWatch)
	return f
}

// Start runs instance id (again) and waits until it serves.
func (f *Fleet) Start(id string, extra ...string) *Gateway {
	f.t.Helper()
	g := startGateway(f.t, append(append(slices.Clone(f.env), "INSTANCE_ID="+id), extra...)...)
	f.mu.Lock()
	f.gws[id] = g
	f.mu.Unlock()
	return g
}

// Kill is kill -9 of instance id.
func (f *Fleet) Kill(id string) {
	f.t.Helper()
	g := f.take(id)
	g.Kill()
	g.Wait(f.t, 10*time.Second)
}

// Stop is SIGTERM of instance id, waiting for it to exit.
func (f *Fleet) Stop(id string) {
	f.t.Helper()
	g := f.take(id)
	g.Signal(f.t, syscall.SIGTERM)
	if code := g.Wait(f.t, 30*time.Second); code != 0 {
		f.t.Errorf("%s exited with %d after SIGTERM", id, code)
	}
}

func (f *Fleet) take(id string) *Gateway {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gws[id]
	if g == nil {
		f.t.Fatalf("instance %s is not running", id)
	}
	delete(f.gws, id)
	delete(f.last, id)
	return g
}

// Gateway returns the process of instance id.
func (f *Fleet) Gateway(id string) *Gateway {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gws[id]
}

// IDs lists the running instances.
func (f *Fleet) IDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.gws))
	for id := range f.gws {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Any returns a running instance picked at random, as a load balancer would.
func (f *Fleet) Any() *Gateway {
	ids := f.IDs()
	return f.Gateway(ids[rand.IntN(len(ids))])
}

// watch polls every instance at once every 150 ms until stopWatch.
func (f *Fleet) watch() {
	defer close(f.done)
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		f.mu.Lock()
		gws := make(map[string]*Gateway, len(f.gws))
		for id, g := range f.gws {
			gws[id] = g
		}
		f.mu.Unlock()
		var mu sync.Mutex
		round := map[string][]LocalSession{}
		var wg sync.WaitGroup
		for id, g := range gws {
			wg.Go(func() {
				var res struct {
					Sessions []LocalSession `json:"sessions"`
				}
				if _, err := g.Do(http.MethodGet, "/sessions?scope=local", nil, &res); err != nil {
					return // stopping or killed: it runs nothing the others need to know of
				}
				mu.Lock()
				round[id] = res.Sessions
				mu.Unlock()
			})
		}
		wg.Wait()
		where := map[string][]string{}
		for id, list := range round {
			for _, s := range list {
				where[s.SessionID] = append(where[s.SessionID], id)
			}
		}
		f.mu.Lock()
		f.rounds++
		for id, list := range round {
			// Only the process asked: a round that outlived a restart of
			// this instance id must not bring the old process's list back.
			if f.gws[id] == gws[id] {
				f.last[id] = list
			}
		}
		for sid, on := range where {
			if len(on) > 1 {
				sort.Strings(on)
				f.double = append(f.double, fmt.Sprintf("%s %s on %s", time.Now().Format("15:04:05.000"), sid, strings.Join(on, ", ")))
			}
		}
		f.mu.Unlock()
	}
}

func (f *Fleet) stopWatch() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

// CheckOwnership fails the test if any round saw a session on two
// instances, and says how many rounds were checked.
func (f *Fleet) CheckOwnership(t *testing.T, since time.Time) {
	t.Helper()
	f.mu.Lock()
	rounds, double := f.rounds, slices.Clone(f.double)
	f.mu.Unlock()
	t.Logf("double-ownership check: %d rounds (every 150 ms over %s), %d violations",
		rounds, time.Since(since).Round(time.Second), len(double))
	if len(double) > 0 {
		t.Errorf("a session ran on two instances at once:\n  %s", strings.Join(double[:min(len(double), 10)], "\n  "))
	}
}

// Running maps each session to the instances the last round saw it on,
// with status want ("" = any).
func (f *Fleet) Running(want string) map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for id, list := range f.last {
		for _, s := range list {
			if want == "" || s.Status == want {
				out[s.SessionID] = append(out[s.SessionID], id)
			}
		}
	}
	return out
}

// Rounds is how many watcher rounds have completed.
func (f *Fleet) Rounds() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rounds
}

// waitRound waits for a fresh watcher round.
func (f *Fleet) waitRound(t *testing.T) {
	t.Helper()
	n := f.Rounds()
	waitFor(t, 10*time.Second, "a watcher round", func() bool { return f.Rounds() > n+1 })
}

// KillAndMeasure kill -9s instance id and returns how long until every
// active session it ran is active on exactly one survivor.
func (f *Fleet) KillAndMeasure(t *testing.T, id string, limit time.Duration) (time.Duration, int) {
	t.Helper()
	f.waitRound(t)
	var mine []string
	for sid, on := range f.Running("active") {
		if slices.Contains(on, id) {
			mine = append(mine, sid)
		}
	}
	killed := time.Now()
	f.Kill(id)
	var missing string
	for {
		missing = ""
		running := f.Running("active")
		for _, sid := range mine {
			if on := running[sid]; len(on) != 1 {
				missing = fmt.Sprintf("%s on %v", sid, on)
				break
			}
		}
		if missing == "" {
			return time.Since(killed), len(mine)
		}
		if time.Since(killed) > limit {
			t.Fatalf("%s's %d active sessions not all taken over after %s: %s", id, len(mine), limit, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startFleetTraffic starts one session every interval through a random instance.
func startFleetTraffic(f *Fleet, prefix string, interval time.Duration) *Traffic {
	return startTrafficVia(f.Any, prefix, interval)
}

// startSpread starts n sessions "<prefix>-<i>" through random instances (8 at once).
func startSpread(t *testing.T, f *Fleet, prefix string, n int) []string {
	t.Helper()
	return startManyVia(t, f.Any, prefix, n)
}

// clusterStates waits until none of ids is pending in the cluster's view
// (GET /sessions through one instance) and returns each one's state.
func clusterStates(t *testing.T, f *Fleet, ids []string, limit time.Duration) map[string]string {
	t.Helper()
	var states map[string]string
	var waiting string
	defer func() {
		if t.Failed() && waiting != "" {
			t.Logf("still waiting for %s", waiting)
		}
	}()
	waitFor(t, limit, "every session active or expired in the cluster's list", func() bool {
		var res struct {
			Sessions []LocalSession `json:"sessions"`
		}
		if _, err := f.Any().Do(http.MethodGet, "/sessions", nil, &res); err != nil {
			return false
		}
		states = map[string]string{}
		for _, s := range res.Sessions {
			states[s.SessionID] = s.Status
		}
		for _, id := range ids {
			if st := states[id]; st != "active" && st != "expired" {
				waiting = fmt.Sprintf("%s (%q, %d sessions listed)", id, st, len(res.Sessions))
				return false
			}
		}
		waiting = ""
		return true
	})
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		out[id] = states[id]
	}
	return out
}

// inactiveSent lists the sessions of ids for which Laravel got an inactive
// status since from.
func inactiveSent(l *Laravel, ids map[string]bool, from time.Time) []string {
	var out []string
	for _, rq := range l.BatchRequests() {
		if rq.At.Before(from) {
			continue
		}
		for _, it := range rq.Items {
			if it.Status == "inactive" && ids[it.SessionID] {
				out = append(out, it.SessionID)
			}
		}
	}
	return out
}

// percentile is the p-th percentile (0..1) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1)*p + 0.5)
	return s[i]
}

// Usage logs each running instance's peak RSS and CPU time so far, read
// from /proc, with how many sessions it runs: the capacity figures of
// docs/scaling.md.
func (f *Fleet) Usage(t *testing.T) {
	t.Helper()
	running := f.Running("")
	per := map[string]int{}
	for _, on := range running {
		for _, id := range on {
			per[id]++
		}
	}
	for _, id := range f.IDs() {
		g := f.Gateway(id)
		pid := g.cmd.Process.Pid
		status, err1 := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		stat, err2 := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err1 != nil || err2 != nil {
			continue
		}
		rss := ""
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				rss = strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
			}
		}
		// Fields after the command name: utime and stime are the 14th and 15th.
		fields := strings.Fields(string(stat)[strings.LastIndexByte(string(stat), ')')+2:])
		ut, _ := strconv.Atoi(fields[11])
		st, _ := strconv.Atoi(fields[12])
		cpu := time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
		t.Logf("%s: %d sessions now, peak RSS %s, CPU %s over its %s of life", id, per[id], rss, cpu, time.Since(g.startedAt).Round(time.Second))
	}
}
