#!/usr/bin/env bash
# tests/packaging/deb_test.sh BUILD_DIR SOURCE_DIR LIBDIR [CXX]
# The Debian packages end to end, on this machine: cpack -G DEB in BUILD_DIR,
# check the packages' metadata and contents, dpkg -i them, check the
# installed unit (systemd-analyze verify, when there is one), pkg-config
# file and docs, run the installed switchboard-server as an unprivileged
# user with the options of the installed /etc/default/switchboard (passed
# as systemd's EnvironmentFile= would), check that it serves HTTP and a
# WebSocket login on 127.0.0.1, then dpkg --purge the packages.
# Needs root for dpkg: exits 77 (skipped) without it, and when the packages
# are already installed (someone's own: not ours to remove). Every wait is bounded.
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
libdir=$3
cxx=${4:-c++}
here=$(cd "$(dirname "$0")" && pwd)
work=$build/tests/packaging/deb
prefix=/usr  # CPACK_PACKAGING_INSTALL_PREFIX

skip() { echo "deb_test: SKIP: $*"; exit 77; }
fail() { echo "deb_test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

[[ $(id -u) -eq 0 ]] || skip "needs root for dpkg -i"
for tool in cpack dpkg dpkg-deb dpkg-query curl timeout setpriv; do
  command -v "$tool" >/dev/null || fail "$tool is missing"
done
# cpack's CPACK_DEBIAN_PACKAGE_SHLIBDEPS needs both.
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps is missing: apt-get install dpkg-dev"
command -v file >/dev/null || fail "file is missing: apt-get install file"
for package in switchboard-server libswitchboard-dev libswitchboard0; do
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
    skip "$package is already installed on this machine; not touching it"
  fi
done

installed=()
server_pid=""
# dpkg "$@", but while an apt or dpkg run elsewhere on the machine holds
# dpkg's lock (dpkg does not wait for it), wait and retry: 2 minutes at most.
dpkg_waiting() {
  local out
  for _ in $(seq 60); do
    if out=$(timeout 300 dpkg "$@" 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    grep -qE 'frontend lock|database is locked' <<<"$out" || break
    sleep 2
  done
  printf '%s\n' "$out" >&2
  return 1
}

cleanup() {
  local rc=$?
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if ((${#installed[@]})); then
    echo "deb_test: purging ${installed[*]}" >&2
    dpkg_waiting --purge "${installed[@]}" >/dev/null || echo "deb_test: could not purge ${installed[*]}" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

# has LIST PATH...: each PATH is a line of LIST (dpkg-deb -c's names, or dpkg -L's).
has() {
  local list=$1
  shift
  for path in "$@"; do
    grep -qxF -- "$path" <<<"$list" || fail "missing $path"
  done
}

step "cpack -G DEB in $build"
rm -rf "$work"
mkdir -p "$work"
if ! (cd "$build" && timeout 900 cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1); then
  tail -n 40 "$work/cpack.log" >&2
  fail "cpack -G DEB failed (log: $work/cpack.log)"
fi
shopt -s nullglob
dev_debs=("$work"/libswitchboard-dev_*.deb)
server_debs=("$work"/switchboard-server_*.deb)
lib_debs=("$work"/libswitchboard[0-9]*_*.deb)
shopt -u nullglob
((${#dev_debs[@]} == 1)) || fail "expected one libswitchboard-dev .deb in $work, found ${#dev_debs[@]}"
((${#server_debs[@]} == 1)) || fail "expected one switchboard-server .deb in $work, found ${#server_debs[@]}"
dev=${dev_debs[0]}
server=${server_debs[0]}
debs=("${lib_debs[@]}" "$dev" "$server")
ls -l "${debs[@]}"

step "package metadata"
server_depends=$(dpkg-deb -f "$server" Depends)
echo "switchboard-server Depends: $server_depends"
# A shared build's server reaches OpenSSL and hiredis through libswitchboardN.
for lib_deb in "${lib_debs[@]}"; do
  lib_package=$(dpkg-deb -f "$lib_deb" Package)
  grep -q "$lib_package (= " <<<"$server_depends" || fail "switchboard-server does not depend on $lib_package"
  lib_depends=$(dpkg-deb -f "$lib_deb" Depends)
  echo "$lib_package Depends: $lib_depends"
  server_depends+=", $lib_depends"
done
for lib in libc6 libstdc++6 libssl3 libhiredis libfmt; do
  grep -q "$lib" <<<"$server_depends" || fail "switchboard-server does not depend on $lib (it links it)"
done
dev_depends=$(dpkg-deb -f "$dev" Depends)
echo "libswitchboard-dev Depends: $dev_depends"
for dep in nlohmann-json3-dev libfmt-dev; do
  grep -q "$dep" <<<"$dev_depends" || fail "libswitchboard-dev does not depend on $dep"
done
conffiles=$(dpkg-deb -I "$server" conffiles)
has "$conffiles" /etc/default/switchboard
for script in postinst prerm postrm; do
  dpkg-deb -I "$server" "$script" >/dev/null || fail "switchboard-server has no $script"
done

step "package contents"
names() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^$'; }
server_files=$(names "$server")
dev_files=$(names "$dev")
has "$server_files" $prefix/bin/switchboard-server $prefix/lib/systemd/system/switchboard.service \
  /etc/default/switchboard $prefix/share/switchboard/web/index.html $prefix/share/switchboard/web/switchboard.js \
  $prefix/share/doc/switchboard-server/copyright
has "$dev_files" $prefix/include/switchboard/switchboard.hpp $prefix/include/switchboard/version.hpp \
  $prefix/"$libdir"/pkgconfig/switchboard.pc $prefix/"$libdir"/cmake/Switchboard/SwitchboardConfig.cmake \
  $prefix/share/doc/switchboard/README.md $prefix/share/doc/switchboard/LICENSE \
  $prefix/share/doc/switchboard/docs/protocol.md $prefix/share/doc/switchboard/examples/transcript/main.cpp
grep -qE "^$prefix/$libdir/libswitchboard\.(a|so)$" <<<"$dev_files" || fail "no libswitchboard.a or .so in libswitchboard-dev"
# Nothing outside /usr and /etc, nothing of the build machine's.
if grep -vE '^/(usr|etc)(/|$)' <<<"$server_files"$'\n'"$dev_files"; then
  fail "files outside /usr and /etc (above)"
fi

step "dpkg -i ${debs[*]##*/}"
for deb in "${debs[@]}"; do
  installed+=("$(dpkg-deb -f "$deb" Package)")
done
dpkg_waiting -i "${debs[@]}" || fail "dpkg -i failed: a dependency is missing or wrong (above)"

step "installed unit"
unit=$prefix/lib/systemd/system/switchboard.service
for setting in "ExecStart=$prefix/bin/switchboard-server" "EnvironmentFile=-/etc/default/switchboard" \
  DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict CapabilityBoundingSet=; do
  grep -qxF "$setting" "$unit" || fail "$unit lacks $setting"
done
[[ -x $prefix/bin/switchboard-server ]] || fail "ExecStart's $prefix/bin/switchboard-server is not executable"
if command -v systemd-analyze >/dev/null; then
  # --man=no: the unit names no man page. Offline: no running systemd needed.
  # Unknown or misspelt settings are only warnings to it: any output fails too.
  verify=$(timeout 60 systemd-analyze verify --man=no "$unit" 2>&1) || fail "systemd-analyze verify $unit: $verify"
  [[ -z $verify ]] || fail "systemd-analyze verify $unit warns: $verify"
  echo "systemd-analyze verify: ok"
else
  echo "systemd-analyze is not installed (package systemd): not verifying $unit"
fi
dpkg-query -W -f='${Conffiles}\n' switchboard-server | grep -q '/etc/default/switchboard' ||
  fail "/etc/default/switchboard is not a conffile"

step "installed pkg-config file"
pc_prefix=$(env -u PKG_CONFIG_PATH pkg-config --variable=prefix switchboard)
[[ $pc_prefix == "$prefix" ]] || fail "switchboard.pc has prefix=$pc_prefix, expected $prefix"
pc_flags=$(env -u PKG_CONFIG_PATH pkg-config --cflags --libs switchboard)
echo "pkg-config --cflags --libs switchboard: $pc_flags"
# shellcheck disable=SC2086 # a list of flags
timeout 300 "$cxx" -std=c++17 "$source_dir/tests/cmake/consumer/main.cpp" $pc_flags -o "$work/pkg_config_consumer" ||
  fail "could not build a program with pkg-config --cflags --libs switchboard"
"$work/pkg_config_consumer" || fail "the program built with pkg-config failed"

step "the options in /etc/default/switchboard"
# What systemd's EnvironmentFile= takes: NAME=value lines; # and ; start comments.
file_env=()
while IFS= read -r line || [[ -n $line ]]; do
  line=${line#"${line%%[![:space:]]*}"}
  [[ -z $line || $line == '#'* || $line == ';'* ]] && continue
  [[ $line =~ ^[A-Z_][A-Z0-9_]*= ]] || fail "not a NAME=value line in /etc/default/switchboard: $line"
  file_env+=("$line")
done </etc/default/switchboard
echo "set: ${file_env[*]}"
# Every option the file names, set or commented out, is a real one (the
# server ignores an unknown SWITCHBOARD_ variable, so a typo would go unseen).
help=$(/usr/bin/switchboard-server --help)
while read -r name; do
  option=--$(tr 'A-Z_' 'a-z-' <<<"${name#SWITCHBOARD_}" | sed 's/=$//')
  grep -qE -- "(^|[ ,])$option([ =,]|$)" <<<"$help" || fail "/etc/default/switchboard names $name, but there is no $option"
done < <(grep -oE 'SWITCHBOARD_[A-Z0-9_]+=' /etc/default/switchboard | sort -u)

step "run the installed server as nobody, with those options"
# SWITCHBOARD_PORT=0 after the file's lines overrides its port (as a systemd
# drop-in's Environment= would): a free port, and proof the environment is read.
(cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${file_env[@]}" SWITCHBOARD_PORT=0 \
  setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
  /usr/bin/switchboard-server >"$work/server.out" 2>"$work/server.err") &
server_pid=$!
url=""
for _ in $(seq 100); do
  url=$(grep -oE 'listening on ws://[^ ]+' "$work/server.out" | head -n 1 || true)
  [[ -n $url ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $url ]] || { cat "$work/server.err" >&2; fail "the server did not print 'listening on' within 10 s"; }
echo "$url"
[[ $url =~ ^listening\ on\ ws://127\.0\.0\.1:([0-9]+)/$ ]] || fail "expected ws://127.0.0.1:PORT/, got: $url"
port=${BASH_REMATCH[1]}
[[ $port != 8080 ]] || fail "the server ignored SWITCHBOARD_PORT=0 from its environment"
server_user=$(ps -o user= -p "$server_pid" | tr -d ' ')
[[ $server_user == nobody ]] || fail "the server runs as $server_user, not nobody"

step "HTTP and WebSocket on 127.0.0.1:$port"
health=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/healthz") || fail "GET /healthz"
[[ $health == ok ]] || fail "GET /healthz answered '$health'"
curl -fsS --max-time 5 "http://127.0.0.1:$port/" -o "$work/index.html" || fail "GET / (the chat page)"
cmp -s "$work/index.html" $prefix/share/switchboard/web/index.html || fail "GET / is not the installed chat page"
curl -fsS --max-time 5 "http://127.0.0.1:$port/switchboard.js" -o /dev/null || fail "GET /switchboard.js"
metrics=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics") || fail "GET /metrics"
grep -q '^switchboard_' <<<"$metrics" || fail "GET /metrics has no switchboard_ metric"
echo "GET /healthz, /, /switchboard.js, /metrics: ok"
if command -v python3 >/dev/null; then
  timeout 20 python3 "$here/ws_login.py" "$port" /room/packaging || fail "no WebSocket login"
else
  echo "python3 is not installed: not checking a WebSocket login"
fi

step "SIGTERM"
kill -TERM "$server_pid"
for _ in $(seq 100); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null && fail "the server still runs 10 s after SIGTERM"
status=0
wait "$server_pid" || status=$?
server_pid=""
((status == 0)) || { cat "$work/server.err" >&2; fail "the server exited with $status after SIGTERM"; }

step "dpkg --purge ${installed[*]}"
timeout 300 dpkg --purge "${installed[@]}" || fail "dpkg --purge failed"
purged=("${installed[@]}")
installed=()
for package in "${purged[@]}"; do
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
    fail "$package is still installed"
  fi
done
for path in $prefix/bin/switchboard-server "$unit" /etc/default/switchboard $prefix/"$libdir"/pkgconfig/switchboard.pc \
  $prefix/include/switchboard $prefix/share/doc/switchboard; do
  [[ ! -e $path ]] || fail "$path is still there after dpkg --purge"
done
echo "deb_test: ok"
