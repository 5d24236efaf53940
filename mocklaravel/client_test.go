package mocklaravel

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestClient drives every /__mock/ endpoint over HTTP through the Client.
func TestClient(t *testing.T) {
	s, _ := newTestServer(t, Config{Token: "tok"})
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	c := NewClient(hs.URL + "/")
	ctx := t.Context()

	if err := c.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}
	want := Account{SessionID: "abc123", EstadoQR: StatusActive, QRCode: pngURL,
		QRGeneratedAt: t0, LastStatusUpdate: t0.Add(1234 * time.Millisecond)}
	if err := c.UpsertAccount(ctx, want); err != nil {
		t.Fatalf("UpsertAccount: %v", err)
	}
	if err := c.UpsertAccount(ctx, Account{SessionID: "p1"}); err != nil { // estado defaults to pending
		t.Fatalf("UpsertAccount: %v", err)
	}
	got, ok, err := c.Account(ctx, "abc123")
	if err != nil || !ok || got != want {
		t.Errorf("Account = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if _, ok, err := c.Account(ctx, "nobody"); ok || err != nil {
		t.Errorf("Account(nobody) = %v, %v", ok, err)
	}
	all, err := c.Accounts(ctx)
	if err != nil || len(all) != 2 || all[0].SessionID != "abc123" || all[1].EstadoQR != StatusPending {
		t.Errorf("Accounts = %+v, %v", all, err)
	}
	active, err := c.AccountsWithStatus(ctx, StatusActive)
	if err != nil || len(active) != 1 || active[0].SessionID != "abc123" {
		t.Errorf("AccountsWithStatus(active) = %+v, %v", active, err)
	}
	if _, err := c.AccountsWithStatus(ctx, "bogus"); !isStatus(err, 422) {
		t.Errorf("AccountsWithStatus(bogus) = %v, want a 422", err)
	}
	if err := c.UpsertAccount(ctx, Account{SessionID: "bad id"}); !isStatus(err, 422) {
		t.Errorf("UpsertAccount(bad id) = %v, want a 422", err)
	}
	if err := c.UpsertAccount(ctx, Account{SessionID: "x", EstadoQR: "on"}); !isStatus(err, 422) {
		t.Errorf("UpsertAccount(estado on) = %v, want a 422", err)
	}

	// A provider state is visible through the Laravel API.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/api/whatsapp/status/abc123", nil)
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Idempotency-Key", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET status: %v %v", resp, err)
	}
	resp.Body.Close()

	if err := c.SetFaults(ctx, Faults{LatencyMS: 0, ErrorRate: 1, Status: 429, DurationS: 10}); err != nil {
		t.Fatalf("SetFaults: %v", err)
	}
	fs, err := c.Faults(ctx)
	if err != nil || !fs.Active || fs.Status != 429 || fs.ExpiresAt != t0.Add(10*time.Second).UnixMilli() {
		t.Errorf("Faults = %+v, %v", fs, err)
	}
	if err := c.SetFaults(ctx, Faults{ErrorRate: 3}); !isStatus(err, 422) {
		t.Errorf("SetFaults(invalid) = %v, want a 422", err)
	}

	st, err := c.Stats(ctx)
	if err != nil || st.Requests != 1 || st.Endpoints[KeyGetStatus].Status[200] != 1 {
		t.Errorf("Stats = %+v, %v", st, err)
	}
	seen, err := c.IdempotencyCount(ctx, "k")
	if err != nil || len(seen) != 0 { // GETs are not recorded
		t.Errorf("IdempotencyCount = %v, %v", seen, err)
	}

	if ok, err := c.DeleteAccount(ctx, "p1"); !ok || err != nil {
		t.Errorf("DeleteAccount(p1) = %v, %v", ok, err)
	}
	if ok, err := c.DeleteAccount(ctx, "p1"); ok || err != nil {
		t.Errorf("DeleteAccount(p1) again = %v, %v", ok, err)
	}

	if err := c.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	all, _ = c.Accounts(ctx)
	st, _ = c.Stats(ctx)
	fs, _ = c.Faults(ctx)
	if len(all) != 0 || st.Requests != 0 || fs.Active {
		t.Errorf("after Reset: %d accounts, %d requests, faults %+v", len(all), st.Requests, fs)
	}
}

func TestClientUnknownMockEndpoint(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	for _, tt := range []struct{ method, path string }{{http.MethodGet, "/__mock/nope"}, {http.MethodGet, "/__mock"}} {
		if a := call(t, s, tt.method, tt.path, nil); a.status != 404 {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, a.status, a.raw)
		}
	}
}

func isStatus(err error, code int) bool {
	var e *ClientError
	return errors.As(err, &e) && e.StatusCode == code
}
