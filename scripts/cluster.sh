#!/usr/bin/env bash
# Starts a local duet cluster to try: a throwaway PostgreSQL server, three NATS servers
# (JetStream on, routed to each other) and three duet nodes, all on 127.0.0.1, each its own
# process; Ctrl-C stops everything and removes its folders.
#
#   bash scripts/cluster.sh            # nodes on :8081, :8082, :8083
#   DUET_CLUSTER_BASE=9000 bash scripts/cluster.sh
#
# Then point clients at any node, e.g.
#   go run ./cmd/duet call --server http://127.0.0.1:8082 --register --user bob --password pw --answer --loopback
#   go run ./cmd/duet call --server http://127.0.0.1:8083 --register --user alice --password pw --to bob --loopback
# and watch http://127.0.0.1:808N/healthz for each node's partitions. Kill a node
# (kill -9 on its pid, printed below) and its partitions move to the others within a second.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/with-postgres.sh

base=${DUET_CLUSTER_BASE:-8081}
dir=$(mktemp -d /tmp/duet-cluster.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_test_postgres || true
  rm -rf "$dir"
  exit "$rc"
}

echo "== building duet and nats-server (the module's pinned version)"
go build -o "$dir/duet" ./cmd/duet
go build -o "$dir/nats-server" github.com/nats-io/nats-server/v2

start_test_postgres # sets DUET_TEST_POSTGRES and its own EXIT trap, replaced below
trap cleanup EXIT INT TERM

nats_urls=()
for i in 1 2 3; do
  nats_urls+=("nats://127.0.0.1:$((base + 4220 + i))")
done
for i in 1 2 3; do
  routes=()
  for j in 1 2 3; do
    [ "$i" = "$j" ] || routes+=("nats-route://127.0.0.1:$((base + 6220 + j))")
  done
  mkdir -p "$dir/nats$i"
  "$dir/nats-server" -a 127.0.0.1 -p $((base + 4220 + i)) -n "nats$i" -js -sd "$dir/nats$i" \
    --cluster_name duet --cluster "nats://127.0.0.1:$((base + 6220 + i))" \
    --routes "$(IFS=,; echo "${routes[*]}")" -l "$dir/nats$i/log" &
  pids+=($!)
  echo "== nats$i on ${nats_urls[$((i - 1))]} (pid $!)"
done
sleep 1

cluster=$(IFS=,; echo "${nats_urls[*]}")
# One key for every node: it seals the webhook secrets and push credentials in the database.
secret_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
for i in 1 2 3; do
  port=$((base + i - 1))
  "$dir/duet" server --addr "127.0.0.1:$port" --data "$dir/n$i" --store "$DUET_TEST_POSTGRES" \
    --cluster "$cluster" --node-id "n$i" --secret-key "$secret_key" --turn-addr "" --relay-ports any --media-loopback \
    >"$dir/n$i.log" 2>&1 &
  pids+=($!)
  echo "== node n$i on http://127.0.0.1:$port (pid $!, log $dir/n$i.log)"
  sleep 0.5
done
echo "== admin token: $(psql -At "$DUET_TEST_POSTGRES" -c "SELECT value FROM settings WHERE name = 'admin-token'" 2>/dev/null || echo '(see the settings table)')"
echo "== Ctrl-C stops the cluster"
wait
