#!/usr/bin/env bash
# The cluster's figures beside the single node's, in one run: a Release
# build, a redis-server and switchboard-server nodes on this machine
# (loopback only), switchboard-loadgen against them.
#
#   bench/cluster.sh [--quick]
#
#   single node   ceiling (candidates), one server without --redis
#   cross-node    relay at 20,000 messages/s with every pair's two ends on
#                 two nodes: latency, CPU per message on each node, Redis CPU
#                 per message; then the cross-node ceiling
#   storm         10,000 clients (--quick: 2,000) over three nodes, rooms of 10
#
# Environment: BUILD_DIR (default build/bench-release), RESULTS_DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/bench-release}
quick=0
[[ ${1:-} == --quick ]] && quick=1
results=${RESULTS_DIR:-$build/cluster-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$results"

source "$root/bench/common.sh"
release_build "$build" switchboard-server switchboard-loadgen
server_bin=$build/server/switchboard-server
loadgen=$build/tools/loadgen/switchboard-loadgen

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$results/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 100); do
    [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && break
    sleep 0.05
done

start_node() {  # start_node NAME FLAGS...: sets $url and $pid
    local name=$1
    shift
    "$server_bin" --port 0 --threads 1 --log-level warn --rate-limit 0 "$@" >"$results/$name.out" \
        2>"$results/$name.err" &
    pid=$!
    pids+=("$pid")
    url=$(listening_url "$results/$name.out" "$pid") && return 0
    echo "cluster.sh: $name did not start" >&2
    cat "$results/$name.err" >&2
    exit 1
}

{
    echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "redis: $(redis-server --version | cut -d' ' -f3)"
} | tee "$results/machine.txt"

step=3 clients=10000
[[ $quick == 1 ]] && step=2 clients=2000
ceiling=(--scenario ceiling --mix candidate --start-rate 5000 --step-factor 1.25 --max-rate 600000 --step "$step"
    --per-connection-rate 1000 --threads 2 --timeout 120)

echo "== single node (no --redis): ceiling"
start_node single
"$loadgen" --url "$url" --server-pid "$pid" --label single --tag ceiling "${ceiling[@]}" \
    --json "$results/single-ceiling.json" | tee "$results/single-ceiling.txt"
kill "$pid"; wait "$pid" 2>/dev/null || true

cluster=(--redis "redis://127.0.0.1:$redis_port")
start_node node1 "${cluster[@]}"
url1=$url pid1=$pid
start_node node2 "${cluster[@]}"
url2=$url pid2=$pid

echo "== cross-node: relay, 20,000 messages/s"
"$loadgen" --url "$url1" --server-pid "$pid1" --also-url "$url2" --also-pid "$pid2" --redis-pid "$redis_pid" \
    --label cluster --tag relay-cross --scenario relay --rate 20000 --duration 10 --per-connection-rate 1000 \
    --threads 2 --json "$results/relay-cross.json" | tee "$results/relay-cross.txt"
echo "== cross-node: ceiling"
"$loadgen" --url "$url1" --server-pid "$pid1" --also-url "$url2" --also-pid "$pid2" --redis-pid "$redis_pid" \
    --label cluster --tag ceiling-cross "${ceiling[@]}" --json "$results/ceiling-cross.json" |
    tee "$results/ceiling-cross.txt"

start_node node3 "${cluster[@]}"
url3=$url
echo "== storm: $clients clients over three nodes"
"$loadgen" --url "$url1" --also-url "$url2" --also-url "$url3" --label cluster --tag storm-3-nodes \
    --scenario storm --clients "$clients" --room-size 10 --concurrency 512 --threads 2 --timeout 120 \
    --json "$results/storm.json" | tee "$results/storm.txt"

echo "results: $results"
