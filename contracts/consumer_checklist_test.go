//go:build pact

package contracts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"
)

// The checklist that started the project tests Laravel with curl: bodies
// without event times, a data URL that is only "data:image/png...", no
// Accept header. The gateway always sends times and real PNGs, but a
// Laravel that refuses these examples fails its own checklist, so they are
// in the contract, sent literally (plain net/http, not the gateway's client),
// with the bearer token a verification swaps in.

// checklistPost sends body as the checklist's curl does, plus the token.
func checklistPost(cfg consumer.MockServerConfig, path, body string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://%s:%d%s", cfg.Host, cfg.Port, path), bytes.NewBufferString(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("status %d: %v", resp.StatusCode, out)
	}
	return out, nil
}

// checklistHeaders are the curl's headers: Content-Type only (and the token).
func checklistHeaders(b *consumer.V3RequestBuilder) *consumer.V3RequestBuilder {
	return b.Header("Content-Type", matchers.S("application/json")).Header("Authorization", bearer())
}

func wantCounts(out map[string]any, updated, failed float64) error {
	if out["success"] != true || out["updated"] != updated || out["failed"] != failed {
		return fmt.Errorf("answer %v, want success true, updated %v, failed %v", out, updated, failed)
	}
	return nil
}

// Test 4 of the checklist, body for body.
func TestConsumerChecklistQRBatch(t *testing.T) {
	const body = `{"qrs":[{"session_id":"test","qr":"data:image/png..."}]}`
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(accountExists("test", "pending", knownAccountUpdated)).
		UponReceiving("the checklist's QR batch: no generated_at, qr only a data:image/png prefix").
		WithRequest("POST", "/api/qr/batch", func(b *consumer.V3RequestBuilder) {
			// Literal values: the verifier must send exactly the checklist's example.
			checklistHeaders(b).JSONBody(map[string]any{"qrs": []any{map[string]any{"session_id": "test", "qr": "data:image/png..."}}})
		}).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, map[string]any{"success": true, "updated": 1, "failed": 0})
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			out, err := checklistPost(cfg, "/api/qr/batch", body)
			if err != nil {
				return err
			}
			return wantCounts(out, 1, 0)
		})
	if err != nil {
		t.Fatal(err)
	}
}

// The checklist's status example, without updated_at.
func TestConsumerChecklistStatusBatch(t *testing.T) {
	const body = `{"statuses":[{"session_id":"abc123","estado_qr":"active"}]}`
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(knownAccount).
		UponReceiving("the checklist's status batch: no updated_at").
		WithRequest("POST", "/api/whatsapp/status/batch", func(b *consumer.V3RequestBuilder) {
			checklistHeaders(b).JSONBody(map[string]any{"statuses": []any{map[string]any{"session_id": "abc123", "estado_qr": "active"}}})
		}).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, map[string]any{"success": true, "updated": 1, "failed": 0})
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			out, err := checklistPost(cfg, "/api/whatsapp/status/batch", body)
			if err != nil {
				return err
			}
			return wantCounts(out, 1, 0)
		})
	if err != nil {
		t.Fatal(err)
	}
}
