#!/usr/bin/env bash
# The Go tests and the short fuzz runs. scripts/test.sh runs this inside a network namespace
# of its own that has only loopback, with a throwaway PostgreSQL started inside it
# (scripts/with-postgres.sh): the multi-process tests (duet servers, nats-server clusters,
# PostgreSQL) cannot reach or be reached from any other interface. Modules must already be in
# the module cache (scripts/test.sh vets and builds first): no package host is reachable here.
set -euo pipefail
cd "$(dirname "$0")/.."

# -p 1: one package at a time, so the media tests' timing windows are not squeezed by
# another package's race-instrumented build and tests on a 2-core machine.
echo "== go test -race"
go test -race -count=1 -p 1 -timeout 30m ./...

echo "== fuzz the protocol decoder (15 s)"
go test -run '^$' -fuzz '^FuzzDecodeEnvelope$' -fuzztime 15s -fuzzminimizetime 2s ./protocol

echo "== fuzz the SDK's handling of server frames (10,000 inputs)"
go test -run '^$' -fuzz '^FuzzServerFrame$' -fuzztime 10000x -fuzzminimizetime 2s .
