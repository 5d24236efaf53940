package mocklaravel

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

func TestInMemoryServersAreSeparate(t *testing.T) {
	a, _ := newTestServer(t, Config{})
	b, _ := newTestServer(t, Config{DB: ":memory:"})
	call(t, a, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("only_a", "active", 0)))
	if _, ok, err := b.Account(t.Context(), "only_a"); ok || err != nil {
		t.Errorf("second server sees the first one's account: %v, %v", ok, err)
	}
}

func TestFileDatabasePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mock.db")
	s, err := New(Config{DB: path})
	if err != nil {
		t.Fatal(err)
	}
	call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("kept", "inactive", time.Second)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = New(Config{DB: "file:" + path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if got := mustAccount(t, s, "kept"); got.EstadoQR != StatusInactive || !got.LastStatusUpdate.Equal(t0.Add(time.Second)) {
		t.Errorf("reopened account %+v", got)
	}
}

func TestDSN(t *testing.T) {
	const p = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	tests := []struct{ in, want string }{
		{"", ":memory:"},
		{":memory:", ":memory:"},
		{"data/mock.db", "file:data/mock.db?" + p},
		{"file:/tmp/x.db", "file:/tmp/x.db?" + p},
		{"file:/tmp/x.db?mode=rwc", "file:/tmp/x.db?mode=rwc&" + p},
	}
	for _, tt := range tests {
		if got := dsn(tt.in); got != tt.want {
			t.Errorf("dsn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUpsertAccountOverwrites(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	ctx := t.Context()
	call(t, s, http.MethodPost, "/api/qr/batch", qrs(qrItemJSON("abc", time.Hour)))
	// Provider state overwrites everything, newest-wins does not apply.
	if err := s.UpsertAccount(ctx, Account{SessionID: "abc", EstadoQR: StatusExpired}); err != nil {
		t.Fatal(err)
	}
	if got := mustAccount(t, s, "abc"); got != (Account{SessionID: "abc", EstadoQR: StatusExpired}) {
		t.Errorf("account %+v", got)
	}
	for _, bad := range []Account{{SessionID: ""}, {SessionID: "a/b"}, {SessionID: "ok", EstadoQR: "nope"}} {
		if err := s.UpsertAccount(ctx, bad); err == nil {
			t.Errorf("UpsertAccount(%+v) accepted", bad)
		}
	}
	if ok, err := s.DeleteAccount(ctx, "abc"); !ok || err != nil {
		t.Errorf("DeleteAccount = %v, %v", ok, err)
	}
}

// The gateway's HIGH lane may deliver an outcome before the NORMAL lane's
// pending of the same millisecond: the pending must not put it back.
func TestPendingNeverReplacesAnOutcomeOfTheSameMillisecond(t *testing.T) {
	for _, autocreate := range []bool{true, false} {
		s, _ := newTestServer(t, Config{DisableAutoCreate: !autocreate})
		if err := s.UpsertAccount(context.Background(), Account{SessionID: "abc", EstadoQR: "pending"}); err != nil {
			t.Fatal(err)
		}
		for _, estado := range []string{"active", "pending"} {
			call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("abc", estado, 0)))
		}
		if got := call(t, s, http.MethodGet, "/api/whatsapp/status/abc", nil); got.body["estado_qr"] != "active" {
			t.Errorf("autocreate %v: after active then pending at the same time: %s, want active", autocreate, got.raw)
		}
		call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("abc", "inactive", 0)))
		if got := call(t, s, http.MethodGet, "/api/whatsapp/status/abc", nil); got.body["estado_qr"] != "inactive" {
			t.Errorf("autocreate %v: another status of the same time must still win: %s", autocreate, got.raw)
		}
	}
}
