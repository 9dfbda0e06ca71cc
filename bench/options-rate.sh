#!/usr/bin/env bash
# Finds the highest OPTIONS rate Switchboard answers over UDP on loopback with under
# 0.1% failed calls: SIPp sends OPTIONS at doubling rates, 5 s per step, then bisects
# three times between the last pass and the first failure, and prints the best rate.
# Bounded: at most 10 steps of at most ~25 s.
#
#   bench/options-rate.sh [--kamailio] [START_RATE] [MAX_RATE]
#
# With --kamailio the same steps run against Kamailio (Debian package kamailio) on
# the same machine, configured to answer OPTIONS the way Switchboard does: through a
# transaction (tm's t_reply, with an Allow header as the scenario checks), with as
# many worker processes as there are cores.
#
# Needs sipp (Debian: sip-tester). Builds the release binary, or runs the one named
# by SWITCHBOARD_BIN (to compare two builds back to back). Prints one line per step
# and a final "best:" line; exit 1 if even the first step failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

peer=switchboard
if [[ ${1:-} == --kamailio ]]; then
    peer=kamailio
    shift
fi
start=${1:-2000}
max=${2:-128000}
seconds=5
command -v sipp >/dev/null || { echo "sipp not installed (apt-get install sip-tester)" >&2; exit 2; }

work=$(mktemp -d)
server=
trap 'if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [[ $peer == kamailio ]]; then
    command -v kamailio >/dev/null || { echo "kamailio not installed (apt-get install kamailio)" >&2; exit 2; }
    cat > "$work/kamailio.cfg" <<KAM
#!KAMAILIO
listen=udp:127.0.0.1:$port
children=$(nproc)
log_stderror=yes
debug=0
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (is_method("OPTIONS")) {
        if (!t_newtran()) { sl_reply_error(); exit; }
        append_to_reply("Allow: OPTIONS, ACK, CANCEL\\r\\n");
        t_reply("200", "OK");
        exit;
    }
    sl_send_reply("405", "Method Not Allowed");
}
KAM
    mkdir -p "$work/run"
    # 2 GB of shared memory: at these rates tm holds tens of thousands of
    # transactions (each lives 5 s after its reply) and the default 64 MB runs out.
    kamailio -m 2048 -f "$work/kamailio.cfg" -DD -E -Y "$work/run" -P "$work/kamailio.pid" 2>"$work/server.log" &
    server=$!
    sleep 1
else
    bin=${SWITCHBOARD_BIN:-}
    if [[ -z $bin ]]; then
        cargo build --release -q -p switchboard
        bin=target/release/switchboard
    fi
    # The anonymous endpoint answers strangers' OPTIONS without a challenge, as the
    # Kamailio configuration does (no identification, no auth).
    printf '[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:%s\n\n[anonymous]\ntype=endpoint\n' "$port" > "$work/pjsip.conf"
    "$bin" serve --config-dir "$work" --data-dir "$work/data" 2>"$work/server.log" &
    server=$!
    for _ in $(seq 1 50); do
        grep -q "listening on" "$work/server.log" 2>/dev/null && break
        sleep 0.1
    done
fi

# One step at `rate`: prints the line and returns 0 when under 0.1% failed.
step() {
    local rate=$1 calls=$(($1 * seconds)) line header ok succeeded failed total
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
        return 0
    fi
    echo "rate $rate/s: $succeeded ok, $failed failed (of $calls): fail"
    return 1
}

# Doubling until a step fails, then three bisection steps between the last pass and
# the first failure (at most 10 steps in all).
best=0
rate=$start
failed_at=0
steps=0
while (( rate <= max && steps < 7 )); do
    steps=$((steps + 1))
    if step "$rate"; then
        best=$rate
        rate=$((rate * 2))
    else
        failed_at=$rate
        break
    fi
done
if (( best > 0 && failed_at > 0 )); then
    for _ in 1 2 3; do
        mid=$(( (best + failed_at) / 2 ))
        if step "$mid"; then best=$mid; else failed_at=$mid; fi
    done
fi
echo "best ($peer): $best OPTIONS/s with under 0.1% failures (UDP, loopback, $(nproc) cores)"
(( best > 0 ))
