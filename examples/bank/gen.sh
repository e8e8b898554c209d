#!/usr/bin/env bash
# Regenerates the example bank's Go code (bankpb/) from proto/bank/v1. Run
# from anywhere (make proto runs it). Needs protoc, protoc-gen-go v1.36.12,
# protoc-gen-go-grpc v1.6.2 (scripts/install-protoc-plugins.sh).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:$(go env GOPATH)/bin"
protoc -I proto \
  --go_out=. --go_opt=module=github.com/arbiter-tx/arbiter/examples/bank \
  --go-grpc_out=. --go-grpc_opt=module=github.com/arbiter-tx/arbiter/examples/bank \
  proto/bank/v1/*.proto
