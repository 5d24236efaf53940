//lint:file-ignore SA1019 offline tests feed server messages through DangerousInternals, the only way in without a WhatsApp server

package whatsmeow

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"

	"wagateway/service"
)

// The offline harness: the REAL whatsmeow client, with the socket replaced
// by nothing (connect is a no-op) and server messages fed through
// DangerousInternals, exactly where whatsmeow's read loop would hand them.

// fixedClock stands still, so event times and ban ends are exact.
type fixedClock struct{ now time.Time }

func (c fixedClock) Now() time.Time                       { return c.now }
func (c fixedClock) After(time.Duration) <-chan time.Time { return nil } // never fires

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// tWriter sends logs to the test's output, shown when it fails.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// newTestDriver opens a driver on store (a fresh SQLite file when empty)
// that never dials WhatsApp.
func newTestDriver(t *testing.T, store string) *Driver {
	t.Helper()
	if store == "" {
		store = "file:" + filepath.Join(t.TempDir(), "data", "whatsmeow.db")
	}
	d, err := New(context.Background(), Config{Store: store, Logger: testLogger(t), EventBuffer: 64, Clock: fixedClock{testNow}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d.connect = func(context.Context, *whatsmeow.Client) error { return nil } // pretend the socket is up
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// refusedConnect dials a closed loopback port instead of WhatsApp: a
// network failure at connect, hermetic even on a machine with internet.
func refusedConnect(ctx context.Context, cli *whatsmeow.Client) error {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, "127.0.0.1:1")
	}}
	cli.SetPreLoginHTTPClient(&http.Client{Transport: tr})
	cli.SetWebsocketHTTPClient(&http.Client{Transport: tr})
	return cli.ConnectContext(ctx)
}

// pairDevice stores a device as if pairing had happened (no real keys are
// exchanged) and maps sessionID to it.
func pairDevice(t *testing.T, d *Driver, sessionID, user string) types.JID {
	t.Helper()
	ctx := context.Background()
	dev := d.container.NewDevice()
	jid := types.JID{User: user, Device: 5, Server: types.DefaultUserServer}
	dev.ID = &jid
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: make([]byte, 64),
		AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
	if err := dev.Save(ctx); err != nil {
		t.Fatalf("save device: %v", err)
	}
	if err := d.sessions.put(ctx, sessionID, jid.String()); err != nil {
		t.Fatal(err)
	}
	return jid
}

// client returns the running whatsmeow client of a session.
func client(t *testing.T, d *Driver, sessionID string) *whatsmeow.Client {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.live[sessionID]
	if s == nil {
		t.Fatalf("session %s is not running", sessionID)
	}
	return s.cli
}

// next returns the next driver event; the deadline only guards against a hang.
// startPairing starts an unpaired session and feeds it WhatsApp's
// pair-device message with six refs, as the server does on a fresh login.
func startPairing(t *testing.T, ctx context.Context, d *Driver, sessionID string) *whatsmeow.Client {
	t.Helper()
	if err := d.Start(ctx, sessionID); err != nil {
		t.Fatal(err)
	}
	cli := client(t, d, sessionID)
	cli.DangerousInternals().HandleIQ(ctx, pairDeviceIQ("2@a", "2@b", "2@c", "2@d", "2@e", "2@f"))
	return cli
}

func next(t *testing.T, d *Driver) service.DriverEvent {
	t.Helper()
	return nextWithin(t, d, 10*time.Second)
}

// nextWithin returns the next driver event other than a run's
// EventStarted (TestStartMarksEveryRun reads those).
func nextWithin(t *testing.T, d *Driver, hang time.Duration) service.DriverEvent {
	t.Helper()
	for {
		if ev := nextAny(t, d, hang); ev.Type != service.EventStarted {
			return ev
		}
	}
}

// nextAny returns the next driver event, run markers included.
func nextAny(t *testing.T, d *Driver, hang time.Duration) service.DriverEvent {
	t.Helper()
	select {
	case ev, ok := <-d.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return ev
	case <-time.After(hang):
		t.Fatal("no driver event")
	}
	return service.DriverEvent{}
}

// noEventBut reads Events until Close closed it and fails on anything but
// run markers.
func noEventBut(t *testing.T, d *Driver) {
	t.Helper()
	for ev := range d.Events() {
		if ev.Type != service.EventStarted {
			t.Fatalf("no event expected, got %+v", ev)
		}
	}
}

// Server messages, as whatsmeow's read loop would hand them over.

func pairDeviceIQ(refs ...string) *waBinary.Node {
	var children []waBinary.Node
	for _, r := range refs {
		children = append(children, waBinary.Node{Tag: "ref", Content: []byte(r)})
	}
	return &waBinary.Node{Tag: "iq",
		Attrs:   waBinary.Attrs{"from": types.ServerJID, "id": "pair-1", "type": "set", "xmlns": "md"},
		Content: []waBinary.Node{{Tag: "pair-device", Content: children}}}
}

// badPairSuccessIQ is a pair-success whose device identity doesn't parse.
func badPairSuccessIQ() *waBinary.Node {
	return &waBinary.Node{Tag: "iq",
		Attrs: waBinary.Attrs{"from": types.ServerJID, "id": "pair-2", "type": "set", "xmlns": "md"},
		Content: []waBinary.Node{{Tag: "pair-success", Content: []waBinary.Node{
			{Tag: "device-identity", Content: []byte{0xff, 0xff, 0xff}},
			{Tag: "device", Attrs: waBinary.Attrs{"jid": types.NewADJID("15550001111", 0, 9)}},
		}}}}
}

func failure(attrs waBinary.Attrs) *waBinary.Node {
	return &waBinary.Node{Tag: "failure", Attrs: attrs}
}

func streamError(code, conflict string) *waBinary.Node {
	n := &waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{}}
	if code != "" {
		n.Attrs["code"] = code
	}
	if conflict != "" {
		n.Content = []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": conflict}}}
	}
	return n
}

func connectSuccess() *waBinary.Node {
	return &waBinary.Node{Tag: "success", Attrs: waBinary.Attrs{}}
}

// blackholeConnect dials a loopback listener that accepts and never
// answers, like a WhatsApp that can't be reached past TCP: Connect hangs
// until its context ends.
func blackholeConnect(t *testing.T) func(ctx context.Context, cli *whatsmeow.Client) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() { // ends when the listener closes
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return func(ctx context.Context, cli *whatsmeow.Client) error {
		tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, ln.Addr().String())
		}}
		cli.SetPreLoginHTTPClient(&http.Client{Transport: tr})
		cli.SetWebsocketHTTPClient(&http.Client{Transport: tr})
		return cli.ConnectContext(ctx)
	}
}
