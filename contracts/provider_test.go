//go:build pact

package contracts

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pact-foundation/pact-go/v2/models"
	"github.com/pact-foundation/pact-go/v2/provider"

	"wagateway/mocklaravel"
)

// providerStates sets mocklaravel up for each "Given" of the pacts. Every
// state starts from an empty database (the teardown resets it).
var providerStates = map[string]func(ctx context.Context, srv *mocklaravel.Server) error{
	"session abc123 is active": func(ctx context.Context, srv *mocklaravel.Server) error {
		return srv.UpsertAccount(ctx, mocklaravel.Account{
			SessionID:        "abc123",
			EstadoQR:         "active",
			LastStatusUpdate: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
		})
	},
}

// TestProviderMockLaravel replays every committed pact against mocklaravel.
// It runs after the consumer tests (source order), which rewrite the pacts.
func TestProviderMockLaravel(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(pactDir, "*-"+providerName+".json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no pact files for %s in %s (run the consumer tests first): %v", providerName, pactDir, err)
	}

	srv, err := mocklaravel.New(mocklaravel.Config{DB: ":memory:", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	baseURL := serve(t, srv)

	handlers := models.StateHandlers{}
	for name, setup := range providerStates {
		handlers[name] = func(up bool, _ models.ProviderState) (models.ProviderStateResponse, error) {
			ctx := context.Background()
			if !up {
				return nil, srv.Reset(ctx)
			}
			return nil, setup(ctx, srv)
		}
	}

	err = provider.NewVerifier().VerifyProvider(t, provider.VerifyRequest{
		Provider:             providerName,
		ProviderBaseURL:      baseURL,
		PactFiles:            files,
		StateHandlers:        handlers,
		FailIfNoPactsFound:   true,
		DisableColoredOutput: true,
	})
	if err != nil {
		t.Fatalf("provider verification: %v", err)
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
