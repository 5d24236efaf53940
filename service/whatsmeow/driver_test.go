//lint:file-ignore SA1019 offline tests feed server messages through DangerousInternals, the only way in without a WhatsApp server

package whatsmeow

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"wagateway/service"
)

func TestQRCodesFromWhatsApp(t *testing.T) {
	d := newTestDriver(t, "")
	ctx := context.Background()
	// WhatsApp sends six refs: the first code lives 60 s.
	cli := startPairing(t, ctx, d, "s1")
	ev := next(t, d)
	if ev.Type != service.EventQR || ev.SessionID != "s1" || !strings.HasPrefix(ev.Code, "2@a,") || ev.ExpiresAt.Sub(ev.At) != 60*time.Second {
		t.Fatalf("first code: got %+v", ev)
	}
	if n := len(strings.Split(ev.Code, ",")); n != 4 { // ref, noise key, identity key, adv secret
		t.Fatalf("code has %d parts, want 4", n)
	}
	// Later codes come 60 s, then every 20 s, on whatsmeow's own wall-clock
	// timers: TestQRScheduleToEvents drives that whole schedule through the
	// driver's drain without waiting for it.

	// The socket closes while still unpaired: whatsmeow's QR channel says timeout.
	cli.DangerousInternals().DispatchEvent(&events.Disconnected{})
	ev = next(t, d)
	if ev.Type != service.EventQRTimeout || ev.Reason != service.ReasonQRTimeout {
		t.Fatalf("want qr timeout, got %+v", ev)
	}
	if d.running("s1") {
		t.Fatal("session still running after its QR timeout")
	}
	if err := d.Start(ctx, "s1"); err != nil { // a new pairing can begin at once
		t.Fatal(err)
	}
}

// The whole schedule whatsmeow's QR channel emits (six codes: 60 s, then
// 20 s each, then "timeout"), through the same drain the driver runs.
func TestQRScheduleToEvents(t *testing.T) {
	d := newTestDriver(t, "")
	items := make(chan whatsmeow.QRChannelItem, 8)
	for i, ttl := range []time.Duration{60, 20, 20, 20, 20, 20} {
		items <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: string(rune('A' + i)), Timeout: ttl * time.Second}
	}
	items <- whatsmeow.QRChannelTimeout
	close(items)
	s := &session{id: "s1", cli: whatsmeow.NewClient(d.container.NewDevice(), nil), pairing: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	d.wg.Add(1)
	d.drainQR(s, items)

	wantTTL := []time.Duration{60, 20, 20, 20, 20, 20}
	for i, ttl := range wantTTL {
		ev := next(t, d)
		if ev.Type != service.EventQR || ev.Code != string(rune('A'+i)) || ev.At != testNow || ev.ExpiresAt != testNow.Add(ttl*time.Second) {
			t.Fatalf("code %d: got %+v", i, ev)
		}
	}
	if ev := next(t, d); ev.Type != service.EventQRTimeout || ev.Reason != service.ReasonQRTimeout || ev.Detail == "" {
		t.Fatalf("want qr timeout, got %+v", ev)
	}
}

func TestPairingOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		inject     func(ctx context.Context, cli *whatsmeow.Client)
		wantType   service.EventType
		wantReason string
		wantDetail string
	}{
		{"pair error after scan", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleIQ(ctx, badPairSuccessIQ())
		}, service.EventClosed, service.ReasonPairError, "pairing failed"},
		{"client outdated while pairing", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "405"}))
		}, service.EventClosed, service.ReasonClientOutdated, "WA_VERSION"},
		{"socket closed while pairing", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().DispatchEvent(&events.Disconnected{})
		}, service.EventQRTimeout, service.ReasonQRTimeout, "no QR code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDriver(t, "")
			ctx := context.Background()
			cli := startPairing(t, ctx, d, "s1")
			if ev := next(t, d); ev.Type != service.EventQR {
				t.Fatalf("want a QR code first, got %+v", ev)
			}
			tt.inject(ctx, cli)
			ev := next(t, d)
			if ev.Type != tt.wantType || ev.Reason != tt.wantReason || !strings.Contains(ev.Detail, tt.wantDetail) {
				t.Fatalf("got %+v, want %s/%s with %q", ev, tt.wantType, tt.wantReason, tt.wantDetail)
			}
			if d.running("s1") {
				t.Fatal("session still running")
			}
			if ids, _ := d.Paired(ctx); len(ids) != 0 {
				t.Fatalf("Paired = %v, want none", ids)
			}
		})
	}
}

