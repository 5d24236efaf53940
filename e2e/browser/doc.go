// Package browser tests the operator dashboard (GET /ui) in a real headless
// Chromium driven with chromedp (build tag browser), against the gateway
// binary with simulated phones and the mock Laravel. `make browser` installs
// Chromium, fetches axe-core and runs them; screenshots land in
// ARTIFACTS_DIR (default e2e/artifacts/).
package browser
