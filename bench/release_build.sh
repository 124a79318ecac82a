# Sourced by the bench scripts: release_build BUILD_DIR TARGET... configures a
# Release build with the benchmarks on (ccache and Ninja when present) and
# builds the targets.
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
