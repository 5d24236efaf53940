//go:build pact

package contracts

import (
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pact-foundation/pact-go/v2/provider"
	"github.com/pact-foundation/pact-go/v2/proxy"
)

// TestProviderMockLaravel replays the committed pact against mocklaravel
// the way `make verify-laravel` does a Laravel app: provider states over
// HTTP, and a token of its own swapped in for the pact's example token.
func TestProviderMockLaravel(t *testing.T) {
	const token = "mock-laravel-token"
	p, err := newMockProvider(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	verify(t, serve(t, p), serve(t, stateEndpoint(p))+"/provider-states", swapToken("Bearer "+testToken, "Bearer "+token))
}

// TestVerifyLaravel replays the committed pact against a running Laravel:
// `make verify-laravel LARAVEL_URL=… [PROVIDER_STATES_URL=…] [LARAVEL_TOKEN=…]`.
// It reads its own VERIFY_* variables, so the gateway's LARAVEL_URL in a
// developer's environment never turns it on by accident.
func TestVerifyLaravel(t *testing.T) {
	baseURL := os.Getenv("VERIFY_LARAVEL_URL")
	if baseURL == "" {
		t.Skip("VERIFY_LARAVEL_URL is not set (run make verify-laravel LARAVEL_URL=…)")
	}
	statesURL := os.Getenv("VERIFY_PROVIDER_STATES_URL")
	if statesURL == "" {
		t.Log("no PROVIDER_STATES_URL: interactions run against whatever data Laravel has, and those needing a state will likely fail")
	}
	var filter proxy.Middleware
	if token := os.Getenv("VERIFY_LARAVEL_TOKEN"); token != "" {
		filter = swapToken("Bearer "+testToken, "Bearer "+token)
	}
	verify(t, baseURL, statesURL, filter)
}

// verify runs the Pact verifier over the committed pact files.
func verify(t *testing.T, baseURL, statesURL string, filter proxy.Middleware) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(committedPactDir, "*-"+providerName+".json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no pact files for %s in %s: %v", providerName, committedPactDir, err)
	}
	err = provider.NewVerifier().VerifyProvider(t, provider.VerifyRequest{
		Provider:               providerName,
		ProviderBaseURL:        baseURL,
		PactFiles:              files,
		ProviderStatesSetupURL: statesURL,
		RequestFilter:          filter,
		FailIfNoPactsFound:     true,
		DisableColoredOutput:   true,
		RequestTimeout:         30 * time.Second,
	})
	if err != nil {
		t.Fatalf("provider verification failed (the failures are listed above): %v", err)
	}
}

// swapToken replaces the pact's example bearer token with a real one. Only
// an exact match is replaced, so the 401 interaction's wrong token stays wrong.
func swapToken(from, to string) proxy.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == from {
				r.Header.Set("Authorization", to)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// serve runs h on a free loopback port until the test ends and returns its base URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
