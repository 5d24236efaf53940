// Package contracts pins the HTTP contract between the gateway (consumer
// "wagateway") and Laravel (provider "laravel") with Pact (build tag pact).
//
// Consumer tests drive the gateway's real Laravel client against Pact's mock
// server and write a pact; `make contracts` fails when it differs from the
// committed pacts/wagateway-laravel.json, then replays the committed pact
// against mocklaravel, setting provider states over HTTP exactly as a
// Laravel app must (README.md). `make contracts-update` accepts an intended
// change; `make verify-laravel` checks a running Laravel.
//
// To add an interaction: write a consumer test with newLaravelPact; if it
// names a new provider state, handle it in mockProvider.apply and document
// it in README.md.
package contracts
