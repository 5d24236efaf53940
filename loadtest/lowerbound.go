package loadtest

import (
	"slices"
	"time"

	"wagateway/service"
)

// Event is one QR or status change as Laravel received it, with its event time.
type Event struct {
	SessionID string         `json:"session_id"`
	Kind      service.Kind   `json:"kind"`
	Status    service.Status `json:"status,omitempty"`
	At        time.Time      `json:"at"`
}

// Lane is the lane the gateway puts the event on by default.
func (e Event) Lane() service.Lane { return service.LaneFor(e.Kind, e.Status) }

// LowerBound is the fewest requests any batcher with these flush intervals
// and batch size could have sent for events: the lanes flush every
// interval from origin, each flush sends ⌈distinct sessions / batchSize⌉
// requests per kind (QR and status go to different endpoints), and newer
// items of a session replace older ones within a flush. Events before origin
// count in the first flush.
func LowerBound(events []Event, origin time.Time, intervals map[service.Lane]time.Duration, batchSize int) map[service.Lane]int {
	type slot struct {
		lane service.Lane
		kind service.Kind
		tick int64
	}
	distinct := map[slot]map[string]struct{}{}
	for _, e := range events {
		lane := e.Lane()
		iv := intervals[lane]
		var tick int64
		if iv > 0 && e.At.After(origin) {
			tick = int64(e.At.Sub(origin) / iv)
		}
		k := slot{lane, e.Kind, tick}
		if distinct[k] == nil {
			distinct[k] = map[string]struct{}{}
		}
		distinct[k][e.SessionID] = struct{}{}
	}
	out := map[service.Lane]int{}
	for _, l := range service.Lanes {
		out[l] = 0
	}
	batchSize = max(batchSize, 1)
	for k, ids := range distinct {
		out[k.lane] += (len(ids) + batchSize - 1) / batchSize
	}
	return out
}

// Total adds the lanes of a per-lane count.
func Total(perLane map[service.Lane]int) int {
	n := 0
	for _, v := range perLane {
		n += v
	}
	return n
}

// MeasuredInterval is a lane's flush interval as the run shows it: the
// median gap between flushes, requests within half the configured interval
// of a flush's first request counting as that flush (several batches, both
// endpoints). Measured from the first request, not the previous one: a lane
// flushing at BATCH_SIZE sends requests a few ms apart for seconds, and
// chained they read as one flush a minute long.
// A busy machine stretches it; it is never below nominal, so a latency
// gate on it is never stricter than on the configured interval. With fewer
// than three flushes it is nominal.
func MeasuredInterval(requests []time.Time, nominal time.Duration) time.Duration {
	times := slices.Clone(requests)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var gaps []time.Duration
	for i, last := 1, 0; i < len(times); i++ {
		if g := times[i].Sub(times[last]); g > nominal/2 {
			gaps = append(gaps, g)
			last = i
		}
	}
	if len(gaps) < 2 {
		return nominal
	}
	slices.Sort(gaps)
	return max(gaps[len(gaps)/2], nominal)
}