func TestPairSuccessRecordsDeviceThenConnects(t *testing.T) {
	d := newTestDriver(t, "")
	ctx := context.Background()
	cli := startPairing(t, ctx, d, "s1")
	next(t, d)

	// What whatsmeow's handlePair does once the phone's signatures check out
	// (that needs the phone's keys, and acknowledging it a live socket).
	jid := types.NewADJID("15550001111", 0, 9)
	cli.Store.ID = &jid
	cli.Store.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: make([]byte, 64),
		AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
	if err := cli.Store.Save(ctx); err != nil {
		t.Fatal(err)
	}
	cli.DangerousInternals().DispatchEvent(&events.PairSuccess{ID: jid, Platform: "android"})
	// WhatsApp then restarts the stream and logs the new device in.
	cli.DangerousInternals().HandleConnectSuccess(ctx, connectSuccess())
	ev := next(t, d)
	if ev.Type != service.EventConnected || ev.JID != jid.String() {
		t.Fatalf("want connected %s, got %+v", jid, ev)
	}
	// The QR drain records the row concurrently with the reconnect.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids, err := d.Paired(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 1 && ids[0] == "s1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Paired = %v, want [s1]", ids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPairedSessionOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		inject     func(ctx context.Context, cli *whatsmeow.Client)
		wantReason string
		wantDetail string
		keepDevice bool
	}{
		{"logged out 401", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "401"}))
		}, service.ReasonLoggedOut, "401", false},
		{"main device gone 403", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "403"}))
		}, service.ReasonLoggedOut, "403", false},
		{"device removed on the phone", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleStreamError(ctx, streamError("401", "device_removed"))
		}, service.ReasonLoggedOut, "401", false},
		{"banned 406", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "406"}))
		}, service.ReasonBanned, "406", false},
		{"temporary ban 402", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "402", "code": "101", "expire": "3600"}))
		}, service.ReasonTemporaryBan, "until 2026-01-02T04:04:05Z", true},
		{"stream replaced", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleStreamError(ctx, streamError("", "replaced"))
		}, service.ReasonReplaced, "another client", true},
		{"client outdated 405", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "405"}))
		}, service.ReasonClientOutdated, "set WA_VERSION", true},
		{"bad user agent 409", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "409"}))
		}, service.ReasonClientOutdated, "set WA_VERSION", true},
		{"other refusal 400", func(ctx context.Context, cli *whatsmeow.Client) {
			cli.DangerousInternals().HandleConnectFailure(ctx, failure(waBinary.Attrs{"reason": "400", "message": "nope"}))
		}, service.ReasonNetwork, "refused", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDriver(t, "")
			ctx := context.Background()
			jid := pairDevice(t, d, "s1", "15551230000")
			if err := d.Start(ctx, "s1"); err != nil {
				t.Fatal(err)
			}
			cli := client(t, d, "s1")
			cli.DangerousInternals().HandleConnectSuccess(ctx, connectSuccess())
			if ev := next(t, d); ev.Type != service.EventConnected || ev.JID != jid.String() {
				t.Fatalf("want connected %s, got %+v", jid, ev)
			}
			// A transient drop: reconnecting, then connected again, no close between.
			cli.DangerousInternals().DispatchEvent(&events.Disconnected{})
			if ev := next(t, d); ev.Type != service.EventReconnecting {
				t.Fatalf("want reconnecting, got %+v", ev)
			}
			cli.DangerousInternals().DispatchEvent(&events.Connected{})
			if ev := next(t, d); ev.Type != service.EventConnected {
				t.Fatalf("want connected again, got %+v", ev)
			}

			tt.inject(ctx, cli)
			ev := next(t, d)
			if ev.Type != service.EventClosed || ev.Reason != tt.wantReason || !strings.Contains(ev.Detail, tt.wantDetail) {
				t.Fatalf("got %+v, want closed/%s with %q", ev, tt.wantReason, tt.wantDetail)
			}
			if d.running("s1") {
				t.Fatal("session still running")
			}
			ids, err := d.Paired(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if kept := len(ids) == 1; kept != tt.keepDevice {
				t.Fatalf("Paired = %v, keep device %v", ids, tt.keepDevice)
			}
			if !tt.keepDevice { // the event comes after our row is gone
				if raw, _ := d.sessions.get(ctx, "s1"); raw != "" {
					t.Fatalf("row still maps s1 to %s", raw)
				}
			}
		})
	}
}

