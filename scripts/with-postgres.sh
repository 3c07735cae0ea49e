#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: `scripts/with-postgres.sh CMD ARGS...` starts one,
# runs CMD with DUET_TEST_POSTGRES set to a URL that may CREATE DATABASE, then stops it and
# removes its folder. scripts/test.sh sources this file and calls start_test_postgres, so
# that every later step of the test run (go test, the suites in scripts/test.d) sees it.
#
# Needs Debian's postgresql package (the binaries in /usr/lib/postgresql/VERSION/bin; the
# newest version there is used). initdb refuses to run as root, so as root the cluster runs
# as the unprivileged `postgres` user that the package creates; otherwise as the current user.
# The server listens on 127.0.0.1 only, on a free port, with its socket in its own folder:
# nothing of it outlives the run, and it never touches a system cluster.

# postgres_bin prints the newest installed PostgreSQL's bin folder, or fails.
postgres_bin() {
  local bins
  bins=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1) || true
  [ -n "$bins" ] || { echo "no PostgreSQL server: apt-get install postgresql" >&2; return 1; }
  dirname "$bins"
}

# start_test_postgres starts the server, exports DUET_TEST_POSTGRES and arranges (trap on
# EXIT, which it takes over) for the server to stop and its folder to go.
start_test_postgres() {
  local bin dir port run=() tries
  bin=$(postgres_bin) || return 1
  dir=$(mktemp -d /tmp/duet-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "no 'postgres' user to run PostgreSQL as" >&2; return 1; }
    chown postgres: "$dir"
    run=(runuser -u postgres --)
  fi
  # The server's processes and files belong to run's user; root (or we) can still remove them.
  _duet_pg_dir=$dir _duet_pg_bin=$bin
  _duet_pg_run=("${run[@]}")
  trap stop_test_postgres EXIT
  # The postgres user may not be able to enter the current folder: work from the cluster's.
  (cd "$dir" && "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U duet --no-sync -E UTF8 >"$dir/initdb.log" 2>&1) || {
    cat "$dir/initdb.log" >&2
    return 1
  }
  # A random high port; a start that fails (port taken meanwhile) tries another.
  for tries in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    if (cd "$dir" && "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null); then
      break
    fi
    port=""
  done
  if [ -z "$port" ]; then
    echo "PostgreSQL did not start:" >&2
    cat "$dir/log" >&2
    return 1
  fi
  _duet_pg_started=1
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U duet duet
  export DUET_TEST_POSTGRES="postgres://duet@127.0.0.1:$port/duet?sslmode=disable"
  echo "== $("$bin/postgres" --version) on 127.0.0.1:$port (DUET_TEST_POSTGRES)"
}

# stop_test_postgres stops the server and removes its folder; it runs on EXIT.
stop_test_postgres() {
  local rc=$?
  if [ -n "${_duet_pg_started:-}" ]; then
    (cd "$_duet_pg_dir" && "${_duet_pg_run[@]}" "$_duet_pg_bin/pg_ctl" -D "$_duet_pg_dir/data" -m fast -w stop >/dev/null) || true
    _duet_pg_started=""
  fi
  [ -z "${_duet_pg_dir:-}" ] || rm -rf "$_duet_pg_dir"
  _duet_pg_dir=""
  return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
  start_test_postgres
  "$@"
fi
