#!/usr/bin/env bash
# Regenerates the Go code for every .proto under proto/ (the example bank's
# has its own script, examples/bank/gen.sh). Run from the repo root
# (make proto). Needs protoc, protoc-gen-go v1.36.12, protoc-gen-go-grpc v1.6.2.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:$(go env GOPATH)/bin"
protoc -I . \
  --go_out=. --go_opt=module=github.com/arbiter-tx/arbiter/proto \
  --go-grpc_out=. --go-grpc_opt=module=github.com/arbiter-tx/arbiter/proto \
  arbiter/v1/*.proto
