# Arbiter: the targets a newcomer uses.
GO ?= go

.PHONY: certs demo demo-events demo-postgres demo-mysql test test-short bench jepsen lint proto tidy-check build

## demo: three coordinators + three bank participants as real processes, transfers, crashes, checks
demo:
	$(GO) run ./cmd/demo

## demo-events: the demo with an outbox participant: each transfer's third branch publishes transfer.completed to NATS
##              JetStream (a nats-server inside the demo); a consumer must receive exactly the committed transfers, once
##              each, through an outbox kill and a broker restart (summary: events_published/expected/duplicated)
demo-events:
	$(GO) run ./cmd/demo --events

## demo-postgres: the same demo with each bank's accounts in a PostgreSQL server of its own (started and removed by the demo;
##                needs the PostgreSQL server binaries: apt-get install postgresql, or ARBITER_PG_BIN)
demo-postgres:
	$(GO) run ./cmd/demo --postgres

## demo-mysql: the same demo with each bank's accounts in a MariaDB server of its own, over XA (started and removed by
##             the demo; needs the MariaDB server binaries: apt-get install mariadb-server, or ARBITER_MYSQL_BIN)
demo-mysql:
	$(GO) run ./cmd/demo --mysql

## certs: a development CA and certificates for a local cluster in certs/ (scripts/gen-certs.sh; the demo and the fault suite make their own)
certs:
	bash scripts/gen-certs.sh certs

## test: every package's tests with the race detector
test:
	$(GO) test -race -count=1 -timeout 20m ./...

## build: compile every binary into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed on:"; gofmt -l .; exit 1)
	$(GO) vet ./...

## proto: regenerate the protobuf and gRPC code (needs protoc, see scripts/install-protoc-plugins.sh)
proto:
	bash scripts/install-protoc-plugins.sh
	bash proto/gen.sh
	bash examples/bank/gen.sh

## tidy-check: fail if go mod tidy or make proto would change a file
tidy-check: proto
	$(GO) mod tidy
	git diff --exit-code -- go.mod go.sum proto/ examples/bank/

## bench: throughput, latency, CPU and fsyncs per transaction: 3 coordinators vs the RPC floor and 1 coordinator
##        (several minutes); `make bench BENCH_FLAGS=--quick` (or `go run ./cmd/bench --quick`) takes under a minute.
##        Results: a table, and JSON + SVG in bench-results/ (--out DIR).
bench:
	$(GO) run ./cmd/bench $(BENCH_FLAGS)

## jepsen: the fault-injection suite's standard matrix
jepsen:
	$(GO) run ./jepsen --matrix standard
