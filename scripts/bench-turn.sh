#!/usr/bin/env bash
# TURN relay throughput: duet's embedded TURN server beside coturn (Debian), relaying the same
# load in the same run, on loopback only. For each allocation count it finds, for each server,
# the highest rate of 160-byte packets (peer -> relay -> client) with less than 0.1 % loss,
# and the server's CPU there; then both servers' CPU at fixed rates (CPU_AT, CPU_ALLOCS). Bounded: each rate runs DURATION, coturn runs under `timeout`,
# and both servers are stopped on exit.
#
#   bash scripts/bench-turn.sh                 # 10, 50 and 100 allocations
#   ALLOCS="10" DURATION=3s bash scripts/bench-turn.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ALLOCS=${ALLOCS:-"10 50 100"}
DURATION=${DURATION:-3s}
START_PPS=${START_PPS:-20000}
SECRET=bench-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
DUET_PORT=${DUET_PORT:-3479}
COTURN_PORT=${COTURN_PORT:-3480}

if ! command -v turnserver >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq coturn >/dev/null
fi

work=$(mktemp -d)
go build -o "$work/duet" ./cmd/duet

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Other work on the machine (builds, browsers) steals the two cores in bursts, and a
# descheduled server drops packets: run both servers and the load above it, alike.
run=()
if [ "$(id -u)" = 0 ]; then run=(nice -n "${NICE:--15}"); fi

# duet: TURN only matters here; relays on 127.0.0.1 may reach loopback peers (the load's).
"${run[@]}" "$work/duet" server --data "$work/data" --addr 127.0.0.1:0 --log-level warn \
  --turn-addr 127.0.0.1:$DUET_PORT --turn-secret "$SECRET" --turn-allow-peers 127.0.0.0/8 \
  --turn-relay-ports 40000-44999 >"$work/duet.log" 2>&1 &
duet_pid=$!; pids+=("$duet_pid")

# coturn 4.6 as Debian ships it: UDP on loopback, REST API secret, no TLS/DTLS, no CLI.
"${run[@]}" timeout 1800 turnserver --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port $COTURN_PORT \
  --min-port 45000 --max-port 49999 --use-auth-secret --static-auth-secret "$SECRET" --realm duet \
  --no-cli --no-tls --no-dtls --allow-loopback-peers --no-stdout-log --log-file "$work/coturn.log" \
  --simple-log --pidfile "$work/coturn.pid" >/dev/null 2>&1 &
pids+=("$!")
sleep 1
coturn_pid=$(cat "$work/coturn.pid") # the server's own pid, below nice and timeout

for n in $ALLOCS; do
  for server in duet coturn; do
    if [ $server = duet ]; then port=$DUET_PORT; pid=$duet_pid; else port=$COTURN_PORT; pid=$coturn_pid; fi
    echo "== $server, $n allocations"
    "${run[@]}" "$work/duet" bench turn --server-addr 127.0.0.1:$port --secret "$SECRET" --allocations "$n" \
      --pps "$START_PPS" --duration "$DURATION" --search --server-pid "$pid" | tee "$work/$server-$n.txt"
  done
done

# CPU per packet at fixed rates that both servers carry: less sensitive to scheduling noise
# than the loss ceiling. Alternated, twice.
CPU_ALLOCS=${CPU_ALLOCS:-50}
for pps in ${CPU_AT:-10000 50000}; do
  for rep in 1 2; do
    for server in duet coturn; do
      if [ $server = duet ]; then port=$DUET_PORT; pid=$duet_pid; else port=$COTURN_PORT; pid=$coturn_pid; fi
      printf '%-6s ' "$server"
      "${run[@]}" "$work/duet" bench turn --server-addr 127.0.0.1:$port --secret "$SECRET" \
        --allocations "$CPU_ALLOCS" --pps "$pps" --duration "$DURATION" --server-pid "$pid"
    done
  done
done

echo "== summary (highest rate with loss < 0.1 %)"
for n in $ALLOCS; do
  for server in duet coturn; do
    printf '%-6s %4d allocations: %s\n' "$server" "$n" "$(grep '^max:' "$work/$server-$n.txt" || echo none)"
  done
done
