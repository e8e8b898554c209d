#!/usr/bin/env bash
# A local three-node Arbiter cluster on loopback, for development.
#
#   scripts/cluster.sh start    build bin/arbiter if stale, start n1..n3, wait for a leader
#   scripts/cluster.sh status   which nodes run, then `arbiter status`
#   scripts/cluster.sh stop     SIGTERM every node (SIGKILL after 10 s); data is kept
#   scripts/cluster.sh clean    stop, then delete the data directory
#
# Data, logs (nN.log) and pid files (nN.pid) live in $CLUSTER_DIR
# (default ./cluster-data). Settings, all optional:
#   CLUSTER_DIR         data directory                      (./cluster-data)
#   CLUSTER_HOST        address every node binds            (127.0.0.1)
#   CLUSTER_RAFT_PORTS  Raft ports of n1 n2 n3              ("7001 7002 7003")
#   CLUSTER_GRPC_PORTS  gRPC ports of n1 n2 n3              ("8001 8002 8003")
#   CLUSTER_HTTP_PORTS  status page and /metrics of n1..n3  ("8081 8082 8083"; "none" for none)
#   CLUSTER_TLS_DIR     certificates from scripts/gen-certs.sh  ($CLUSTER_DIR/certs, made by
#                       `start` with `arbiter certs` when missing: the cluster runs on mutual TLS)
#   CLUSTER_INSECURE    1: plaintext instead (every node and the CLI log a warning)
#   CLUSTER_WAIT        seconds `start` waits for a leader  (30)
#   ARBITER_BIN         the binary                          (./bin/arbiter)
#   ARBITER_LOG_LEVEL   and every other ARBITER_<FLAG>: passed to `arbiter serve`
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${CLUSTER_DIR:-$root/cluster-data}"
host="${CLUSTER_HOST:-127.0.0.1}"
read -r -a raft_ports <<<"${CLUSTER_RAFT_PORTS:-7001 7002 7003}"
read -r -a grpc_ports <<<"${CLUSTER_GRPC_PORTS:-8001 8002 8003}"
read -r -a http_ports <<<"${CLUSTER_HTTP_PORTS:-8081 8082 8083}"
bin="${ARBITER_BIN:-$root/bin/arbiter}"
tls_dir="${CLUSTER_TLS_DIR:-$dir/certs}"
nodes=(n1 n2 n3)

# peers prints the --peers list: n1=HOST:RAFT/HOST:GRPC,...
peers() {
  local i out=""
  for i in 0 1 2; do
    out+="${out:+,}${nodes[$i]}=$host:${raft_ports[$i]}/$host:${grpc_ports[$i]}"
  done
  echo "$out"
}

# addrs prints every gRPC address, comma-separated.
addrs() {
  local i out=""
  for i in 0 1 2; do out+="${out:+,}$host:${grpc_ports[$i]}"; done
  echo "$out"
}

# tls_env ROLE ID exports the TLS settings for one identity (plaintext only
# when CLUSTER_INSECURE=1).
tls_env() {
  if [[ "${CLUSTER_INSECURE:-}" == 1 ]]; then
    export ARBITER_INSECURE=true
  else
    export ARBITER_TLS_CERT="$tls_dir/$1-$2.crt" ARBITER_TLS_KEY="$tls_dir/$1-$2.key"
    export ARBITER_TLS_CA="$tls_dir/ca.crt"
  fi
}

# certs makes a dev CA and the cluster's certificates in $tls_dir unless it
# already holds them (or the cluster runs plaintext).
certs() {
  if [[ "${CLUSTER_INSECURE:-}" == 1 || -f "$tls_dir/ca.crt" ]]; then return; fi
  echo "making a dev CA and certificates in $tls_dir"
  "$bin" certs --dir "$tls_dir" --coordinators n1,n2,n3 --participants "${PARTICIPANTS:-bank1,bank2,bank3}" \
    --clients "${CLIENTS:-demo}" --admins admin --hosts "$host,localhost" >/dev/null
}

# build rebuilds bin/arbiter when it is missing or older than any Go file.
build() {
  if [[ -n "${ARBITER_BIN:-}" ]]; then return; fi
  if [[ ! -x "$bin" ]] || [[ -n "$(find "$root" -name '*.go' -newer "$bin" -print -quit)" ]]; then
    echo "building $bin"
    (cd "$root" && go build -o "$bin" ./cmd/arbiter)
  fi
}

# pid_of NODE prints the node's pid if it is running this cluster's node.
pid_of() {
  local f="$dir/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  ps -p "$pid" -o args= 2>/dev/null | grep -qF -- "--data-dir $dir/$1" || return 1
  echo "$pid"
}

start_node() {
  local i="$1" n="${nodes[$1]}"
  if pid_of "$n" >/dev/null; then echo "$n already running"; return; fi
  mkdir -p "$dir/$n"
  local http=() page=""
  if [[ "${http_ports[0]}" != none ]]; then
    http=(--http-addr "$host:${http_ports[$i]}")
    page=", status page http://$host:${http_ports[$i]}/"
  fi
  (tls_env coordinator "$n" && exec "$bin" serve --id "$n" --peers "$(peers)" \
    --raft-addr "$host:${raft_ports[$i]}" --grpc-addr "$host:${grpc_ports[$i]}" \
    "${http[@]}" --data-dir "$dir/$n" >>"$dir/$n.log" 2>&1) &
  echo $! >"$dir/$n.pid"
  echo "$n started (pid $!, log $dir/$n.log$page)"
}

# wait_leader polls `arbiter status` until some node names a leader.
wait_leader() {
  local deadline=$((SECONDS + ${CLUSTER_WAIT:-30}))
  while ((SECONDS < deadline)); do
    if cli status --output json 2>/dev/null | grep -q '"leader_id":"[^"]'; then return 0; fi
    sleep 0.5
  done
  echo "no leader after ${CLUSTER_WAIT:-30}s; see $dir/n*.log" >&2
  return 1
}

# cli runs an arbiter client command against this cluster as the admin.
cli() { (tls_env admin admin && exec "$bin" "$@" --addr "$(addrs)"); }

cmd_start() {
  build
  certs
  for i in 0 1 2; do start_node "$i"; done
  wait_leader
  cli status
}

cmd_stop() {
  local n pid t pids=() alive=()
  for n in "${nodes[@]}"; do
    if pid="$(pid_of "$n")"; then kill -TERM "$pid" && pids+=("$pid"); fi
    rm -f "$dir/$n.pid"
  done
  for ((t = 0; t < 100; t++)); do
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    ((${#alive[@]} == 0)) && { echo "stopped"; return; }
    sleep 0.1
  done
  echo "killing ${alive[*]} after 10s" >&2
  kill -KILL "${alive[@]}" 2>/dev/null || true
}

cmd_status() {
  local n pid
  for n in "${nodes[@]}"; do
    if pid="$(pid_of "$n")"; then echo "$n running (pid $pid)"; else echo "$n stopped"; fi
  done
  cli status
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
clean) cmd_stop && rm -rf "$dir" ;;
*)
  echo "usage: $0 start|stop|status|clean" >&2
  exit 2
  ;;
esac
