# Sourced by the bench scripts.

# parse_runs_and_quick USAGE ARGS...: sets runs (default 3) and quick (0/1)
# from --runs N and --quick; anything else prints USAGE and exits 2.
parse_runs_and_quick() {
    local usage=$1
    shift
    runs=3
    quick=0
    while [[ $# -gt 0 ]]; do
        case $1 in
            --runs) runs=$2; shift 2 ;;
            --quick) quick=1; shift ;;
            *) echo "usage: $usage" >&2; exit 2 ;;
        esac
    done
}

# release_build BUILD_DIR TARGET...: configures a Release build with the
# benchmarks on (ccache and Ninja when present) and builds the targets.
release_build() {
    local build=$1 root
    shift
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    local launcher=() generator=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    command -v ninja >/dev/null && generator=(-G Ninja)
    cmake -S "$root" -B "$build" "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DSWITCHBOARD_BUILD_BENCHMARKS=ON -DSWITCHBOARD_BUILD_TESTS=OFF -DSWITCHBOARD_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build "$build" -j"$(nproc)" --target "$@"
}

# listening_url OUT_FILE PID: the ws:// URL a server printed to OUT_FILE
# ("listening on ws://HOST:PORT/"), waiting up to 10 s; fails when none came
# or the process PID ended first.
listening_url() {
    local out=$1 pid=$2 url
    for _ in $(seq 100); do
        url=$(sed -n 's/^listening on \(ws:\/\/[^ ]*\).*/\1/p' "$out" | head -n1)
        [[ -n $url ]] && { echo "$url"; return 0; }
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
