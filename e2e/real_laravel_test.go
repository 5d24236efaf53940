//go:build e2e && laravel

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/internal/laraveltest"
	"wagateway/service"
	lvclient "wagateway/service/laravel"
)

// TestRealLaravel runs the gateway binary (with Redis) against the real
// Laravel app (contracts/laravel under php -S, SQLite) instead of the mock:
// 200 sessions pair, half are scanned, some of those close. Then the
// checklist's own SQL must agree with the gateway's view, and the history
// table must hold every applied status change in event order. Token and
// signatures are on, as in production. `make laravel-test` runs it
// (tags e2e and laravel: it needs Docker for Redis and PHP).
func TestRealLaravel(t *testing.T) {
	const (
		token  = "e2e-laravel-token"
		secret = "whsec_ZTJlLXJlYWwtbGFyYXZlbC1zaWduaW5n"
		n      = 200
	)
	r := startRedis(t)
	app := laraveltest.Start(t, laraveltest.Options{Token: token, SigningSecret: secret, Workers: 4})
	g := startGateway(t,
		"REDIS_URL="+r.URL,
		"LARAVEL_URL="+app.URL,
		"LARAVEL_TOKEN="+token,
		"LARAVEL_SIGNING_SECRET="+secret,
		"SIM_TIME_SCALE=60",
		"SIM_SCAN_PROBABILITY=0", // this test decides who scans
		"BATCH_INTERVAL=500ms",
		"PRIORITY_INTERVAL=100ms",
	)

	// Each session pairs; even ones are scanned as soon as their QR code
	// shows (a pairing expires after a few codes), every fifth scanned one
	// then closes. The others expire.
	ids := make([]string, n)
	closed := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range ids {
		id := fmt.Sprintf("real-%d", i)
		ids[i] = id
		scans, closes := i%2 == 0, i%10 == 0
		if closes {
			closed++
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			g.Start(t, id)
			waitFor(t, 60*time.Second, id+" showing a QR code", func() bool { return g.Session(t, id).QR != nil })
			if !scans {
				return
			}
			g.Scan(t, id)
			if closes {
				waitFor(t, 60*time.Second, id+" active", func() bool { return g.Session(t, id).Status == "active" })
				g.CloseSession(t, id)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	want := settled(t, g, ids, 2*time.Minute)
	gatewayActive := 0
	for _, st := range want {
		if st == "active" {
			gatewayActive++
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := app.DB(t)
	// The outbox is empty once Laravel answered the last batch: its rows are committed.
	withQR, err := app.Count(ctx, db, `SELECT COUNT(*) FROM whatsapp_accounts WHERE qr_code IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	active, err := app.Count(ctx, db, `SELECT COUNT(*) FROM whatsapp_accounts WHERE estado_qr = 'active'`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SQL: %d accounts with a QR code (gateway: %d sessions showed one), %d active (gateway: %d active; %d scanned, %d of them closed)",
		withQR, n, active, gatewayActive, n/2, closed)
	if withQR != n {
		t.Errorf("SELECT COUNT(*) … WHERE qr_code IS NOT NULL = %d, want %d (every session showed a QR code)", withQR, n)
	}
	if active != gatewayActive {
		t.Errorf("SELECT COUNT(*) … WHERE estado_qr = 'active' = %d, gateway has %d active", active, gatewayActive)
	}
	if gatewayActive != n/2-closed {
		t.Errorf("gateway has %d active sessions, want %d scanned - %d closed", gatewayActive, n/2, closed)
	}

	// Each account is the gateway's final state, and its history is every
	// applied status change in event order, ending at that state.
	rows, err := db.QueryContext(ctx, `SELECT a.session_id, a.estado_qr, a.last_status_update, h.estado_qr, h.event_at
		FROM whatsapp_accounts a LEFT JOIN whatsapp_status_history h ON h.session_id = a.session_id AND h.change = 'status'
		ORDER BY a.session_id, h.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type account struct {
		estado  string
		last    time.Time
		history []string    // estado_qr of each status change, applied order
		times   []time.Time // their event times
	}
	accounts := map[string]*account{}
	for rows.Next() {
		var id, estado string
		var hEstado *string
		var last, hAt sql.NullTime
		if err := rows.Scan(&id, &estado, &last, &hEstado, &hAt); err != nil {
			t.Fatal(err)
		}
		a := accounts[id]
		if a == nil {
			a = &account{estado: estado, last: last.Time}
			accounts[id] = a
		}
		if hEstado != nil {
			a.history = append(a.history, *hEstado)
			a.times = append(a.times, hAt.Time)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	qrChanges, err := app.Count(ctx, db, `SELECT COUNT(DISTINCT session_id) FROM whatsapp_status_history WHERE change = 'qr'`)
	if err != nil {
		t.Fatal(err)
	}
	if qrChanges != n {
		t.Errorf("history has QR changes for %d sessions, want %d", qrChanges, n)
	}
	changes := 0
	for i, id := range ids {
		a := accounts[id]
		if a == nil {
			t.Errorf("%s: no whatsapp_accounts row", id)
			continue
		}
		s := g.Session(t, id)
		if a.estado != want[id] {
			t.Errorf("%s: Laravel estado_qr %q, gateway %q; history %v at %v", id, a.estado, want[id], a.history, a.times)
			for _, ln := range strings.Split(g.Logs(), "\n") {
				if strings.Contains(ln, `"`+id+`"`) {
					t.Log(ln)
				}
			}
		}
		if s.UpdatedAt != nil {
			if got := s.UpdatedAt.Truncate(time.Millisecond); !a.last.Equal(got) {
				t.Errorf("%s: Laravel last_status_update %s, gateway updated_at %s", id, a.last, got)
			}
		}
		if len(a.history) == 0 {
			t.Errorf("%s: no status change in the history (estado_qr %q)", id, a.estado)
			continue
		}
		changes += len(a.history)
		for j := 1; j < len(a.times); j++ {
			if a.times[j].Before(a.times[j-1]) {
				t.Errorf("%s: history out of event order: %v at %v", id, a.history, a.times)
			}
		}
		if last := a.history[len(a.history)-1]; last != a.estado || !a.times[len(a.times)-1].Equal(a.last) {
			t.Errorf("%s: history ends at %s (%s), the account is %s (%s)", id, last, a.times[len(a.times)-1], a.estado, a.last)
		}
		// (Its active may be missing: superseded in the outbox by the close.)
		if i%10 == 0 && a.estado != "inactive" {
			t.Errorf("%s was scanned then closed, Laravel has it %s (history %v)", id, a.estado, a.history)
		}
	}
	// Every history row is an item the gateway delivered; an item is left
	// out only when older than what Laravel had (a status overtaken across lanes).
	total, err := app.Count(ctx, db, `SELECT COUNT(*) FROM whatsapp_status_history`)
	if err != nil {
		t.Fatal(err)
	}
	m := g.BatchMetrics(t)
	t.Logf("history: %d rows (%d status changes over %d sessions, QR changes for %d); the gateway sent %d items, %d superseded, %d retries",
		total, changes, len(accounts), qrChanges, m.Sent, m.Superseded, m.Retries)
	if int64(total) > m.Sent || total < 2*n {
		t.Errorf("history has %d rows for %d items sent: want at most one per item and at least a QR and a status per session", total, m.Sent)
	}

	// Newest wins in the app itself, whatever the order of arrival: a
	// status a second older than what an account holds (a late delivery, a
	// replay) is accepted and changes nothing.
	client, err := lvclient.New(lvclient.Config{BaseURL: app.URL, Token: token, SigningSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	late := ids[0] // scanned, then closed: inactive
	if accounts[late] == nil {
		t.FailNow() // reported above
	}
	res, err := client.PostStatusBatch(ctx, "e2e-late-status", []service.StatusUpdate{
		{SessionID: late, Status: service.StatusActive, UpdatedAt: accounts[late].last.Add(-time.Second)}})
	if err != nil || res.Updated != 1 {
		t.Fatalf("POST of an older status for %s: %+v, %v", late, res, err)
	}
	var estado string
	if err := db.QueryRowContext(ctx, `SELECT estado_qr FROM whatsapp_accounts WHERE session_id = ?`, late).Scan(&estado); err != nil {
		t.Fatal(err)
	}
	if estado != want[late] {
		t.Errorf("%s: an older status arriving late turned Laravel's %q into %q", late, want[late], estado)
	}
}
