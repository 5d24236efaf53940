package loadtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"wagateway/service"
)

// Laravel delivery endpoints, as the gateway calls them.
const (
	pathQRBatch     = "/api/qr/batch"
	pathStatusBatch = "/api/whatsapp/status/batch"
	pathQR          = "/api/qr"
	pathStatus      = "/api/whatsapp/status"
)

// maxRecordedBody bounds what the recorder reads itself; bigger bodies go
// to the mock unread (it answers 413) and are not recorded.
const maxRecordedBody = 8 << 20

// Recorder wraps the in-process mock Laravel: for every delivery it stored
// (a 2xx), it notes each item's delay from its event time to the moment
// the mock answered, and the request in a per-second count. It is the one
// place the load test sees what Laravel saw, item by item.
type Recorder struct {
	next http.Handler
	now  func() time.Time

	mu        sync.Mutex
	origin    time.Time
	seen      map[string]struct{} // a retried item counts once, at its first storage
	events    []Event
	delays    map[service.Lane][]float64 // ms
	slowest   map[service.Lane][]SlowItem
	perSecond []int // delivery requests answered, by second since origin
	// flushes is when each stored request carrying a lane's items was
	// answered: the lane's flush rhythm as Laravel saw it.
	flushes map[service.Lane][]time.Time
}

// SlowItem is one of the latest deliveries of a lane, to see what they were.
type SlowItem struct {
	Event
	DelayMS float64 `json:"delay_ms"`
	Stored  string  `json:"stored_at"`
}

// keepSlowest is how many of the latest items per lane a report lists.
const keepSlowest = 8

// NewRecorder wraps next (the mock's handler); now is time.Now when nil.
func NewRecorder(next http.Handler, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	r := &Recorder{next: next, now: now}
	r.Reset(now())
	return r
}

// Reset forgets everything recorded; seconds count from origin.
func (rec *Recorder) Reset(origin time.Time) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.origin = origin
	rec.seen = map[string]struct{}{}
	rec.events = nil
	rec.delays = map[service.Lane][]float64{}
	rec.slowest = map[service.Lane][]SlowItem{}
	rec.perSecond = nil
	rec.flushes = map[service.Lane][]time.Time{}
}

// ServeHTTP passes the request to the mock and records it if it was a
// delivery the mock accepted.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !isDeliveryPath(r.URL.Path) || r.ContentLength > maxRecordedBody {
		rec.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	if err != nil {
		http.Error(w, `{"message":"Could not read the request body."}`, http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	rec.next.ServeHTTP(sw, r)
	if sw.status/100 != 2 {
		return
	}
	rec.record(r.URL.Path, body, rec.now())
}

func isDeliveryPath(p string) bool {
	switch p {
	case pathQRBatch, pathStatusBatch, pathQR, pathStatus:
		return true
	}
	return false
}

// wireItem is the union of the four delivery bodies' items.
type wireItem struct {
	SessionID   string `json:"session_id"`
	Status      string `json:"estado_qr"`
	GeneratedAt string `json:"generated_at"`
	UpdatedAt   string `json:"updated_at"`
}

// ParseDelivery returns the events in a delivery body of path; items
// without a readable event time are left out.
func ParseDelivery(path string, body []byte) []Event {
	var items []wireItem
	switch path {
	case pathQRBatch:
		var b struct {
			QRs []wireItem `json:"qrs"`
		}
		_ = json.Unmarshal(body, &b)
		items = b.QRs
	case pathStatusBatch:
		var b struct {
			Statuses []wireItem `json:"statuses"`
		}
		_ = json.Unmarshal(body, &b)
		items = b.Statuses
	case pathQR, pathStatus:
		var it wireItem
		if json.Unmarshal(body, &it) == nil {
			items = []wireItem{it}
		}
	}
	kind := service.KindStatus
	if path == pathQRBatch || path == pathQR {
		kind = service.KindQR
	}
	out := make([]Event, 0, len(items))
	for _, it := range items {
		stamp := it.UpdatedAt
		if kind == service.KindQR {
			stamp = it.GeneratedAt
		}
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			continue
		}
		out = append(out, Event{SessionID: it.SessionID, Kind: kind, Status: service.Status(it.Status), At: at})
	}
	return out
}

func (rec *Recorder) record(path string, body []byte, stored time.Time) {
	events := ParseDelivery(path, body)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	sec := int(stored.Sub(rec.origin) / time.Second)
	if sec >= 0 {
		for len(rec.perSecond) <= sec {
			rec.perSecond = append(rec.perSecond, 0)
		}
		rec.perSecond[sec]++
	}
	lanes := map[service.Lane]bool{}
	for _, e := range events {
		lanes[e.Lane()] = true
	}
	for l := range lanes {
		rec.flushes[l] = append(rec.flushes[l], stored)
	}
	for _, e := range events {
		key := e.SessionID + "|" + string(e.Kind) + "|" + string(e.Status) + "|" + e.At.Format(time.RFC3339Nano)
		if _, dup := rec.seen[key]; dup {
			continue
		}
		rec.seen[key] = struct{}{}
		rec.events = append(rec.events, e)
		ms := float64(stored.Sub(e.At)) / float64(time.Millisecond)
		rec.delays[e.Lane()] = append(rec.delays[e.Lane()], ms)
		rec.noteSlow(SlowItem{Event: e, DelayMS: round3(ms), Stored: stored.UTC().Format(service.TimeFormat)})
	}
}

// noteSlow keeps the keepSlowest latest items of a lane, latest first.
func (rec *Recorder) noteSlow(it SlowItem) {
	l := it.Lane()
	list := rec.slowest[l]
	if len(list) == keepSlowest && it.DelayMS <= list[len(list)-1].DelayMS {
		return
	}
	i := sort.Search(len(list), func(i int) bool { return list[i].DelayMS < it.DelayMS })
	list = slices.Insert(list, i, it)
	if len(list) > keepSlowest {
		list = list[:keepSlowest]
	}
	rec.slowest[l] = list
}

// Recorded is a copy of what the recorder saw since its last Reset.
type Recorded struct {
	Origin    time.Time
	Events    []Event
	Delays    map[service.Lane][]float64
	Slowest   map[service.Lane][]SlowItem
	PerSecond []int
	Flushes   map[service.Lane][]time.Time // see Recorder.flushes
}

// Snapshot copies what was recorded.
func (rec *Recorder) Snapshot() Recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := Recorded{
		Origin:    rec.origin,
		Events:    append([]Event(nil), rec.events...),
		Delays:    map[service.Lane][]float64{},
		Slowest:   map[service.Lane][]SlowItem{},
		PerSecond: append([]int(nil), rec.perSecond...),
		Flushes:   map[service.Lane][]time.Time{},
	}
	for l, f := range rec.flushes {
		out.Flushes[l] = slices.Clone(f)
	}
	for l, s := range rec.slowest {
		out.Slowest[l] = slices.Clone(s)
	}
	for l, d := range rec.delays {
		out.Delays[l] = append([]float64(nil), d...)
	}
	return out
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
