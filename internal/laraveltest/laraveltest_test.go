//go:build laravel

package laraveltest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStartServesTheAppAndStopEndsIt(t *testing.T) {
	a := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+"/api/qr/batch",
		strings.NewReader(`{"qrs":[{"session_id":"test","qr":"data:image/png..."}]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"success":true,"updated":1,"failed":0}` {
		t.Fatalf("seed example: %d %s", resp.StatusCode, body)
	}
	n, err := a.Count(ctx, a.DB(t), "SELECT COUNT(*) FROM whatsapp_accounts WHERE qr_code IS NOT NULL")
	if err != nil || n != 1 {
		t.Fatalf("accounts with a QR = %d, %v; want 1", n, err)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(a.URL + "/api/whatsapp/status/x"); err == nil {
		t.Fatal("the app still answers after Stop")
	}
}
