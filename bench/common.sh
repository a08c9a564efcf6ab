# Shared by the benchmark scripts (sourced, not run): build, a scratch
# directory, opentracker's whitelist, and waiting for a tracker to answer.
# REQUIRES: the caller's working directory is the repository root.

# Installs what is missing and builds everything (Release) into build/.
bench_build() {
  bash .ci/install-deps
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$(nproc)" >/dev/null
}

# Creates $work (readable by opentracker after it drops to nobody) and
# removes it, and stops every background job, when the script exits.
bench_workdir() {
  work="$(mktemp -d /tmp/ringtrack_bench.XXXXXX)"
  chmod 755 "$work"
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
}

# Writes $work/ot/whitelist with the info hashes of N load torrents.
# Debian's opentracker serves whitelisted torrents only; as root it chroots
# into -d $work/ot and drops to nobody, so the list lives inside the chroot
# (pass -w /whitelist).
bench_opentracker_whitelist() {
  mkdir -p "$work/ot"
  build/bin/ringtrack-load --torrents "$1" --write_info_hashes "$work/ot/whitelist"
  chmod 755 "$work/ot"
  chmod 644 "$work/ot/whitelist"
}

# Waits (up to ~10 s) until a tracker answers a connect at 127.0.0.1:PORT
# (until it binds, the connect is refused at once).
bench_wait_tracker() {
  for _ in $(seq 50); do
    build/bin/ringtrack-cli connect "127.0.0.1:$1" --timeout 0.2s \
      >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
