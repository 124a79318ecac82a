#!/usr/bin/env bash
# The soak: switchboard-server with its default flags under steady relay and
# churn (switchboard-loadgen) while hostile clients (switchboard-hostile:
# ping floods, bursts, slow readers, malformed frames and upgrades) run the
# whole time. Not part of CI: about 25 minutes. Loopback only; every part
# stops by itself.
#
#   bench/soak.sh [--minutes N] [--round S] [--hostile-threads N]
#
#   --minutes N  length of the hostile phase (default 25)
#   --hostile-threads N  threads per hostile kind (default 2)
#   --round S    length of one relay window (default 30); each round is a
#                relay window, then 5,000 churn cycles, then a sample
#
# What it prints, and what the soak is for:
#   - the quiet figure: relay latency before any hostile client;
#   - per round: server RSS, open fds, users and rooms the registry holds,
#     relay latency p50/p99 and drops, churn cycles and failures;
#   - at the end, after the hostile clients stop: RSS growth after warm-up
#     (round 2 to the last), fds and registry back at their quiet values, the
#     worst p99 under attack against the quiet one, and the server's counters.
# Environment: BUILD_DIR (default build/bench-release), RESULTS_DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/bench-release}
minutes=25
round=30
hostile_threads=2
while [[ $# -gt 0 ]]; do
    case $1 in
        --minutes) minutes=$2; shift 2 ;;
        --round) round=$2; shift 2 ;;
        --hostile-threads) hostile_threads=$2; shift 2 ;;
        *) echo "usage: $0 [--minutes N] [--round S] [--hostile-threads N]" >&2; exit 2 ;;
    esac
done
results=${RESULTS_DIR:-$build/soak-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$results"

source "$root/bench/common.sh"
release_build "$build" switchboard-server switchboard-loadgen switchboard-hostile

server_bin=$build/server/switchboard-server
loadgen=$build/tools/loadgen/switchboard-loadgen
hostile=$build/tools/hostile/switchboard-hostile

pid="" hostile_pid=""
cleanup() {
    for p in $hostile_pid $pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$server_bin" --port 0 --log-level warn >"$results/server.out" 2>"$results/server.err" &
pid=$!
url=$(listening_url "$results/server.out" "$pid") ||
    { echo "soak: the server did not start" >&2; cat "$results/server.err" >&2; exit 1; }
port=${url##*:}
port=${port%/}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
metrics() {  # the server's /metrics, over bash's /dev/tcp (loopback)
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    cat <&3
    exec 3<&-
}
gauge() { metrics | awk -v name="$1" '$1 == name {print $2}'; }
field() { grep -o "\"$2\": *[0-9.e+-]*" "$1" | head -n1 | sed 's/.*: *//'; }

relay() {  # relay FILE: one relay window, JSON into FILE
    "$loadgen" --url "$url" --server-pid "$pid" --scenario relay --rate 2000 --duration "$round" \
        --json "$1" >"${1%.json}.txt" 2>&1 || echo "   (relay exit status $?: see ${1%.json}.txt)"
}
churn() {  # churn FILE
    "$loadgen" --url "$url" --server-pid "$pid" --scenario churn --cycles 5000 --concurrency 64 \
        --json "$1" >"${1%.json}.txt" 2>&1 || echo "   (churn exit status $?: see ${1%.json}.txt)"
}

{
    echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$results/machine.txt"

echo "== quiet: relay 2,000 msg/s for ${round} s, no hostile client"
relay "$results/quiet.json"
quiet_p50=$(field "$results/quiet.json" latency_p50_us)
quiet_p99=$(field "$results/quiet.json" latency_p99_us)
quiet_fds=$(fds)
echo "quiet: p50 ${quiet_p50} us, p99 ${quiet_p99} us, RSS $(rss_kib) KiB, fds ${quiet_fds}"

echo "== hostile clients for ${minutes} min, with relay and churn rounds"
"$hostile" --port "$port" --duration $((minutes * 60)) --threads-per-kind "$hostile_threads" >"$results/hostile.txt" 2>&1 &
hostile_pid=$!
end=$((SECONDS + minutes * 60))
printf '%-5s %9s %5s %6s %6s %9s %9s %6s %7s %8s\n' round rss_kib fds users rooms p50_us p99_us drops churn failures |
    tee "$results/rounds.txt"
n=0 warm_rss="" worst_p99=0 last_rss=""
while ((SECONDS + round + 10 < end)); do
    n=$((n + 1))
    relay "$results/relay-$n.json"
    churn "$results/churn-$n.json"
    rss=$(rss_kib)
    p99=$(field "$results/relay-$n.json" latency_p99_us)
    printf '%-5s %9s %5s %6s %6s %9s %9s %6s %7s %8s\n' "$n" "$rss" "$(fds)" \
        "$(gauge switchboard_connections_open)" "$(gauge switchboard_rooms_open)" \
        "$(field "$results/relay-$n.json" latency_p50_us)" "$p99" "$(field "$results/relay-$n.json" drops)" \
        "$(field "$results/churn-$n.json" completed)" "$(field "$results/churn-$n.json" failures)" |
        tee -a "$results/rounds.txt"
    [[ $n == 2 ]] && warm_rss=$rss
    last_rss=$rss
    worst_p99=$(awk -v a="$worst_p99" -v b="$p99" 'BEGIN {print (b > a ? b : a)}')
done
echo "== waiting for the hostile clients to stop"
wait "$hostile_pid" || true
hostile_pid=""
sleep 15  # closing handshakes, keep-alive of what was left
after_fds=$(fds)

echo
echo "== hostile clients: what they saw"
cat "$results/hostile.txt"
echo
echo "== server counters"
metrics | grep -E '^switchboard_(errors|transport_closes)_total|^switchboard_connections_(total|refused)' |
    tee "$results/counters.txt"
echo
{
    echo "== soak summary (${minutes} min, ${n} rounds)"
    [[ -n $warm_rss ]] && awk -v a="$warm_rss" -v b="$last_rss" \
        'BEGIN {printf "RSS after warm-up: %d KiB (round 2) -> %d KiB (last), %+.1f%%\n", a, b, (b - a) * 100 / a}'
    echo "fds: ${quiet_fds} quiet, ${after_fds} after the hostile clients stopped"
    echo "registry after: $(gauge switchboard_connections_open) users, $(gauge switchboard_rooms_open) rooms"
    awk -v q="$quiet_p99" -v w="$worst_p99" -v p="$quiet_p50" \
        'BEGIN {printf "relay p99: quiet %.0f us, worst round under attack %.0f us (%.2fx); quiet p50 %.0f us\n", q, w, w / q, p}'
} | tee "$results/summary.txt"
echo "results: $results"
