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

var (
	generatedAt = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	updatedAt   = time.Date(2026, 11, 27, 10, 0, 5, 0, time.UTC)
)

// The flusher's HIGH lane: QR codes of many sessions in one request.
func TestConsumerQRBatch(t *testing.T) {
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(knownAccount).
		UponReceiving("a batch of QR codes").
		WithRequest("POST", "/api/qr/batch", func(b *consumer.V3RequestBuilder) {
			postHeaders(b, bearer()).JSONBody(matchers.Map{"qrs": batchOf(qrItem("abc123"))})
		}).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, batchResult(1, 0))
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			// Two items: the array rule, not the one example, is the contract.
			res, err := laravelClient(t, cfg, testToken).PostQRBatch(context.Background(), testKey, []service.QRUpdate{
				{SessionID: "abc123", QR: pngQR, GeneratedAt: generatedAt},
				{SessionID: "def456", QR: pngQR, GeneratedAt: generatedAt.Add(time.Second)},
			})
			return wantBatch(res, err, 1, 0)
		})
	if err != nil {
		t.Fatal(err)
	}
}

// The NORMAL lane (and opened/closed on HIGH): statuses of many sessions.
func TestConsumerStatusBatch(t *testing.T) {
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(knownAccount).
		UponReceiving("a batch of session statuses").
		WithRequest("POST", "/api/whatsapp/status/batch", func(b *consumer.V3RequestBuilder) {
			postHeaders(b, bearer()).JSONBody(matchers.Map{"statuses": batchOf(statusItem("abc123", "active"))})
		}).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, batchResult(1, 0))
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			res, err := laravelClient(t, cfg, testToken).PostStatusBatch(context.Background(), testKey, []service.StatusUpdate{
				{SessionID: "abc123", Status: service.StatusActive, UpdatedAt: updatedAt},
				{SessionID: "def456", Status: service.StatusExpired, UpdatedAt: updatedAt},
			})
			return wantBatch(res, err, 1, 0)
		})
	if err != nil {
		t.Fatal(err)
	}
}

// An item of an account Laravel doesn't have is not an error of the whole
// batch: the answer is still 200, counting it in "failed", so the flusher
// deletes the batch instead of retrying it forever.
func TestConsumerStatusBatchUnknownAccount(t *testing.T) {
	err := newLaravelPact(t).AddInteraction().
		GivenWithParameter(knownAccount).
		GivenWithParameter(noAccount("abc999")).
		Given(stateAutocreateOff).
		UponReceiving("a batch of statuses naming an unknown account").
		WithRequest("POST", "/api/whatsapp/status/batch", func(b *consumer.V3RequestBuilder) {
			// Exactly these two items: which one is unknown is the point.
			postHeaders(b, bearer()).JSONBody(map[string]any{"statuses": []any{
				statusItem("abc123", "active"),
				statusItem("abc999", "active"),
			}})
		}).
		WillRespondWith(200, func(b *consumer.V3ResponseBuilder) {
			jsonResponse(b, matchers.Map{
				"success": matchers.Like(true),
				"updated": matchers.Integer(1),
				// Pinned, not by type: one unknown account is one failed item.
				"failed": matchers.Equality(1),
			})
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			res, err := laravelClient(t, cfg, testToken).PostStatusBatch(context.Background(), testKey, []service.StatusUpdate{
				{SessionID: "abc123", Status: service.StatusActive, UpdatedAt: updatedAt},
				{SessionID: "abc999", Status: service.StatusActive, UpdatedAt: updatedAt},
			})
			return wantBatch(res, err, 1, 1)
		})
	if err != nil {
		t.Fatal(err)
	}
}

func wantBatch(res service.BatchResult, err error, updated, failed int) error {
	if err != nil {
		return err
	}
	if want := (service.BatchResult{Success: true, Updated: updated, Failed: failed}); res != want {
		return fmt.Errorf("batch result = %+v, want %+v", res, want)
	}
	return nil
}
