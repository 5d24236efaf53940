//go:build pact

package contracts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/pact-foundation/pact-go/v2/models"

	"wagateway/mocklaravel"
)

// Provider states: the consumer tests name them (Given), the provider test
// sets mocklaravel up for them, and Laravel's state endpoint must do the
// same (contracts/README.md). Account states carry the row as params, so a
// provider can handle every "account X exists" with one generic handler.
const (
	stateAutocreateOff = "autocreate is off"   // unknown session_ids are counted in failed, not created
	stateTokenRequired = "a token is required" // /api answers 401 without the right bearer token
)

var (
	accountExistsRE = regexp.MustCompile(`^account (\S+) exists$`)
	noAccountRE     = regexp.MustCompile(`^no account (\S+)$`)
)

// accountExists is the state "account <id> exists" with its whatsapp_accounts row.
func accountExists(id, estado, lastStatusUpdate string) models.ProviderState {
	return models.ProviderState{
		Name: "account " + id + " exists",
		Parameters: map[string]any{
			"session_id":         id,
			"estado_qr":          estado,
			"last_status_update": lastStatusUpdate,
		},
	}
}

// knownAccount is the account the interactions write to and read.
var knownAccount = accountExists("abc123", "active", knownAccountUpdated)

const knownAccountUpdated = "2026-11-27T10:00:00.000Z"

// noAccount is the state "no account <id>".
func noAccount(id string) models.ProviderState {
	return models.ProviderState{Name: "no account " + id, Parameters: map[string]any{"session_id": id}}
}

// stateChange is the body the Pact verifier POSTs to the provider-states
// URL before (action "setup") and after ("teardown") each interaction,
// once per state, e.g. {"action":"setup","params":{"session_id":"abc999"},
// "state":"no account abc999"}; an interaction without a state sends
// "state":"" with empty params.
type stateChange struct {
	State  string         `json:"state"`
	Params map[string]any `json:"params"`
	Action string         `json:"action"`
}

// mockProvider is mocklaravel as the pact's provider. mocklaravel reads
// autocreate from its Config only, so there are two: autocreate on (the
// default) and off; "autocreate is off" switches which one answers, and
// accounts are created in both so states can come in any order.
type mockProvider struct {
	open, strict *mocklaravel.Server
	current      atomic.Pointer[mocklaravel.Server]
}

func newMockProvider(token string) (*mockProvider, error) {
	open, err := mocklaravel.New(mocklaravel.Config{DB: ":memory:", Token: token})
	if err != nil {
		return nil, err
	}
	strict, err := mocklaravel.New(mocklaravel.Config{DB: ":memory:", Token: token, DisableAutoCreate: true})
	if err != nil {
		_ = open.Close()
		return nil, err
	}
	p := &mockProvider{open: open, strict: strict}
	p.current.Store(open)
	return p, nil
}

func (p *mockProvider) Close() error {
	return errors.Join(p.open.Close(), p.strict.Close())
}

func (p *mockProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.current.Load().ServeHTTP(w, r)
}

// apply sets up one state; a teardown resets everything, so every
// interaction starts from an empty database with autocreate on.
func (p *mockProvider) apply(ctx context.Context, sc stateChange) error {
	if sc.Action == "teardown" || sc.State == "" {
		// "" is an interaction without a state: start it from the empty database.
		p.current.Store(p.open)
		return errors.Join(p.open.Reset(ctx), p.strict.Reset(ctx))
	}
	switch {
	case sc.State == stateAutocreateOff:
		p.current.Store(p.strict)
		return nil
	case sc.State == stateTokenRequired:
		return nil // both servers always require the token
	case accountExistsRE.MatchString(sc.State):
		a, err := accountFromParams(accountExistsRE.FindStringSubmatch(sc.State)[1], sc.Params)
		if err != nil {
			return err
		}
		return errors.Join(p.open.UpsertAccount(ctx, a), p.strict.UpsertAccount(ctx, a))
	case noAccountRE.MatchString(sc.State):
		id := noAccountRE.FindStringSubmatch(sc.State)[1]
		_, err1 := p.open.DeleteAccount(ctx, id)
		_, err2 := p.strict.DeleteAccount(ctx, id)
		return errors.Join(err1, err2)
	}
	return fmt.Errorf("unknown provider state %q: add it to mockProvider.apply and contracts/README.md", sc.State)
}

func accountFromParams(id string, params map[string]any) (mocklaravel.Account, error) {
	a := mocklaravel.Account{SessionID: id}
	a.EstadoQR, _ = params["estado_qr"].(string)
	if s, _ := params["last_status_update"].(string); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return a, fmt.Errorf("state account %s: last_status_update: %w", id, err)
		}
		a.LastStatusUpdate = t
	}
	return a, nil
}

// stateEndpoint serves the provider-states URL for p: the same protocol a
// Laravel app implements for `make verify-laravel`. An unknown state is a
// 400, which fails the verification instead of skipping the set-up.
func stateEndpoint(p *mockProvider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sc stateChange
		if err := json.NewDecoder(r.Body).Decode(&sc); err != nil {
			http.Error(w, "state change: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := p.apply(r.Context(), sc); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})
}
