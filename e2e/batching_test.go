//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// Seed test 1: many sessions pairing at once reach Laravel in few, full
// batches, and the gateway's log shows items added and batches sent.
func TestBatchingManySessions(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	g := startGateway(t, fastEnv(r, l, "PRIORITY_INTERVAL=500ms", "BATCH_INTERVAL=2s")...)

	ids := startMany(t, g, "batch", 120)
	settled(t, g, ids, 90*time.Second)

	reqs := l.BatchRequests()
	items := 0
	for _, rq := range reqs {
		if rq.Status != http.StatusOK {
			t.Errorf("Laravel answered %d to %s", rq.Status, rq.Path)
		}
		items += len(rq.Items)
	}
	m := g.BatchMetrics(t)
	avg := float64(items) / float64(len(reqs))
	t.Logf("%d events accepted, %d items in %d requests (%.1f items per request), %d superseded",
		m.Accepted, items, len(reqs), avg, m.Superseded)
	if avg < 10 {
		t.Errorf("%.1f items per request on average, want ≥ 10", avg)
	}
	if int64(len(reqs))*5 > m.Accepted {
		t.Errorf("%d requests for %d events: want at least 5 events per request", len(reqs), m.Accepted)
	}

	// The log arrives through a pipe: poll until it caught up.
	var added, logged int
	caughtUp := func() bool {
		added, logged = 0, 0
		for _, ln := range parseLogs(g.Logs()) {
			switch ln.Msg {
			case "qr added to batch":
				added++
			case "batch sent":
				logged += ln.Items
			}
		}
		return logged >= items && added >= len(ids)
	}
	waitFor(t, 10*time.Second, "the log to show every batch sent", caughtUp)
	t.Logf("log: %d QR codes added to a batch, %d items in batches sent", added, logged)
	if logged != items {
		t.Errorf("log shows %d items in batches sent, Laravel got %d", logged, items)
	}
}

// Seed test 3: /metrics/batch counts what Laravel received.
func TestBatchMetricsMatchLaravel(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	started := time.Now()
	g := startGateway(t, fastEnv(r, l)...)

	ids := startMany(t, g, "metrics", 40)
	settled(t, g, ids, 60*time.Second)

	reqs := l.BatchRequests()
	var qrReqs, stReqs, items int64
	for _, rq := range reqs {
		if rq.Path == "/api/qr/batch" {
			qrReqs++
		} else {
			stReqs++
		}
		items += int64(len(rq.Items))
	}
	m := g.BatchMetrics(t)
	t.Logf("metrics: %+v", m)
	if m.Requests != int64(len(reqs)) {
		t.Errorf("metrics requests = %d, Laravel got %d", m.Requests, len(reqs))
	}
	if m.Sent != items {
		t.Errorf("metrics sent = %d items, Laravel got %d", m.Sent, items)
	}
	if m.Failed != 0 || m.Retries != 0 || m.DeadLettered != 0 {
		t.Errorf("failed/retries/deadLettered = %d/%d/%d, want 0 with a healthy Laravel", m.Failed, m.Retries, m.DeadLettered)
	}
	// Every accepted update is counted once: sent, or superseded. One
	// superseded while its request was in flight counts as sent if that
	// request reached Laravel (the outbox contract's
	// SupersededInFlightCountsOnlyIfNotDelivered).
	if m.Sent+m.Superseded != m.Accepted {
		t.Errorf("sent %d + superseded %d != accepted %d: items unaccounted for or counted twice", m.Sent, m.Superseded, m.Accepted)
	}
	if m.RequestsSaved != m.Accepted-m.Requests || m.RequestsSaved <= 0 {
		t.Errorf("requestsSaved = %d, want accepted-requests = %d > 0", m.RequestsSaved, m.Accepted-m.Requests)
	}
	if m.QRBatchSize != 0 || m.StatusBatchSize != 0 {
		t.Errorf("qrBatchSize/statusBatchSize = %d/%d after everything was delivered, want 0/0", m.QRBatchSize, m.StatusBatchSize)
	}
	for name, at := range map[string]int64{"lastFlushQr": m.LastFlushQR, "lastFlushStatus": m.LastFlushStatus} {
		if ts := time.UnixMilli(at); ts.Before(started) || ts.After(time.Now()) {
			t.Errorf("%s = %d (%s), want a time during the test", name, at, ts)
		}
	}

	// The mock's own counters agree with its request log.
	st := l.Mock.Stats()
	if got := st.Endpoints[mocklaravel.KeyQRBatch].Requests; got != qrReqs {
		t.Errorf("mock stats: %d QR batch requests, request log %d", got, qrReqs)
	}
	if got := st.Endpoints[mocklaravel.KeyStatusBatch].Requests; got != stReqs {
		t.Errorf("mock stats: %d status batch requests, request log %d", got, stReqs)
	}
	if got := st.Endpoints[mocklaravel.KeyQRBatch].Items + st.Endpoints[mocklaravel.KeyStatusBatch].Items; got != m.Sent {
		t.Errorf("mock stats: %d batch items, gateway metrics sent %d", got, m.Sent)
	}
}

