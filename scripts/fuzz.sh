#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, the `fuzz` preset: clang with
# ASan+UBSan), re-checks every input checked in under tests/fuzz/corpus/,
# then fuzzes each target for SECONDS (default 60) from a copy of its corpus.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   scripts/fuzz.sh 3600 message_view_fuzz     # one target for an hour
# Exits non-zero if any target fails; the failing input's path is printed.
# Targets run two at a time (FUZZ_PARALLEL to change); the repository is
# never written to, except build/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

all_targets=(message_view_fuzz frame_reader_fuzz http_request_fuzz hub_ops_fuzz cluster_text_fuzz tokens_fuzz client_name_fuzz)
seconds=60
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  if [[ ! " ${all_targets[*]} " =~ " $t " ]]; then
    echo "fuzz: unknown target '$t' (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done
parallel=${FUZZ_PARALLEL:-2}

bash scripts/setup.sh

launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake --preset fuzz "${launcher[@]}" >/dev/null
cmake --build --preset fuzz -j 2 --target "${targets[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-fuzz.XXXXXX")
export UBSAN_OPTIONS=print_stacktrace=1
failed=()

# The lines of a libFuzzer log that say what failed (or its tail), to stderr.
excerpt() {
  local log=$1 lines=$2
  if grep -q "check failed" "$log"; then
    grep -A1 "check failed" "$log" | head -"$lines" >&2
  elif grep -q "ERROR: " "$log"; then
    grep -A"$lines" "ERROR: " "$log" | head -"$lines" >&2
  else
    tail -"$lines" "$log" >&2
  fi
}

# 1. Every checked-in input, one process each so that every failing file is named.
regressed=()
for t in "${targets[@]}"; do
  bin=$root/build/fuzz/tests/fuzz/$t
  bad=0
  for f in "$root"/tests/fuzz/corpus/"$t"/*; do
    [[ -f $f ]] || continue
    if ! (cd "$work" && "$bin" "$f" >"$work/regression.log" 2>&1); then
      echo "fuzz: $t FAILS on checked-in input ${f#"$root"/}:" >&2
      excerpt "$work/regression.log" 8
      bad=1
    fi
  done
  if [[ $bad -eq 1 ]]; then
    regressed+=("$t")
    failed+=("$t")
  else
    echo "== $t: checked-in inputs pass"
  fi
done

# 2. Fuzz each target (except those already failing) from a copy of its corpus.
run_one() {
  local t=$1
  mkdir -p "$work/corpus/$t" "$work/artifacts"
  cp "$root"/tests/fuzz/corpus/"$t"/* "$work/corpus/$t/" 2>/dev/null || true
  (cd "$work" && "$root/build/fuzz/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" "$work/corpus/$t" >"$work/$t.log" 2>&1)
}

to_fuzz=()
for t in "${targets[@]}"; do
  if [[ " ${regressed[*]-} " =~ " $t " ]]; then
    echo "== $t: not fuzzed, its checked-in inputs fail" >&2
  else
    to_fuzz+=("$t")
  fi
done

i=0
while [[ $i -lt ${#to_fuzz[@]} ]]; do
  batch=("${to_fuzz[@]:i:parallel}")
  echo "== fuzzing ${batch[*]} for $seconds s"
  pids=()
  for t in "${batch[@]}"; do
    run_one "$t" &
    pids+=($!)
  done
  for k in "${!batch[@]}"; do
    t=${batch[$k]}
    if wait "${pids[$k]}"; then
      runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$work/$t.log" | grep -o "[0-9]*$" || echo "?")
      echo "== $t: no failure in $seconds s ($runs runs)"
    else
      failed+=("$t")
      echo "" >&2
      echo "fuzz: $t FAILED:" >&2
      excerpt "$work/$t.log" 40
      input=$(grep -o "Test unit written to .*" "$work/$t.log" | tail -1 | sed 's/Test unit written to //')
      if [[ -n $input ]]; then
        echo "fuzz: the failing input is saved at $input" >&2
        echo "fuzz: add it as a regression case: cp '$input' tests/fuzz/corpus/$t/<what-it-tests>" >&2
        echo "fuzz: and reproduce with: build/fuzz/tests/fuzz/$t '$input'" >&2
      fi
      echo "fuzz: full log: $work/$t.log" >&2
    fi
  done
  i=$((i + parallel))
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]} (logs and inputs kept in $work)" >&2
  exit 1
fi
rm -rf "$work"
echo "== fuzz: all targets pass"
