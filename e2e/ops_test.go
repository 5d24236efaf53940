//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

type deadLetterPage struct {
	DeadLetters []struct {
		ID        string `json:"id"`
		SessionID string `json:"session_id"`
		Kind      string `json:"kind"`
		Reason    string `json:"reason"`
	} `json:"dead_letters"`
	Next string `json:"next"`
}

// allDeadLetters pages through GET /deadletters.
func (g *Gateway) allDeadLetters(t *testing.T) deadLetterPage {
	t.Helper()
	var all deadLetterPage
	path := "/deadletters?limit=50"
	for range 100 {
		var p deadLetterPage
		g.must(t, http.MethodGet, path, nil, &p)
		all.DeadLetters = append(all.DeadLetters, p.DeadLetters...)
		if p.Next == "" {
			return all
		}
		path = "/deadletters?limit=50&before=" + p.Next
	}
	t.Fatal("more than 100 pages of dead letters")
	return all
}

// Items Laravel refuses are dead-lettered; once Laravel is fixed, a replay
// through the API delivers them and Laravel ends with each session's latest
// state (newest-wins held through the replay).
func TestDeadLetterReplayAfterLaravelFix(t *testing.T) {
	bad := []string{"rp-2", "rp-5", "rp-9"}
	_, l, g, state := refusedRun(t, "rp", 12, bad)

	dead := g.allDeadLetters(t)
	perSession := map[string]int{}
	for _, d := range dead.DeadLetters {
		if !slices.Contains(bad, d.SessionID) {
			t.Errorf("dead letter of %s, which Laravel accepts", d.SessionID)
		}
		perSession[d.SessionID]++
	}
	for _, id := range bad {
		if perSession[id] == 0 {
			t.Errorf("no dead letter for refused session %s", id)
		}
	}

	// Fixed on Laravel's side; one session by itself, then the rest.
	l.SetFaults(t, mocklaravel.Faults{})
	var one, rest struct {
		Replayed int      `json:"replayed"`
		Failed   int      `json:"failed"`
		IDs      []string `json:"ids"`
	}
	g.must(t, http.MethodPost, "/deadletters/replay", map[string]string{"session_id": bad[0]}, &one)
	g.must(t, http.MethodPost, "/deadletters/replay", map[string]bool{"all": true}, &rest)
	t.Logf("replay run: %d dead letters (%v per session); replayed %d for %s, then %d for all; failed %d",
		len(dead.DeadLetters), perSession, one.Replayed, bad[0], rest.Replayed, one.Failed+rest.Failed)
	if one.Replayed != perSession[bad[0]] || one.Replayed+rest.Replayed != len(dead.DeadLetters) || one.Failed+rest.Failed != 0 {
		t.Errorf("replayed %d + %d of %d dead letters", one.Replayed, rest.Replayed, len(dead.DeadLetters))
	}
	if left := g.allDeadLetters(t); len(left.DeadLetters) != 0 {
		t.Errorf("%d dead letters left after replaying all", len(left.DeadLetters))
	}
	fixed := map[string]string{}
	for _, id := range bad {
		fixed[id] = state[id]
	}
	waitDelivered(t, l, fixed, 30*time.Second)
	t.Logf("after the replay Laravel holds the gateway's state of every refused session: %v", fixed)
}

// noticeHook is a webhook that checks each notice's signature.
type noticeHook struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	byType map[string][]string
}

func (h *noticeHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "."))
	mac.Write(body)
	if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		h.t.Errorf("notice with a bad signature: %s", body)
	}
	var n struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &n)
	h.mu.Lock()
	h.byType[n.Type] = append(h.byType[n.Type], string(body))
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *noticeHook) wait(t *testing.T, typ string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		got := h.byType[typ]
		h.mu.Unlock()
		if len(got) > 0 {
			return got[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s notice within %s", typ, limit)
	return ""
}

// ALERT_WEBHOOK_URL gets signed notices when Laravel refuses items, when a
// lane stalls while Laravel is down, and when it recovers.
func TestFailureNoticesReachTheWebhook(t *testing.T) {
	const secret = "e2e-signing-secret"
	hook := &noticeHook{t: t, secret: secret, byType: map[string][]string{}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	r, l := startRedis(t), startLaravel(t)
	g := startGateway(t, fastEnv(r, l, "LARAVEL_SIGNING_SECRET="+secret, "ALERT_WEBHOOK_URL="+srv.URL+"/hooks/wagateway",
		"ALERT_AFTER=2s", "INSTANCE_ID=gw-e2e")...)

	l.SetFaults(t, mocklaravel.Faults{RejectSessions: []string{"nt-refused"}})
	g.Start(t, "nt-refused")
	t.Logf("dead_letter notice: %s", hook.wait(t, "dead_letter", 30*time.Second))

	l.SetFaults(t, mocklaravel.Faults{Down: true})
	g.Start(t, "nt-waiting")
	t.Logf("lane_stalled notice: %s", hook.wait(t, "lane_stalled", 30*time.Second))
	l.SetFaults(t, mocklaravel.Faults{})
	t.Logf("lane_recovered notice: %s", hook.wait(t, "lane_recovered", 60*time.Second))
}
