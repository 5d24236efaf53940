//go:build pact

package contracts

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pact-foundation/pact-go/v2/consumer"

	"wagateway/service/laravel"
)

const (
	consumerName = "wagateway"
	providerName = "laravel"
	// testToken is what the consumer tests send as the bearer token; the
	// provider test configures mocklaravel to require it, so auth is pinned too.
	testToken = "test-token"
)

// pactDir is contracts/pacts (tests run with the package directory as cwd).
var pactDir, _ = filepath.Abs("pacts")

var cleanPactDir sync.Once

// newLaravelPact returns a Pact mock of Laravel. The first call in a run
// deletes the old pact files: the FFI merges into existing files, so stale
// interactions would otherwise survive their tests being changed or deleted.
func newLaravelPact(t *testing.T) *consumer.V3HTTPMockProvider {
	t.Helper()
	cleanPactDir.Do(func() {
		if err := os.RemoveAll(pactDir); err != nil {
			t.Fatalf("clean %s: %v", pactDir, err)
		}
	})
	p, err := consumer.NewV3Pact(consumer.MockHTTPProviderConfig{
		Consumer: consumerName,
		Provider: providerName,
		PactDir:  pactDir,
	})
	if err != nil {
		t.Fatalf("new pact: %v", err)
	}
	return p
}

// laravelClient is the gateway's real Laravel client pointed at Pact's mock server.
func laravelClient(t *testing.T, cfg consumer.MockServerConfig) *laravel.Client {
	t.Helper()
	c, err := laravel.New(laravel.Config{
		BaseURL: fmt.Sprintf("http://%s:%d", cfg.Host, cfg.Port),
		Token:   testToken,
	})
	if err != nil {
		t.Fatalf("laravel client: %v", err)
	}
	return c
}
