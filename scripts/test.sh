#!/usr/bin/env bash
# Runs every test of duet on a fresh machine: installs what the tests need (Debian
# packages), starts a throwaway PostgreSQL server for the store tests, then checks
# formatting, vet, the pure-Go build, the race-enabled tests and a short fuzz run. Test
# traffic stays on loopback (ICE is restricted by an SDK option; PostgreSQL listens on
# 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."

install_debs() {
  local missing=()
  command -v ffprobe >/dev/null || missing+=(ffmpeg)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  ((${#missing[@]})) || return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "== installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
install_debs

# PostgreSQL for store/postgres and everything that tests against it: DUET_TEST_POSTGRES is
# exported for every later step, the suites in scripts/test.d included; the server stops and
# its folder goes when this script exits (scripts/with-postgres.sh).
source scripts/with-postgres.sh
start_test_postgres

# nats-server for the cluster tests, built once from the module's pinned version (the go.mod
# tool) rather than by every test package; internal/natstest runs it from DUET_NATS_SERVER.
echo "== nats-server (pinned module, for the cluster tests)"
nats_dir=$(mktemp -d /tmp/duet-nats.XXXXXX)
trap 'rc=$?; stop_test_postgres; rm -rf "$nats_dir"; exit $rc' EXIT
go build -o "$nats_dir/nats-server" github.com/nats-io/nats-server/v2
export DUET_NATS_SERVER="$nats_dir/nats-server"

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== golangci-lint (pinned, .golangci.yml, the whole tree)"
bash scripts/lint.sh

echo "== go build (CGO_ENABLED=0)"
CGO_ENABLED=0 go build ./...

# -p 1: one package at a time, so the media tests' timing windows are not squeezed by
# another package's race-instrumented build and tests on a 2-core machine.
echo "== go test -race"
go test -race -count=1 -p 1 -timeout 30m ./...

echo "== fuzz the protocol decoder (15 s)"
go test -run '^$' -fuzz '^FuzzDecodeEnvelope$' -fuzztime 15s -fuzzminimizetime 2s ./protocol

echo "== fuzz the SDK's handling of server frames (10,000 inputs)"
go test -run '^$' -fuzz '^FuzzServerFrame$' -fuzztime 10000x -fuzzminimizetime 2s .

# Suites with their own set-up (a browser, cgo codecs, ...) live in scripts/test.d, one
# script each, run in name order; each installs what it needs and fails on any error.
for suite in scripts/test.d/*.sh; do
  [ -e "$suite" ] || continue
  echo "== $(basename "$suite")"
  bash "$suite"
done

echo "== all checks passed"
