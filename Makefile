# tokensmith: `make run` serves the API locally with demo data; `make test`
# runs every test against DynamoDB Local. Both start DynamoDB Local when
# nothing answers on 127.0.0.1:8000 and stop only what they started.

GO ?= go
WITH_DYNAMODB := $(GO) run ./cmd/dynamodb-local --

.PHONY: run test bench vet

run:
	$(WITH_DYNAMODB) $(GO) run ./cmd/localgw

test:
	$(WITH_DYNAMODB) $(GO) test -count=1 ./...

# bench measures the authorizer against DynamoDB Local and rewrites
# docs/BENCHMARKS.md.
bench:
	$(WITH_DYNAMODB) $(GO) run ./cmd/bench

vet:
	$(GO) vet ./...
