// Package contracts pins the HTTP contract between the gateway (consumer
// "wagateway") and Laravel (provider "laravel") with Pact (build tag pact).
//
// Consumer tests drive the gateway's real Laravel client against Pact's mock
// server and write pacts/wagateway-laravel.json, which is committed; the
// provider test replays every interaction against mocklaravel. `make
// contracts` installs the Pact FFI and runs both, consumers first.
//
// To add an interaction: write a consumer test with newLaravelPact, and if
// it names a new provider state ("Given"), add its set-up to providerStates.
package contracts
