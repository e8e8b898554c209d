#!/usr/bin/env bash
# Installs protoc (Debian's protobuf-compiler) if missing, and the pinned Go
# plugins that generate proto/arbiterpb and examples/bank/bankpb.
set -euo pipefail
if ! command -v protoc >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null
  else
    echo "protoc is missing: apt-get install protobuf-compiler" >&2
    exit 1
  fi
fi
GOBIN="$(go env GOPATH)/bin"
want_go="v1.36.12"
want_grpc="1.6.2"
if ! "$GOBIN/protoc-gen-go" --version 2>/dev/null | grep -q "$want_go"; then
  GOFLAGS= go install "google.golang.org/protobuf/cmd/protoc-gen-go@$want_go"
fi
if ! "$GOBIN/protoc-gen-go-grpc" --version 2>/dev/null | grep -q "$want_grpc"; then
  GOFLAGS= go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@v$want_grpc"
fi
