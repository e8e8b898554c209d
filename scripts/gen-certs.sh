#!/usr/bin/env bash
# Development certificates for a local cluster: a CA plus one certificate per
# identity, written into DIR (default: certs). Re-running reuses the CA in
# DIR and reissues the certificates. Extra arguments go to `arbiter certs`
# (for example --hosts 127.0.0.1,localhost,10.0.0.5).
#
#   scripts/gen-certs.sh [DIR] [arbiter certs flags...]
set -euo pipefail
dir="${1:-certs}"
shift || true
cd "$(dirname "$0")/.."
exec go run ./cmd/arbiter certs --dir "$dir" \
  --coordinators "${COORDINATORS:-n1,n2,n3}" \
  --participants "${PARTICIPANTS:-bank1,bank2,bank3}" \
  --clients "${CLIENTS:-demo,jepsen}" \
  --admins "${ADMINS:-admin}" \
  --hosts "${HOSTS:-127.0.0.1,::1,localhost}" \
  "$@"