func TestNetworkFailureAtConnect(t *testing.T) {
	for _, paired := range []bool{false, true} {
		name := map[bool]string{false: "unpaired", true: "paired"}[paired]
		t.Run(name, func(t *testing.T) {
			d := newTestDriver(t, "")
			d.connect = refusedConnect
			if paired {
				pairDevice(t, d, "s1", "15551230000")
			}
			if err := d.Start(context.Background(), "s1"); err != nil {
				t.Fatal(err)
			}
			ev := next(t, d)
			if ev.Type != service.EventClosed || ev.Reason != service.ReasonNetwork || !strings.Contains(ev.Detail, "connection refused") {
				t.Fatalf("want closed/network with the dial error, got %+v", ev)
			}
			if d.running("s1") {
				t.Fatal("session still running")
			}
		})
	}
}

// Stop and Close give up a Connect that hangs, without reporting a failure.
func TestStopWhileConnecting(t *testing.T) {
	d := newTestDriver(t, "")
	d.connect = blackholeConnect(t)
	ctx := context.Background()
	pairDevice(t, d, "s1", "15551230000")
	for _, id := range []string{"s1", "s2"} {
		if err := d.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Stop(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	noEventBut(t, d)
}

func TestStopKeepsDeviceLogoutForgetsIt(t *testing.T) {
	d := newTestDriver(t, "")
	ctx := context.Background()
	jid := pairDevice(t, d, "s1", "15551230000")
	pairDevice(t, d, "s2", "15551230002")
	// A row whose device was deleted behind our back is not listed.
	if err := d.sessions.put(ctx, "gone", types.NewADJID("15559999999", 0, 3).String()); err != nil {
		t.Fatal(err)
	}
	wantPaired := func(want ...string) {
		t.Helper()
		ids, err := d.Paired(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Fatalf("Paired = %v, want %v", ids, want)
		}
	}
	wantPaired("s1", "s2")

	if err := d.Start(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	first := client(t, d, "s1")
	if err := d.Start(ctx, "s1"); err != nil || client(t, d, "s1") != first {
		t.Fatalf("second Start: err %v, new client %v", err, client(t, d, "s1") != first)
	}
	if err := d.Stop(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if d.running("s1") {
		t.Fatal("running after Stop")
	}
	wantPaired("s1", "s2")
	if err := d.Stop(ctx, "s1"); err != nil { // not running: nothing to do
		t.Fatal(err)
	}

	// Restart on the stored device, then log out (offline: deleted here only).
	if err := d.Start(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if got := client(t, d, "s1").Store.ID; got == nil || *got != jid {
		t.Fatalf("restarted on device %v, want %s", got, jid)
	}
	if err := d.Logout(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if d.running("s1") {
		t.Fatal("running after Logout")
	}
	wantPaired("s2")
	if dev, _ := d.container.GetDevice(ctx, jid); dev != nil {
		t.Fatal("device of s1 still stored")
	}
	// Not running: the device is deleted all the same.
	if err := d.Logout(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	wantPaired()
	if err := d.Logout(ctx, "nobody"); err != nil {
		t.Fatalf("Logout of an unknown session: %v", err)
	}
	// A session whose device vanished pairs again from scratch.
	if err := d.Start(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if client(t, d, "gone").Store.ID != nil {
		t.Fatal("want a fresh device for a session whose device is gone")
	}
	for drained := false; !drained; {
		select {
		case ev := <-d.Events():
			if ev.Type != service.EventStarted {
				t.Fatalf("Stop/Logout emit no event, got %+v", ev)
			}
		default:
			drained = true
		}
	}
}

func TestPairPhone(t *testing.T) {
	d := newTestDriver(t, "")
	ctx := context.Background()
	pairDevice(t, d, "paired", "15551230000")
	for _, id := range []string{"paired", "fresh"} {
		if err := d.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	tests := []struct {
		name     string
		ctx      context.Context
		id       string
		phone    string
		qrFirst  bool
		wantCode string
	}{
		{"not running", ctx, "nobody", "15551234567", false, service.ENOTFOUND},
		{"already paired", ctx, "paired", "15551234567", false, service.ECONFLICT},
		{"gave up waiting for WhatsApp", cancelled, "fresh", "15551234567", false, service.EINTERNAL},
		{"bad phone", ctx, "fresh", "0123", true, service.EINVALID},
		{"not connected", ctx, "fresh", "15551234567", false, service.EUNAVAILABLE}, // its QR came above
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.qrFirst {
				client(t, d, tt.id).DangerousInternals().HandleIQ(ctx, pairDeviceIQ("2@a", "2@b", "2@c", "2@d", "2@e", "2@f"))
			}
			code, err := d.PairPhone(tt.ctx, tt.id, tt.phone)
			if code != "" || service.ErrorCode(err) != tt.wantCode {
				t.Fatalf("got %q, %v (code %s), want code %s", code, err, service.ErrorCode(err), tt.wantCode)
			}
			t.Logf("%v", err)
		})
	}
}

func TestStartAndCloseLifecycle(t *testing.T) {
	d := newTestDriver(t, "")
	ctx := context.Background()
	if err := d.Start(ctx, "bad id!"); service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("Start(bad id) = %v, want invalid", err)
	}
	if err := d.Start(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	noEventBut(t, d) // returns once Events is closed
	if err := d.Start(ctx, "s2"); service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("Start after Close = %v, want unavailable", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Every Start sends EventStarted before any other event of its run (the
// session manager ignores a restarted session's events until then), also
// for a session running already; and a Start right after a run ended on
// its own waits until that run's last event is out, so the close is never
// taken for the new run's.
func TestStartMarksEveryRun(t *testing.T) {
	d := newTestDriver(t, "")
	ctx := context.Background()
	if !d.MarksRuns() {
		t.Fatal("MarksRuns = false")
	}
	startPairing(t, ctx, d, "s1")
	if ev := nextAny(t, d, 10*time.Second); ev.Type != service.EventStarted || ev.SessionID != "s1" {
		t.Fatalf("first event of the run: %+v, want started", ev)
	}
	if ev := nextAny(t, d, 10*time.Second); ev.Type != service.EventQR {
		t.Fatalf("second event: %+v, want the QR", ev)
	}
	if err := d.Start(ctx, "s1"); err != nil { // running already
		t.Fatal(err)
	}
	if ev := nextAny(t, d, 10*time.Second); ev.Type != service.EventStarted {
		t.Fatalf("Start of a running session sent %+v, want started", ev)
	}

	pairDevice(t, d, "s2", "15551230000")
	if err := d.Start(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	if ev := nextAny(t, d, 10*time.Second); ev.Type != service.EventStarted {
		t.Fatalf("first event of s2: %+v, want started", ev)
	}
	release := make(chan struct{})
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(letGo) // before the driver's Close, which waits for the run
	d.beforeLastEvent = func(string) { <-release }
	client(t, d, "s2").DangerousInternals().HandleStreamError(ctx, streamError("", "replaced"))
	for deadline := time.Now().Add(10 * time.Second); d.running("s2"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) { // hang guard only
			t.Fatal("the replaced run never ended")
		}
	}
	started := make(chan error, 1)
	go func() { started <- d.Start(ctx, "s2") }()
	select {
	case err := <-started:
		t.Fatalf("Start returned (%v) before the last run's close was sent", err)
	case <-time.After(200 * time.Millisecond):
	}
	letGo()
	if ev := nextAny(t, d, 10*time.Second); ev.Type != service.EventClosed || ev.Reason != service.ReasonReplaced {
		t.Fatalf("after the release: %+v, want the old run's close first", ev)
	}
	if ev := nextAny(t, d, 10*time.Second); ev.Type != service.EventStarted {
		t.Fatalf("then %+v, want the new run's started", ev)
	}
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // hang guard only
		t.Fatal("Start never returned")
	}
}
