package loadtest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fleetSample is one reading of every instance and of Redis.
type fleetSample struct {
	at       time.Time
	procs    map[int]ProcSample // instance index → its /proc
	redisCPU float64            // used_cpu_user + used_cpu_sys, seconds
	loadAvg  float64            // 1-minute load average of the machine
}

// fleetSampler reads every instance's /proc, Redis's INFO and the load
// average every two seconds; marks split the run into phases.
type fleetSampler struct {
	f         *scaleFleet
	mu        sync.Mutex
	samples   []fleetSample
	redisPeak atomic.Int64
}

func newFleetSampler(f *scaleFleet) *fleetSampler {
	s := &fleetSampler{f: f}
	s.take(context.Background())
	return s
}

func (s *fleetSampler) run(ctx context.Context) {
	for sleepCtx(ctx, 2*time.Second) {
		s.take(ctx)
	}
}

func (s *fleetSampler) take(ctx context.Context) {
	fs := fleetSample{at: time.Now(), procs: map[int]ProcSample{}, loadAvg: loadAvg1()}
	for _, i := range s.f.live() {
		if p, err := ReadProc(s.f.gws[i].Pid); err == nil {
			fs.procs[i] = p
		}
	}
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if info, err := s.f.rc.Info(ictx, "memory", "cpu").Result(); err == nil {
		if v, err := ParseInfoInt(info, "used_memory"); err == nil {
			storeMax(&s.redisPeak, v)
		}
		fs.redisCPU = infoFloat(info, "used_cpu_user") + infoFloat(info, "used_cpu_sys")
	}
	s.mu.Lock()
	s.samples = append(s.samples, fs)
	s.mu.Unlock()
}

// mark takes a sample now and returns its index.
func (s *fleetSampler) mark() int {
	s.take(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples) - 1
}

func (s *fleetSampler) first() int { return 0 }

// cpu is instance i's CPU between two marks, in % of one core.
func (s *fleetSampler) cpu(i, from, to int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok1 := s.samples[from].procs[i]
	b, ok2 := s.samples[to].procs[i]
	if !ok1 || !ok2 {
		return 0
	}
	return CPUPercent(a, b)
}

// cpuSeconds is instance i's CPU time between two marks.
func (s *fleetSampler) cpuSeconds(i, from, to int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok1 := s.samples[from].procs[i]
	b, ok2 := s.samples[to].procs[i]
	if !ok1 || !ok2 {
		return 0
	}
	return round3((b.CPU - a.CPU).Seconds())
}

// redisCPU is Redis's CPU between two marks, in % of one core.
func (s *fleetSampler) redisCPU(from, to int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, b := s.samples[from], s.samples[to]
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return 0
	}
	return round3(100 * (b.redisCPU - a.redisCPU) / wall)
}

// loadAvg is the highest and the mean 1-minute load average sampled.
func (s *fleetSampler) loadAvg() (peak, mean float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.samples {
		peak = max(peak, x.loadAvg)
		mean += x.loadAvg
	}
	if len(s.samples) > 0 {
		mean /= float64(len(s.samples))
	}
	return round3(peak), round3(mean)
}

func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// infoFloat is a float field of an INFO reply, 0 when absent.
func infoFloat(info, key string) float64 {
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && k == key {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
