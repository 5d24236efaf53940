package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// GET /sessions/{id}/history lists what the session went through, newest
// first, with the reason and this instance's name.
func TestStatusHistoryRoute(t *testing.T) {
	_, laravelURL := serveLaravel(t, mocklaravel.Config{})
	m, closeMain := startMain(t, map[string]string{"LARAVEL_URL": laravelURL, "INSTANCE_ID": "gw-hist", "HISTORY_MAX": "2"}, io.Discard)
	base := "http://" + m.Addr()
	post := func(path, body string) {
		t.Helper()
		post(t, base+path, body)
	}
	type change struct {
		Status   string `json:"estado_qr"`
		Reason   string `json:"reason"`
		Instance string `json:"instance"`
		At       time.Time
	}
	history := func() []change {
		t.Helper()
		_, body := get(t, base+"/sessions/user_9/history")
		var r struct {
			SessionID string   `json:"session_id"`
			History   []change `json:"history"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.SessionID != "user_9" {
			t.Fatalf("history: %v %s", err, body)
		}
		return r.History
	}
	if h := history(); len(h) != 0 {
		t.Fatalf("history before any change: %+v", h)
	}
	post("/start", `{"user_id":9}`)
	deadline := time.Now().Add(20 * time.Second)
	for len(history()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	post("/sim/sessions/user_9/scan", `{}`)
	for !strings.Contains(func() string { _, b := get(t, base+"/sessions/user_9"); return b }(), `"active"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	post("/sim/sessions/user_9/close", `{"reason":"banned"}`)
	var h []change
	for h = history(); (len(h) == 0 || h[0].Status != "inactive") && time.Now().Before(deadline); h = history() {
		time.Sleep(10 * time.Millisecond)
	}
	// HISTORY_MAX=2: pending fell off.
	if len(h) != 2 || h[0].Status != "inactive" || h[0].Reason != "banned" || h[0].Instance != "gw-hist" ||
		h[1].Status != "active" || !h[0].At.After(h[1].At) {
		t.Fatalf("history = %+v, want inactive/banned then active, on gw-hist", h)
	}
	if code, _ := get(t, base+"/sessions/user_9/history?limit=0"); code != http.StatusBadRequest {
		t.Errorf("limit=0: %d, want 400", code)
	}
	if err := closeMain(); err != nil {
		t.Error(err)
	}
}
