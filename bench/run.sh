#!/usr/bin/env bash
# One command: build (Release) and run every benchmark against
# switchboard-server and the bare WebSocket relay baseline, then print the
# table (medians of --runs runs, ratios to the baseline).
#
#   bench/run.sh [--runs N] [--quick]
#
#   --runs N   repeat every load scenario N times (default 3); the table shows medians
#   --quick    smaller scenarios (1,000 clients, 20,000 churn cycles, shorter windows)
#
# Environment: BUILD_DIR (default build/bench-release), RESULTS_DIR (default
# $BUILD_DIR/bench-results/<date>), PER_CONNECTION_RATE (relay messages a second
# per connection, default 1000). Everything listens on 127.0.0.1 only.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/bench-release}
results=${RESULTS_DIR:-$build/bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$results"

source "$root/bench/common.sh"
parse_runs_and_quick "$0 [--runs N] [--quick]" "$@"
release_build "$build" switchboard-server switchboard-relay-baseline switchboard-loadgen \
    switchboard_hub_bench switchboard_route_profile

server_bin=$build/server/switchboard-server
baseline_bin=$build/bench/switchboard-relay-baseline
loadgen=$build/tools/loadgen/switchboard-loadgen

# Messages a second per connection in relay and ceiling (so pairs = rate / 2 / this). The
# server runs with --rate-limit 0, so this is not bound by its default 200/s; at 1,000/s
# a connection often has several frames waiting, which is when reads and writes batch.
per_connection_rate=${PER_CONNECTION_RATE:-1000}

if [[ $quick == 1 ]]; then
    clients=1000 churn=20000 window=4 step=2
else
    clients=10000 churn=100000 window=10 step=3
fi

{
    echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
        "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$results/machine.txt"

echo "== micro-benchmarks (per core: CPU time)"
"$build/bench/switchboard_hub_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$results/micro.json" --benchmark_out_format=json | tee "$results/micro.txt"

echo "== instructions per routed message (callgrind, exact)"
if command -v valgrind >/dev/null; then
    for kind in candidate offer naive-candidate naive-offer; do
        ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='*route_messages*' \
            "$build/bench/switchboard_route_profile" "$kind" 2000 2>&1 | sed -n 's/.*Collected : //p')
        echo "$kind: $((ir / 2000)) instructions/message" | tee -a "$results/instructions.txt"
    done
fi

pid=""
cleanup() { if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

starts=0
start() {  # start LABEL THREADS: a fresh server process; sets $pid and $url
    local label=$1 threads=$2
    starts=$((starts + 1))
    local out=$results/server-$starts.out
    : >"$out"
    if [[ $label == switchboard ]]; then
        # --rate-limit 0: the per-connection message rate is not what is measured here
        "$server_bin" --port 0 --threads "$threads" --log-level warn --rate-limit 0 >"$out" 2>>"$results/server.err" &
    else
        "$baseline_bin" --port 0 --threads "$threads" >"$out" 2>>"$results/server.err" &
    fi
    pid=$!
    url=$(listening_url "$out" "$pid") && return 0
    echo "run.sh: $label did not start" >&2
    cat "$results/server.err" >&2
    exit 1
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }

scenario() {  # scenario RUN LABEL THREADS TAG ARGS...: one scenario against a fresh server
    local run=$1 label=$2 threads=$3 tag=$4
    shift 4
    start "$label" "$threads"
    echo "== run $run, $label (--threads $threads): $tag"
    "$loadgen" --url "$url" --server-pid "$pid" --label "$label" --tag "$tag" --threads 2 --timeout 120 \
        --per-connection-rate "$per_connection_rate" \
        --json "$results/run$run-$label-$tag.json" "$@" >"$results/run$run-$label-$tag.txt" 2>&1 ||
        echo "   (exit status $?: see $results/run$run-$label-$tag.txt)"
    stop
}

for run in $(seq "$runs"); do
    for label in switchboard baseline; do
        scenario "$run" "$label" 1 storm --scenario storm --clients "$clients" --room-size 10 --concurrency 512 --hold 2
        scenario "$run" "$label" 1 relay --scenario relay --rate 20000 --duration "$window"
        scenario "$run" "$label" 1 relay-candidate --scenario relay --mix candidate --rate 30000 --duration "$window"
        scenario "$run" "$label" 1 relay-sdp --scenario relay --mix sdp --rate 10000 --duration "$window"
        scenario "$run" "$label" 1 ceiling --scenario ceiling --start-rate 5000 --step-factor 1.25 \
            --max-rate 600000 --step "$step"
        scenario "$run" "$label" 2 ceiling-threads2 --scenario ceiling --start-rate 5000 --step-factor 1.25 \
            --max-rate 600000 --step "$step"
        # Server CPU per message at saturation, one message size at a time: with
        # many connections (nothing queues on any one of them: a frame a system
        # call) and with 20 busy pairs (frames queue: several per system call).
        # A fine step grid, so the last step passed is close to saturation.
        for mix in candidate sdp; do
            first=80000
            [[ $mix == sdp ]] && first=50000
            scenario "$run" "$label" 1 "ceiling-$mix" --scenario ceiling --mix "$mix" --start-rate "$first" \
                --step-factor 1.2 --max-rate 600000 --step "$step"
            scenario "$run" "$label" 1 "ceiling-$mix-busy" --scenario ceiling --mix "$mix" --pairs 20 \
                --start-rate "$first" --step-factor 1.2 --max-rate 600000 --step "$step"
        done
        scenario "$run" "$label" 1 churn --scenario churn --cycles "$churn" --concurrency 64
    done
done

echo
cat "$results/machine.txt"
"$loadgen" --report "$results" | tee "$results/table.txt"
echo
echo "results: $results"
