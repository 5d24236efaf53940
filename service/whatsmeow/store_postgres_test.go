//go:build postgres

//lint:file-ignore SA1019 offline tests feed server messages through DangerousInternals, the only way in without a WhatsApp server

package whatsmeow

import (
	"context"
	"testing"

	waBinary "go.mau.fi/whatsmeow/binary"

	"wagateway/internal/pgtest"
	"wagateway/service"
)

// Run with: go test -tags postgres ./service/whatsmeow/
func TestPostgresStore(t *testing.T) {
	d := newTestDriver(t, pgtest.Database(t))
	testSessionTable(t, d)
}

// A whole session on Postgres: whatsmeow deletes the device itself on 401,
// and the event only comes once our row is gone too.
func TestPostgresLoggedOut(t *testing.T) {
	d := newTestDriver(t, pgtest.Database(t))
	ctx := context.Background()
	pairDevice(t, d, "s1", "15551230000")
	if err := d.Start(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	cli := client(t, d, "s1")
	cli.DangerousInternals().HandleConnectSuccess(ctx, connectSuccess())
	if ev := next(t, d); ev.Type != service.EventConnected {
		t.Fatalf("want connected, got %+v", ev)
	}
	cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "401"}))
	if ev := next(t, d); ev.Reason != service.ReasonLoggedOut {
		t.Fatalf("want logged out, got %+v", ev)
	}
	if ids, err := d.Paired(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("Paired = %v, %v", ids, err)
	}
	if raw, _ := d.sessions.get(ctx, "s1"); raw != "" {
		t.Fatalf("row still maps s1 to %s", raw)
	}
}
