//go:build pact

package contracts

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"

	"wagateway/service"
)

// DELIVERY_MODE=direct: one QR per request, the endpoint Laravel had before batches.
func TestConsumerSingleQR(t *testing.T) {
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(knownAccount).
		UponReceiving("a single QR code").
		WithRequest("POST", "/api/qr", func(b *consumer.V3RequestBuilder) {
			postHeaders(b, bearer()).JSONBody(qrItem("abc123"))
		}).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, matchers.Map{"success": matchers.Like(true)})
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			return laravelClient(t, cfg, testToken).PostQR(context.Background(), testKey,
				service.QRUpdate{SessionID: "abc123", QR: pngQR, GeneratedAt: generatedAt})
		})
	if err != nil {
		t.Fatal(err)
	}
}

// DELIVERY_MODE=direct: one status per request.
func TestConsumerSingleStatus(t *testing.T) {
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(knownAccount).
		UponReceiving("a single session status").
		WithRequest("POST", "/api/whatsapp/status", func(b *consumer.V3RequestBuilder) {
			postHeaders(b, bearer()).JSONBody(statusItem("abc123", "active"))
		}).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, matchers.Map{"success": matchers.Like(true)})
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			return laravelClient(t, cfg, testToken).PostStatus(context.Background(), testKey,
				service.StatusUpdate{SessionID: "abc123", Status: service.StatusActive, UpdatedAt: updatedAt})
		})
	if err != nil {
		t.Fatal(err)
	}
}

// The single endpoints answer 404 for an account Laravel doesn't have: the
// flusher dead-letters that item (in a batch it would be counted in failed).
func TestConsumerSingleStatusUnknownAccount(t *testing.T) {
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(noAccount("abc999")).
		Given(stateAutocreateOff).
		UponReceiving("a single status for an unknown account").
		WithRequest("POST", "/api/whatsapp/status", func(b *consumer.V3RequestBuilder) {
			postHeaders(b, bearer()).JSONBody(statusItem("abc999", "active"))
		}).
		WillRespondWith(404, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, laravelMessage("WhatsApp account not found."))
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			err := laravelClient(t, cfg, testToken).PostStatus(context.Background(), testKey,
				service.StatusUpdate{SessionID: "abc999", Status: service.StatusActive, UpdatedAt: updatedAt})
			if de, ok := errors.AsType[*service.DeliveryError](err); !ok || de.StatusCode != 404 {
				return fmt.Errorf("PostStatus(abc999) error = %#v, want a 404", err)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
}
