#!/usr/bin/env bash
# A tiny, bounded run of every load scenario against switchboard-server and
# the bare relay baseline (seconds, a few dozen connections), so the tools
# cannot rot. It checks that every scenario runs and that relayed messages
# arrive; it asserts no timings.
#
#   bench/smoke.sh SERVER_BIN BASELINE_BIN LOADGEN_BIN
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 SERVER_BIN BASELINE_BIN LOADGEN_BIN" >&2
    exit 2
fi
server_bin=$1 baseline_bin=$2 loadgen=$3
source "$(dirname "$0")/common.sh"
work=$(mktemp -d)
pid=""
cleanup() {
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD...: runs a server, waits (10 s at most) for "listening on ws://...", sets $pid and $url.
start() {
    local name=$1
    shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    url=$(listening_url "$work/$name.out" "$pid") && return 0
    echo "smoke: $name did not start:" >&2
    cat "$work/$name.out" "$work/$name.err" >&2
    exit 1
}

stop() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}

run() {  # run LABEL SCENARIO ARGS...
    local label=$1 scenario=$2
    shift 2
    echo "== $label: $scenario"
    "$loadgen" --url "$url" --server-pid "$pid" --label "$label" --scenario "$scenario" --timeout 30 \
        --json "$work/results/$label-$scenario.json" "$@"
}

mkdir -p "$work/results"
for label in switchboard baseline; do
    if [[ $label == switchboard ]]; then
        start "$label" "$server_bin" --port 0 --threads 1 --log-level warn
    else
        start "$label" "$baseline_bin" --port 0 --threads 1
    fi
    run "$label" storm --clients 40 --room-size 10 --concurrency 16 --hold 0.2
    run "$label" relay --pairs 4 --rate 200 --duration 1 --drain 10
    run "$label" ceiling --pairs 4 --start-rate 100 --max-rate 400 --step-factor 2 --step 0.5 --p99-limit-ms 1000
    run "$label" churn --cycles 60 --concurrency 6
    stop
    # Relayed messages must all arrive (a functional check, not a timing one).
    if ! grep -q '"drops": 0' "$work/results/$label-relay.json"; then
        echo "smoke: $label dropped relayed messages" >&2
        cat "$work/results/$label-relay.json" >&2
        exit 1
    fi
    # After churn the hub's registries are back where they were (nobody is left).
    if [[ $label == switchboard ]]; then
        for gauge in connections_open rooms_open; do
            if ! grep -q "\"server_${gauge}_after\": 0" "$work/results/$label-churn.json"; then
                echo "smoke: $label still counts $gauge after churn" >&2
                cat "$work/results/$label-churn.json" >&2
                exit 1
            fi
        done
    fi
done
"$loadgen" --report "$work/results"
echo "smoke: every scenario ran"
