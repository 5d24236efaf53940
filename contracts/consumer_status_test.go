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

// Shapes shared by the consumer tests.
const (
	estadoQRPattern = `^(pending|active|inactive|expired)$`
	// RFC 3339 with optional fraction: what the gateway's client accepts from Laravel.
	timePattern = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`
)

func TestConsumerSessionStatus(t *testing.T) {
	p := newLaravelPact(t)
	err := p.AddInteraction().
		Given("session abc123 is active").
		UponReceiving("a request for the status of session abc123").
		WithRequest("GET", "/api/whatsapp/status/abc123", func(b *consumer.V3RequestBuilder) {
			b.Header("Accept", matchers.S("application/json")).
				Header("Authorization", matchers.S("Bearer "+testToken))
		}).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			b.Header("Content-Type", matchers.Regex("application/json", `^application\/json`)).
				JSONBody(matchers.Map{
					"session_id":         matchers.Like("abc123"),
					"estado_qr":          matchers.Regex("active", estadoQRPattern),
					"last_status_update": matchers.Regex("2026-11-27T10:00:00.000Z", timePattern),
				})
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			rec, err := laravelClient(t, cfg).SessionStatus(context.Background(), "abc123")
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
