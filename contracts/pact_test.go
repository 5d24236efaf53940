//go:build pact

package contracts

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"

	"wagateway/service/laravel"
)

const (
	consumerName = "wagateway"
	providerName = "laravel"
	// testToken is the bearer token of the pact's examples; the provider
	// verifications swap it for the provider's own token on the way out.
	testToken = "test-token"
	// testKey is an Idempotency-Key as the flusher makes them (sha256, 32 hex digits).
	testKey = "4f9c2a7be1d04c6e8a1b3c5d7e9f0a2b"
	// testSigningSecret is the consumer tests' LARAVEL_SIGNING_SECRET: the
	// pact shows a gateway that signs every request. It never reaches the
	// pact; the signature headers there are examples, not valid signatures.
	testSigningSecret = "whsec_cGFjdC1jb25zdW1lci10ZXN0LXNpZ25pbmcta2V5"
)

// committedPactDir holds the pact Laravel builds against (tests run with
// the package directory as cwd).
var committedPactDir, _ = filepath.Abs("pacts")

// pactOutDir is where the consumer tests write: $PACT_OUT (make contracts
// diffs it against the committed file), else a temp dir removed at exit, so
// a plain `go test -tags pact` never rewrites the committed contract.
var pactOutDir string

func TestMain(m *testing.M) {
	pactOutDir = os.Getenv("PACT_OUT")
	if pactOutDir == "" {
		dir, err := os.MkdirTemp("", "wagateway-pacts-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "contracts:", err)
			os.Exit(1)
		}
		pactOutDir = dir
		code := m.Run()
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

var cleanPactOut sync.Once

// newLaravelPact returns a Pact mock of Laravel. The first call in a run
// empties the output dir: the FFI merges into an existing file, so stale
// interactions would otherwise survive their tests being changed or deleted.
func newLaravelPact(t *testing.T) *consumer.V3HTTPMockProvider {
	t.Helper()
	cleanPactOut.Do(func() {
		if err := os.RemoveAll(pactOutDir); err != nil {
			t.Fatalf("clean %s: %v", pactOutDir, err)
		}
	})
	p, err := consumer.NewV3Pact(consumer.MockHTTPProviderConfig{
		Consumer: consumerName,
		Provider: providerName,
		PactDir:  pactOutDir,
	})
	if err != nil {
		t.Fatalf("new pact: %v", err)
	}
	return p
}

// laravelClient is the gateway's real Laravel client pointed at Pact's mock
// server, sending token as its bearer token and signing every request.
func laravelClient(t *testing.T, cfg consumer.MockServerConfig, token string) *laravel.Client {
	t.Helper()
	c, err := laravel.New(laravel.Config{
		BaseURL:       fmt.Sprintf("http://%s:%d", cfg.Host, cfg.Port),
		Token:         token,
		SigningSecret: testSigningSecret,
	})
	if err != nil {
		t.Fatalf("laravel client: %v", err)
	}
	return c
}

// Shapes shared by the interactions. Requests pin what the gateway sends;
// responses pin what the gateway's client can read, no tighter, so Laravel
// keeps its freedom (any count, any message wording, microseconds or not).
const (
	estadoQRPattern = `^(pending|active|inactive|expired)$`
	// What the gateway sends: RFC 3339 with milliseconds (service.TimeFormat).
	eventTimePattern = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$`
	// What the gateway reads back: RFC 3339, any fraction (Laravel's default is microseconds).
	laravelTimePattern = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`
	pngDataURLPattern  = `^data:image\/png;base64,[A-Za-z0-9+\/]+={0,2}$`
	bearerPattern      = `^Bearer \S+$`
	// The flusher's keys; Laravel may store them in a fixed-width column.
	idempotencyKeyPattern = `^[0-9a-f]{32}$`
	jsonContentPattern    = `^application\/json`

	// The signature headers (service/laravel/sign.go; docs/laravel.md "Signed requests
	// to Laravel"). A POST's webhook-id is its Idempotency-Key; the GET
	// lookup's is msg_<random>, any token.
	webhookIDPattern        = `^\S+$`
	webhookTimestampPattern = `^\d{10}$`
	// The value is "v1,<base64>", but FFI 0.4.28 splits every header at
	// commas (the example is written "v1, <base64>") and matches each part:
	// the whole value, or "v1" and the base64 MAC on their own.
	webhookSignaturePattern = `^(v1,[A-Za-z0-9+\/]{43}=|v1|[A-Za-z0-9+\/]{43}=)$`
	signaturePattern        = `^[0-9a-f]{64}$`

	// maxBatchItems is Laravel's `max:500` on the batch arrays (mocklaravel.MaxBatchItems).
	maxBatchItems = 500
)

// pngQR is a real 1x1 PNG as a data URL (mocklaravel checks the base64); the
// gateway's QR codes have the same shape, ~1.9 KB.
const pngQR = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="

// The example event times of the pact.
const (
	exampleGeneratedAt = "2026-11-27T10:00:00.000Z"
	exampleUpdatedAt   = "2026-11-27T10:00:05.000Z"
)

// Example values of the signature headers. They fit the rules but sign
// nothing: a provider verification replays them, so it must not check
// signatures (contracts/README.md).
const (
	exampleMessageID        = "msg_d6ba0c914b1a5523c0d20899a3713f7b"
	exampleWebhookTimestamp = "1795773600" // 2026-11-27T10:00:00Z
	exampleWebhookSignature = "v1,QWROm0np8WtJK4oksBNmDO7+bVFigsAPZQTULNtMKc8="
	exampleSignature        = "41644e9b49e9f16b492b8a24b013660ceefe6d516282c00f6504d42cdb4c29cf"
)

// signed adds the signature headers of a request whose webhook-id is id.
func signed(b *consumer.V3RequestBuilder, id matchers.Matcher) *consumer.V3RequestBuilder {
	return b.Header("webhook-id", id).
		Header("webhook-timestamp", matchers.Regex(exampleWebhookTimestamp, webhookTimestampPattern)).
		Header("webhook-signature", matchers.Regex(exampleWebhookSignature, webhookSignaturePattern)).
		Header("Signature", matchers.Regex(exampleSignature, signaturePattern))
}

// bearer is the Authorization header of an authorised request.
func bearer() matchers.Matcher { return matchers.Regex("Bearer "+testToken, bearerPattern) }

// postHeaders are the headers of every POST the gateway makes, signed:
// webhook-id is the Idempotency-Key.
func postHeaders(b *consumer.V3RequestBuilder, auth matchers.Matcher) *consumer.V3RequestBuilder {
	b.Header("Content-Type", matchers.S("application/json")).
		Header("Accept", matchers.S("application/json")).
		Header("Authorization", auth).
		Header("Idempotency-Key", matchers.Regex(testKey, idempotencyKeyPattern))
	return signed(b, matchers.Regex(testKey, idempotencyKeyPattern))
}

// jsonResponse sets Laravel's JSON content type and body.
func jsonResponse(b *consumer.V3ResponseBuilder, body any) {
	b.Header("Content-Type", matchers.Regex("application/json", jsonContentPattern)).JSONBody(body)
}

// batchOf matches an array of 1..maxBatchItems items shaped like item: the
// V3 min/max type rule. pact-go's ArrayMinMaxLike writes max copies of the
// example into the pact (500 QR codes); this writes the rule with one.
func batchOf(item matchers.Map) matchers.Matcher {
	return matchers.StructMatcher{
		"pact:matcher:type": "type",
		"min":               1,
		"max":               maxBatchItems,
		"value":             []any{item},
	}
}

// qrItem is one element of "qrs" for session id.
func qrItem(id string) matchers.Map {
	return matchers.Map{
		"session_id":   matchers.Like(id),
		"qr":           matchers.Regex(pngQR, pngDataURLPattern),
		"generated_at": matchers.Regex(exampleGeneratedAt, eventTimePattern),
	}
}

// statusItem is one element of "statuses" for session id.
func statusItem(id, estado string) matchers.Map {
	return matchers.Map{
		"session_id": matchers.Like(id),
		"estado_qr":  matchers.Regex(estado, estadoQRPattern),
		"updated_at": matchers.Regex(exampleUpdatedAt, eventTimePattern),
	}
}

// batchResult is the answer of both batch endpoints; counts by type.
func batchResult(updated, failed int) matchers.Map {
	return matchers.Map{
		"success": matchers.Like(true),
		"updated": matchers.Integer(updated),
		"failed":  matchers.Integer(failed),
	}
}

// laravelMessage is Laravel's error body without field errors (401, 404).
func laravelMessage(example string) matchers.Map {
	return matchers.Map{"message": matchers.Like(example)}
}
