#!/usr/bin/env bash
# The run command: install what is missing, build, and start switchboard-server
# with the chat page on http://127.0.0.1:8080/ . Extra arguments go to the server
# (see: scripts/run.sh --help).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Let clones in other folders share the cache.
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
cmake --preset release "${launcher[@]}" >/dev/null
cmake --build --preset release -j "$(nproc)" --target switchboard-server
exec build/release/server/switchboard-server --allow-client-names "$@"
