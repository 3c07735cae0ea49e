#!/usr/bin/env bash
# LiveKit beside duet in the same run: server CPU per 1-on-1 call with the same media.
#
# For each call count (ROOMS, default "8 16 32") and media profile (PROFILES, default both
# of BenchmarkRecordedCallCPU's), it runs livekit-server with that many rooms of two
# participants — each publishing Opus and VP8 from testdata/media and subscribed to the
# other (bench/livekit, LiveKit's Go SDK) — and reads livekit-server's CPU over a steady
# window; then duet's BenchmarkRecordedCallCPU with as many recorded calls and the same files.
# LiveKit forwards only; duet forwards and records. A table at the end gives both per call.
#
# livekit-server v1.11.0 is built from the Go module proxy (the newest release whose module
# builds here: v1.12 and later replace pion with LiveKit forks the proxy does not serve), the
# load generator with server-sdk-go v2.18.0 (the newest on upstream pion). Everything runs in
# a fresh network namespace: loopback and a veth address (10.77.0.1), since LiveKit's SDK
# gathers no loopback candidates; no traffic leaves the namespace.
#
#   bash scripts/bench-livekit.sh
#   ROOMS=8 PROFILES=320x240-300kbps MEASURE=10s bash scripts/bench-livekit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOMS="${ROOMS:-8 16 32}"
PROFILES="${PROFILES:-320x240-300kbps 640x480-1Mbps}"
MEASURE="${MEASURE:-20s}"
CACHE="${DUET_BENCH_CACHE:-/tmp/duet-bench-livekit}"
IP=10.77.0.1

if [ -z "${DUET_BENCH_NETNS:-}" ]; then
  mkdir -p "$CACHE"
  if [ ! -x "$CACHE/livekit-server" ]; then
    echo "== building livekit-server v1.11.0 (once, into $CACHE)"
    GOBIN="$CACHE" go install github.com/livekit/livekit-server/cmd/server@v1.11.0
    mv "$CACHE/server" "$CACHE/livekit-server"
  fi
  echo "== building the LiveKit load generator and duet's benchmark"
  (cd bench/livekit && go build -o "$CACHE/livekit-load" .)
  go test -c -o "$CACHE/duet.test" .
  ns=(unshare --net)
  [ "$(id -u)" = 0 ] || ns=(unshare --user --map-root-user --net)
  exec env DUET_BENCH_NETNS=1 "${ns[@]}" bash "$0" "$@"
fi

ip link set lo up
ip link add lk0 type veth peer name lk1
ip addr add "$IP/24" dev lk0
ip link set lk0 up
ip link set lk1 up

SECRET="duet-bench-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > "$CACHE/livekit.yaml" <<EOF
port: 7880
bind_addresses: ["$IP"]
rtc:
  udp_port: 7882
  tcp_port: 7881
  node_ip: $IP
  use_external_ip: false
keys:
  duetbench: $SECRET
logging:
  level: warn
EOF

ivf_of() { case "$1" in 320x240*) echo testdata/media/pattern-320x240.ivf ;; 640x480*) echo testdata/media/pattern-640x480.ivf ;; esac; }
secs="${MEASURE%s}"
results=()
for profile in $PROFILES; do
  for n in $ROOMS; do
    echo "== LiveKit: $n rooms, $profile"
    "$CACHE/livekit-server" --config "$CACHE/livekit.yaml" > "$CACHE/livekit-server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/$IP/7880") 2>/dev/null && break; sleep 0.1; done
    lk=$("$CACHE/livekit-load" -url "ws://$IP:7880" -key duetbench -secret "$SECRET" -rooms "$n" -pid "$pid" \
      -ivf "$(ivf_of "$profile")" -ogg testdata/media/tone-440.ogg -measure "$MEASURE" 2> "$CACHE/livekit-load.log") || {
      echo "LiveKit run failed:"; tail -20 "$CACHE/livekit-load.log"; kill "$pid"; exit 1; }
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "   $lk"
    lkroom=$(echo "$lk" | sed -n 's/.*"perRoomCpuPercent":\([0-9.]*\).*/\1/p')
    lkkbps=$(echo "$lk" | sed -n 's/.*"videoKbpsPerReceiver":\([0-9.]*\).*/\1/p')

    echo "== duet: $n recorded calls, $profile"
    out=$(DUET_REC_CALLS="$n" DUET_REC_SECONDS="$secs" "$CACHE/duet.test" -test.run '^$' \
      -test.bench "RecordedCallCPU/$profile\$" -test.benchtime 1x 2>&1) || { echo "$out" | tail -20; exit 1; }
    line=$(echo "$out" | grep -E '^BenchmarkRecordedCallCPU' | head -1)
    echo "   $line"
    duetcall=$(echo "$line" | sed -n 's/.* \([0-9.]*\) cpu-%-per-call.*/\1/p')
    duetkbps=$(echo "$line" | sed -n 's/.* \([0-9.]*\) recv-kbps-per-party.*/\1/p')
    results+=("$(printf '%-6s %-16s %8.2f %%  %8.2f %%  %6.2f   %5.0f / %5.0f kbit/s   load %s' "$n" "$profile" \
      "$lkroom" "$duetcall" "$(awk -v a="$duetcall" -v b="$lkroom" 'BEGIN { print a / b }')" "$lkkbps" "$duetkbps" "$(cut -d' ' -f1 /proc/loadavg)")")
  done
done

echo
echo "calls  profile          LiveKit/room  duet/call  ratio   video received (LiveKit / duet)"
printf '%s\n' "${results[@]}"
echo "(% of one core; LiveKit forwards only, duet forwards and records every party)"
