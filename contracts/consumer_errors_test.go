//go:build pact

package contracts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"

	"wagateway/service"
)

// A 422 names the bad items as "<array>.<index>.<field>": the flusher
// dead-letters exactly those and delivers the rest, so the key format is
// part of the contract; the wording of the messages is not.
func TestConsumerQRBatchValidationError(t *testing.T) {
	const badQR = "not-a-png"
	err := newLaravelPact(t).AddInteraction().
		UponReceiving("a batch of QR codes whose second qr is not a PNG data URL").
		WithRequest("POST", "/api/qr/batch", func(b *consumer.V3RequestBuilder) {
			bad := qrItem("def456")
			bad["qr"] = matchers.S(badQR)
			postHeaders(b, bearer()).JSONBody(map[string]any{"qrs": []any{qrItem("abc123"), bad}})
		}).
		WillRespondWith(422, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, matchers.Map{
				"message": matchers.Like("The qrs.1.qr field must start with one of the following: data:image/png;base64,."),
				"errors": matchers.StructMatcher{
					"qrs.1.qr": matchers.EachLike(matchers.Like("The qrs.1.qr field must start with one of the following: data:image/png;base64,."), 1),
				},
			})
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			_, err := laravelClient(t, cfg, testToken).PostQRBatch(context.Background(), testKey, []service.QRUpdate{
				{SessionID: "abc123", QR: pngQR, GeneratedAt: generatedAt},
				{SessionID: "def456", QR: badQR, GeneratedAt: generatedAt},
			})
			de, ok := errors.AsType[*service.DeliveryError](err)
			if !ok || de.StatusCode != 422 || !slices.Equal(de.Invalid, []int{1}) {
				return fmt.Errorf("PostQRBatch error = %#v, want a 422 naming item 1", err)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
}

// A wrong LARAVEL_TOKEN must show as a 401: the flusher keeps the items
// (a config mistake, not bad items) and the operator sees the status code.
func TestConsumerUnauthorized(t *testing.T) {
	const wrongToken = "wrong-token"
	err := newLaravelPact(t).AddInteraction().
		Given(stateTokenRequired).
		UponReceiving("a batch of statuses with a wrong bearer token").
		WithRequest("POST", "/api/whatsapp/status/batch", func(b *consumer.V3RequestBuilder) {
			// Literal: make verify-laravel swaps only the example's test token.
			postHeaders(b, matchers.S("Bearer "+wrongToken)).
				JSONBody(matchers.Map{"statuses": batchOf(statusItem("abc123", "active"))})
		}).
		WillRespondWith(401, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, laravelMessage("Unauthenticated."))
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			_, err := laravelClient(t, cfg, wrongToken).PostStatusBatch(context.Background(), testKey, []service.StatusUpdate{
				{SessionID: "abc123", Status: service.StatusActive, UpdatedAt: updatedAt},
			})
			de, ok := errors.AsType[*service.DeliveryError](err)
			if !ok || de.StatusCode != 401 {
				return fmt.Errorf("PostStatusBatch error = %#v, want a 401", err)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
}
