//go:build pact

package contracts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"

	"wagateway/service"
)

// getHeaders are the headers of the gateway's status lookups (no body, no
// key), signed: webhook-id is msg_<random>, the signatures over an empty body.
func getHeaders(b *consumer.V3RequestBuilder) {
	b.Header("Accept", matchers.S("application/json")).
		Header("Authorization", bearer())
	signed(b, matchers.Regex(exampleMessageID, webhookIDPattern))
}

// The cache asks Laravel when neither L1 nor L2 knows a session.
func TestConsumerSessionStatus(t *testing.T) {
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(knownAccount).
		UponReceiving("a request for the status of session abc123").
		WithRequest("GET", "/api/whatsapp/status/abc123", getHeaders).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, matchers.Map{
				"session_id":         matchers.Like("abc123"),
				"estado_qr":          matchers.Regex("active", estadoQRPattern),
				"last_status_update": matchers.Regex(knownAccountUpdated, laravelTimePattern),
			})
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			rec, err := laravelClient(t, cfg, testToken).SessionStatus(context.Background(), "abc123")
			if err != nil {
				return err
			}
			want := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
			if rec.SessionID != "abc123" || rec.Status != service.StatusActive || !rec.UpdatedAt.Equal(want) {
				return fmt.Errorf("SessionStatus = %+v, want abc123 active at %s", rec, want)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
}

// A 404 must read as "unknown session" (ENOTFOUND), not as a delivery failure.
func TestConsumerSessionStatusUnknown(t *testing.T) {
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(noAccount("abc999")).
		UponReceiving("a request for the status of unknown session abc999").
		WithRequest("GET", "/api/whatsapp/status/abc999", getHeaders).
		WillRespondWith(404, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, laravelMessage("WhatsApp account not found."))
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			_, err := laravelClient(t, cfg, testToken).SessionStatus(context.Background(), "abc999")
			if service.ErrorCode(err) != service.ENOTFOUND {
				return fmt.Errorf("SessionStatus(abc999) error = %v, want code %s", err, service.ENOTFOUND)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
}
