#!/usr/bin/env bash
# Before/after on one machine, interleaved: switchboard-server and hub_bench
# built (Release) from REV and from the working tree, run alternately
# (before, after, after, before, ...) so that drift in the machine's speed
# and what one run leaves for the next land on both sides; then the medians
# side by side, ratio after/before.
#
#   bench/ab.sh REV [--runs N] [--quick]
#
#   REV        the "before": any commit (e.g. HEAD~1, or a hash)
#   --runs N   rounds of before+after (default 3; even is fairer: ABBA)
#   --quick    smaller scenarios (1,000 clients, shorter windows)
#
# Scenarios, one server thread each: storm (RSS per idle connection),
# ceiling (highest sustained relay rate), ceiling-candidate and
# ceiling-sdp (server CPU per message at saturation), relay-candidate
# (CPU per message at 30,000/s); then hub_bench (core routing, ns per
# operation). One load generator (the working tree's) drives both sides.
# Environment: BEFORE_DIR (default build/ab-before: REV's worktree and
# build), BUILD_DIR (default build/bench-release), RESULTS_DIR. Everything
# listens on 127.0.0.1 only.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
usage() { echo "usage: $0 REV [--runs N] [--quick]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
rev=$1
shift
before=${BEFORE_DIR:-$root/build/ab-before}
after=${BUILD_DIR:-$root/build/bench-release}
results=${RESULTS_DIR:-$after/ab-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$results"
source "$root/bench/common.sh"
parse_runs_and_quick "$0 REV [--runs N] [--quick]" "$@"

# The "before" tree: a detached worktree of REV, built like release_build does.
commit=$(git -C "$root" rev-parse --verify "$rev^{commit}")
if [[ ! -d $before/src ]]; then
    git -C "$root" worktree add --detach "$before/src" "$commit" >/dev/null
else
    git -C "$before/src" checkout --quiet --detach "$commit"
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$before/src" -B "$before/build" -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DSWITCHBOARD_BUILD_BENCHMARKS=ON -DSWITCHBOARD_BUILD_TESTS=OFF -DSWITCHBOARD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$before/build" -j"$(nproc)" --target switchboard-server switchboard_hub_bench
release_build "$after" switchboard-server switchboard-loadgen switchboard_hub_bench

loadgen=$after/tools/loadgen/switchboard-loadgen
declare -A server=([before]=$before/build/server/switchboard-server [after]=$after/server/switchboard-server)
declare -A hub_bench=([before]=$before/build/bench/switchboard_hub_bench [after]=$after/bench/switchboard_hub_bench)

{
    echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "before: $(git -C "$root" rev-parse --short "$commit"); after: working tree of" \
        "$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD || echo ' (with changes)')"
} | tee "$results/machine.txt"

# As in run.sh: relay and ceiling at 1,000 messages a second per connection.
per_connection_rate=${PER_CONNECTION_RATE:-1000}
if [[ $quick == 1 ]]; then
    clients=1000 window=4 step=2
else
    clients=5000 window=8 step=3
fi

pid=""
cleanup() { if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

scenario() {  # scenario RUN SIDE TAG ARGS...: one scenario against a fresh server of SIDE
    local run=$1 side=$2 tag=$3
    shift 3
    local out=$results/server-$run-$side-$tag.out
    "${server[$side]}" --port 0 --threads 1 --log-level warn --rate-limit 0 >"$out" 2>>"$results/server.err" &
    pid=$!
    local url
    url=$(listening_url "$out" "$pid") || { echo "ab.sh: the $side server did not start" >&2; exit 1; }
    echo "== run $run, $side: $tag"
    "$loadgen" --url "$url" --server-pid "$pid" --label "$side" --tag "$tag" --threads 2 --timeout 120 \
        --per-connection-rate "$per_connection_rate" --json "$results/run$run-$side-$tag.json" "$@" >"$results/run$run-$side-$tag.txt" 2>&1 ||
        echo "   (exit status $?: see $results/run$run-$side-$tag.txt)"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}

# ABBA: odd rounds run before then after, even rounds after then before, so
# that whatever one scenario leaves behind for the next (sockets in
# TIME_WAIT, a warm or a cold cache) falls on both sides alike. Use an even
# --runs.
for run in $(seq "$runs"); do
    sides="before after"
    [[ $((run % 2)) == 0 ]] && sides="after before"
    for side in $sides; do
        scenario "$run" "$side" storm --scenario storm --clients "$clients" --room-size 10 --concurrency 512 --hold 2
        scenario "$run" "$side" ceiling --scenario ceiling --start-rate 5000 --step-factor 1.25 --max-rate 600000 \
            --step "$step"
        scenario "$run" "$side" ceiling-candidate --scenario ceiling --mix candidate --start-rate 80000 \
            --step-factor 1.2 --max-rate 600000 --step "$step"
        scenario "$run" "$side" ceiling-sdp --scenario ceiling --mix sdp --start-rate 50000 --step-factor 1.2 \
            --max-rate 600000 --step "$step"
        scenario "$run" "$side" relay-candidate --scenario relay --mix candidate --rate 30000 --duration "$window"
        echo "== run $run, $side: hub_bench"
        # Rooms of 1,000 are left out: older revisions of hub_bench crash on them (their joins were refused).
        taskset -c 0 "${hub_bench[$side]}" --benchmark_min_time=0.2 --benchmark_filter=-/1000$ \
            --benchmark_out_format=json \
            --benchmark_out="$results/hub-$run-$side.json" >"$results/hub-$run-$side.txt" 2>&1
    done
done

echo
cat "$results/machine.txt"
"$loadgen" --report "$results" --base before | tee "$results/table.txt"
echo
echo "hub_bench, ns per operation (CPU time), each run: before | after"
names=$(python3 -c 'import json,sys; print("\n".join(b["name"] for b in json.load(open(sys.argv[1]))["benchmarks"]))' \
    "$results/hub-1-before.json")
while read -r name; do
    row="$name:"
    for side in before after; do
        for run in $(seq "$runs"); do
            ns=$(python3 -c 'import json,sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b["name"] == sys.argv[2]: print(round(b["cpu_time"]))' "$results/hub-$run-$side.json" "$name")
            row+=" $ns"
        done
        [[ $side == before ]] && row+=" |"
    done
    echo "$row"
done <<<"$names" | tee "$results/hub_bench.txt"
echo
echo "results: $results"