// Seed test 4: Laravel ends with the gateway's state for every session, and
// its batch endpoint answers as the seed says.
func TestLaravelMatchesGateway(t *testing.T) {
	r, l := startRedis(t), startLaravel(t)
	g := startGateway(t, fastEnv(r, l, "SIM_SCAN_PROBABILITY=0")...)

	// Every outcome: scanned (active), scanned then closed (inactive),
	// logged out through the API (inactive), never scanned (expired).
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("laravel-%d", i+1)
		ids = append(ids, id)
		g.Start(t, id)
		waitFor(t, 30*time.Second, id+" showing a QR code", func() bool { return g.Session(t, id).QR != nil })
		switch i % 4 {
		case 0:
			g.Scan(t, id)
		case 1:
			g.Scan(t, id)
			waitFor(t, 30*time.Second, id+" active", func() bool { return g.Session(t, id).Status == "active" })
			g.CloseSession(t, id)
		case 2:
			g.must(t, http.MethodPost, "/sessions/"+id+"/logout", nil, nil)
			// Read your writes: the gateway answers what it just did, not
			// what Laravel held before the inactive status reached it.
			if s := g.Session(t, id); s.Status != "inactive" {
				t.Errorf("GET /sessions/%s right after logout = %q from %s, want inactive", id, s.Status, s.Source)
			}
		}
	}
	want := settled(t, g, ids, 60*time.Second)
	waitDelivered(t, l, want, 30*time.Second)

	counts := map[string]int{}
	accounts := l.Accounts(t)
	for _, id := range ids {
		s, a := g.Session(t, id), accounts[id]
		counts[s.Status]++
		if s.UpdatedAt == nil || !a.LastStatusUpdate.Equal(s.UpdatedAt.Truncate(time.Millisecond)) {
			t.Errorf("%s: Laravel last_status_update %s, gateway updated_at %v", id, a.LastStatusUpdate, s.UpdatedAt)
		}
		if a.QRCode == "" {
			t.Errorf("%s: Laravel never got a QR code", id)
		}
	}
	t.Logf("final states: %v", counts)
	for _, st := range []string{"active", "inactive", "expired"} {
		if counts[st] == 0 {
			t.Errorf("no session ended %s: the scenario did not cover it (%v)", st, counts)
		}
	}

	// The seed's direct call to Laravel's batch endpoint.
	res, err := http.Post(l.URL+"/api/qr/batch", "application/json",
		bytes.NewReader([]byte(`{"qrs":[{"session_id":"test","qr":"data:image/png;base64,iVBORw0KGgo=","generated_at":"2026-01-01T00:00:00.000Z"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Success         bool
		Updated, Failed int
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 ||
		!body.Success || body.Updated != 1 || body.Failed != 0 {
		t.Errorf("POST /api/qr/batch = %d %+v (%v), want 200 {success:true updated:1 failed:0}", res.StatusCode, body, err)
	}
}
