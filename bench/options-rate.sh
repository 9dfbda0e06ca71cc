#!/usr/bin/env bash
# Finds the highest OPTIONS rate Switchboard answers over UDP on loopback with under
# 0.1% failed calls: SIPp sends OPTIONS at increasing rates, 5 s per step, and the
# last rate that passed is printed. Bounded: at most 10 steps of at most ~25 s.
#
#   bench/options-rate.sh [START_RATE] [MAX_RATE]
#
# Needs sipp (Debian: sip-tester). Builds the release binary. Prints one line per
# step and a final "best:" line; exit 1 if even the first step failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

start=${1:-2000}
max=${2:-128000}
seconds=5
command -v sipp >/dev/null || { echo "sipp not installed (apt-get install sip-tester)" >&2; exit 2; }

cargo build --release -q -p switchboard
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:%s\n' "$port" > "$work/pjsip.conf"
target/release/switchboard serve --config-dir "$work" --data-dir "$work/data" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 50); do
    grep -q "listening on" "$work/server.log" 2>/dev/null && break
    sleep 0.1
done

best=0
rate=$start
steps=0
while (( rate <= max && steps < 10 )); do
    steps=$((steps + 1))
    calls=$((rate * seconds))
    rm -f "$work"/*.csv
    sipp -sf crates/switchboard/tests/sipp/options.xml -t u1 -i 127.0.0.1 \
        -r "$rate" -m "$calls" -l $((rate * 2)) -timeout $((seconds * 5))s -nostdin \
        -trace_stat -stf "$work/stat.csv" -fd 1 \
        "127.0.0.1:$port" >/dev/null 2>&1 || true
    line=$(tail -n 1 "$work/stat.csv" 2>/dev/null || true)
    header=$(head -n 1 "$work/stat.csv" 2>/dev/null || true)
    ok=$(python3 - "$header" "$line" <<'PY'
import sys
h = sys.argv[1].split(';'); v = sys.argv[2].split(';')
row = dict(zip(h, v))
s = int(row.get('SuccessfulCall(C)', 0) or 0); f = int(row.get('FailedCall(C)', 0) or 0)
print(s, f)
PY
)
    read -r succeeded failed <<<"$ok"
    total=$((succeeded + failed))
    if (( total > 0 )) && (( failed * 1000 < total )) && (( succeeded >= calls * 999 / 1000 )); then
        echo "rate $rate/s: $succeeded ok, $failed failed: pass"
        best=$rate
        rate=$((rate * 2))
    else
        echo "rate $rate/s: $succeeded ok, $failed failed (of $calls): fail"
        break
    fi
done
echo "best: $best OPTIONS/s with under 0.1% failures (UDP, loopback, $(nproc) cores)"
(( best > 0 ))
