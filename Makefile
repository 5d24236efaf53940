# wagateway: every command developers and CI use. The set-up logic lives in scripts/*.sh.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: help run demo test unit alerts-test contracts contracts-update verify-laravel laravel laravel-test e2e browser loadtest loadtest-laravel loadtest-quick loadtest-scale soak outage mocks lint fuzz image mutation breakit mutation-ci breakit-ci

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

run: ## the gateway with defaults (real WhatsApp); env vars override (docs/configuration.md)
	@bash scripts/run.sh

demo: ## mock Laravel + gateway with simulated phones, batches arriving live
	@bash scripts/demo.sh

test: lint unit alerts-test contracts e2e browser loadtest-quick laravel-test mutation-ci breakit-ci ## everything CI runs (installs and starts what is missing)
	@echo "make test: all passed"

unit: ## go vet + unit tests (real Redis), -race on ./service/... (RACE=0 skips it)
	@bash scripts/unit.sh

alerts-test: ## promtool check + test of ops/prometheus/alerts.yml, and every metric ops/ names is served by /metrics
	@bash scripts/alerts.sh

contracts: ## pact consumer tests, drift check of contracts/pacts/, provider verification against mocklaravel
	@bash scripts/contracts.sh

contracts-update: ## accept an intended contract change: rewrite contracts/pacts/ from the consumer tests
	@bash scripts/contracts.sh update

verify-laravel: ## verify a running Laravel: LARAVEL_URL=… [PROVIDER_STATES_URL=…] [LARAVEL_TOKEN=…]
	@LARAVEL_URL="$(LARAVEL_URL)" PROVIDER_STATES_URL="$(PROVIDER_STATES_URL)" LARAVEL_TOKEN="$(LARAVEL_TOKEN)" bash scripts/contracts.sh verify-laravel

laravel: ## the real Laravel app (contracts/laravel) in the foreground on LARAVEL_APP_ADDR (127.0.0.1:8000), fresh SQLite
	@bash scripts/laravel.sh serve

laravel-test: ## PHPUnit, pact verification, mock fidelity and e2e against the real Laravel (installs PHP)
	@bash scripts/laravel.sh test

e2e: ## black-box tests: gateway binary + Redis in Docker (testcontainers)
	@bash scripts/e2e.sh

browser: ## dashboard (GET /ui) in headless Chromium: chromedp + axe-core, screenshots in e2e/artifacts/
	@bash scripts/browser.sh

loadtest: ## load generator against mock Laravel (flags: ARGS="...")
	go run ./loadtest/cmd/loadtest $(ARGS)

loadtest-laravel: ## direct vs batch against the real Laravel (PHP CPU seconds, handling p50/p99); ARGS="..." adds flags
	@ARGS="$(ARGS)" bash scripts/laravel.sh loadtest

loadtest-quick: ## the load test compressed ×10 on the embedded store, then on a redis-server (which make unit installs), < 60 s each
	go run ./loadtest/cmd/loadtest -quick
	go run ./loadtest/cmd/loadtest -quick -start-redis

loadtest-scale: ## N gateway instances on one local Redis, sessions through random instances: CPU and RSS per instance, ownership, nothing lost (flags: ARGS="..."; not in make test)
	go run ./loadtest/cmd/scale $(ARGS)

soak: ## 1,000 sessions pair, close and restart on one gateway, time-scaled; RSS, goroutines, fds, Redis memory, outbox depth must stay flat (flags: ARGS="..."; not in make test)
	go run ./loadtest/cmd/soak $(ARGS)

outage: ## Laravel down 10 min while 1,000 sessions keep pairing (time ×10); the outbox must stay flat, then Laravel gets each session's newest QR and status only (flags: ARGS="..."; not in make test)
	go run ./loadtest/cmd/outage $(ARGS)

mocks: ## regenerate service/mock from the domain interfaces (.mockery.yaml)
	go tool mockery

mutation: ## mutation testing (gremlins) of the delivery core: efficacy per package and every survivor (MUTATION_PKGS limits)
	@bash scripts/mutation.sh

breakit: ## each e2e/breakit/*.patch removes a guarantee: its tests must fail on a patched copy and pass unpatched (BREAKIT_PATCHES limits)
	@bash scripts/breakit.sh

mutation-ci: ## the part of make mutation that fits CI: the flusher and the in-memory outbox (docs/mutation.md)
	@MUTATION_PKGS="delivery inmem" bash scripts/mutation.sh

breakit-ci: ## make breakit for the patches whose code the last commit changed
	@BREAKIT_CHANGED=$${BREAKIT_CHANGED:-HEAD~1} bash scripts/breakit.sh

fuzz: ## every Go fuzz target for FUZZTIME each (default 10s); FUZZ_PKGS limits the packages
	@bash scripts/fuzz.sh

image: ## container images wagateway:local and wagateway-mocklaravel:local (static binaries, FROM scratch)
	@bash scripts/image.sh

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## go mod tidy check, gofmt check, go vet, staticcheck, govulncheck (skipped, and said so, when its database is unreachable)
	go mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	CGO_ENABLED=0 go vet ./...
	CGO_ENABLED=0 go vet -tags e2e ./e2e/...
	CGO_ENABLED=0 go vet -tags postgres ./internal/pgtest/...
	CGO_ENABLED=0 go vet -tags browser ./e2e/browser/
	CGO_ENABLED=0 go run $(STATICCHECK) ./...
	@bash scripts/vulncheck.sh
