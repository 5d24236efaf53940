package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

// webhook receives notices and checks each one's signature.
type webhook struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	bodies []string
	types  []string
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "."))
	mac.Write(body)
	if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		h.t.Errorf("notice with a bad signature: %v %s", r.Header, body)
	}
	var n struct{ ID, Type string }
	_ = json.Unmarshal(body, &n)
	if n.ID != r.Header.Get("webhook-id") {
		h.t.Errorf("notice id %q, webhook-id %q", n.ID, r.Header.Get("webhook-id"))
	}
	h.mu.Lock()
	h.bodies, h.types = append(h.bodies, string(body)), append(h.types, n.Type)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *webhook) count(typ string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ty := range h.types {
		if ty == typ {
			n++
		}
	}
	return n
}

// first returns the first notice of type typ, waiting for it.
func (h *webhook) first(ctx context.Context, typ string) string {
	h.t.Helper()
	for {
		h.mu.Lock()
		for i, ty := range h.types {
			if ty == typ {
				b := h.bodies[i]
				h.mu.Unlock()
				return b
			}
		}
		h.mu.Unlock()
		if ctx.Err() != nil {
			h.t.Fatalf("no %s notice; got %v", typ, h.types)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The gateway tells ALERT_WEBHOOK_URL, signed, when Laravel refuses items,
// when a lane stalls while items wait, and when it recovers.
func TestFailureNotices(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	const secret = "shared-signing-secret"
	hook := &webhook{t: t, secret: secret}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	mock, err := mocklaravel.New(mocklaravel.Config{SigningSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer mock.Close()
	lv := httptest.NewServer(mock)
	defer lv.Close()
	_ = mock.SetFaults(mocklaravel.Faults{RejectSessions: []string{"user_refused"}})

	m, closeMain := startMain(t, map[string]string{
		"LARAVEL_URL": lv.URL, "LARAVEL_SIGNING_SECRET": secret, "INSTANCE_ID": "gw-notice",
		"ALERT_WEBHOOK_URL": hookSrv.URL + "/notices", "ALERT_AFTER": "1s",
		"BATCH_INTERVAL": "200ms", "PRIORITY_INTERVAL": "100ms",
	}, io.Discard)
	base := "http://" + m.Addr()
	start := func(id string) {
		res, err := http.Post(base+"/start", "application/json", strings.NewReader(`{"session_id":"`+id+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}

	start("user_refused")
	deadNotice := hook.first(ctx, "dead_letter")
	t.Logf("dead_letter notice: %s", deadNotice)
	if !strings.Contains(deadNotice, `"session_id":"user_refused"`) || !strings.Contains(deadNotice, `"instance":"gw-notice"`) {
		t.Errorf("dead_letter notice: %s", deadNotice)
	}

	// Laravel goes down while a new session's QR codes wait.
	_ = mock.SetFaults(mocklaravel.Faults{Down: true})
	start("user_waiting")
	stalled := hook.first(ctx, "lane_stalled")
	t.Logf("lane_stalled notice: %s", stalled)
	// Either lane may stall first: QR codes wait on high, the pending status on normal.
	if !strings.Contains(stalled, `"lane":"`) || !strings.Contains(stalled, `"waiting":`) {
		t.Errorf("lane_stalled notice: %s", stalled)
	}
	_ = mock.SetFaults(mocklaravel.Faults{})
	recovered := hook.first(ctx, "lane_recovered")
	t.Logf("lane_recovered notice: %s", recovered)
	// Every lane that stalled recovers, and says so once.
	var stalls, recoveries int
	for {
		stalls, recoveries = hook.count("lane_stalled"), hook.count("lane_recovered")
		if stalls == recoveries || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if stalls != recoveries || stalls > 2 {
		t.Errorf("%d stalled and %d recovered notices, want one of each per lane", stalls, recoveries)
	}

	// The sent count follows the webhook's answer: wait for it.
	want := []string{
		`wagateway_alert_notices_total{kind="dead_letter",outcome="sent"} 1`,
		fmt.Sprintf(`wagateway_alert_notices_total{kind="lane_stalled",outcome="sent"} %d`, stalls),
		fmt.Sprintf(`wagateway_alert_notices_total{kind="lane_recovered",outcome="sent"} %d`, recoveries),
	}
	for {
		_, metrics := get(t, base+"/metrics")
		missing := slices.DeleteFunc(slices.Clone(want), func(line string) bool { return strings.Contains(metrics, line) })
		if len(missing) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Errorf("metrics lack %q:\n%s", missing, grepLines(metrics, "alert_notices"))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := closeMain(); err != nil {
		t.Error(err)
	}
}
