package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// Items Laravel refuses become dead letters; once Laravel is fixed, a
// replay through the API delivers them, and the counters say so.
func TestDeadLetterReplayAfterLaravelIsFixed(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	mock, laravelURL := serveLaravel(t, mocklaravel.Config{}, "user_refused")
	_, closeMain, base := startFastOnRedis(t, laravelURL, nil)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	type page struct {
		DeadLetters []struct {
			ID, SessionID, Kind, Reason string
		} `json:"dead_letters"`
	}
	list := func() page {
		t.Helper()
		_, body := call("GET", "/deadletters?session_id=user_refused", "")
		var p page
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return p
	}

	for _, id := range []string{"user_ok", "user_refused"} {
		if code, body := call("POST", "/start", `{"session_id":"`+id+`"}`); code != 200 {
			t.Fatalf("start %s: %d %s", id, code, body)
		}
	}
	var dead page
	for dead = list(); len(dead.DeadLetters) == 0; dead = list() {
		if ctx.Err() != nil {
			t.Fatal("no dead letter for user_refused")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := dead.DeadLetters[0]; d.Kind != "qr" || !strings.Contains(d.Reason, "422") {
		t.Fatalf("dead letter: %+v", d)
	}
	if a, ok, _ := mock.Account(ctx, "user_refused"); ok && a.QRCode != "" {
		t.Fatal("Laravel has the refused QR already")
	}

	// Fixed on Laravel's side, then replayed.
	if err := mock.SetFaults(mocklaravel.Faults{}); err != nil {
		t.Fatal(err)
	}
	code, body := call("POST", "/deadletters/replay", `{"session_id":"user_refused"}`)
	var res struct{ Replayed, Failed int }
	_ = json.Unmarshal([]byte(body), &res)
	if code != 200 || res.Replayed < 1 || res.Failed != 0 {
		t.Fatalf("replay: %d %s", code, body)
	}
	t.Logf("replay: %s", strings.TrimSpace(body))
	for {
		if a, ok, _ := mock.Account(ctx, "user_refused"); ok && strings.HasPrefix(a.QRCode, "data:image/png") {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the replayed QR never reached Laravel")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// More QR codes may be refused until the fault cleared; those replayed are gone.
	_, metrics := call("GET", "/metrics", "")
	if !strings.Contains(metrics, `wagateway_dead_letters_handled_total{outcome="replayed"} `) ||
		strings.Contains(metrics, `wagateway_dead_letters_handled_total{outcome="replayed"} 0`+"\n") {
		t.Errorf("replays not counted:\n%s", grepLines(metrics, "dead_letters_handled"))
	}
	for _, d := range dead.DeadLetters {
		if code, _ := call("DELETE", "/deadletters/"+d.ID, ""); code != http.StatusNotFound {
			t.Errorf("replayed dead letter %s still there (%d)", d.ID, code)
		}
	}
	if err := closeMain(); err != nil {
		t.Error(err)
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
