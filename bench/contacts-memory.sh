#!/usr/bin/env bash
# Resident memory per registered contact of the whole server (`switchboard serve`)
# holding USERS x CONTACTS_PER_USER contacts (default 100,000 x 10 = 1,000,000),
# registered through SIPp over UDP on 127.0.0.1 with digest auth.
#
#   bench/contacts-memory.sh [--tmpfs]
#
# Environment: USERS (default 100000), CONTACTS_PER_USER (default 10), RATE (fixed
# registrations per second, default 4000), SIPP_PROCS (default 1: SIPp processes
# sharing the load, each with its own slice of the users), SETTLE (seconds to wait
# after the last registration before the settled reading, default 40: Timer J, 32 s,
# frees completed non-INVITE transactions), START_TIMEOUT (seconds allowed for the
# server to load its configuration, default 600), SWITCHBOARD_BIN (a given build
# instead of building the release one), KEEP_WORK=1 (keep the work directory).
#
# Users are 100000.. with password "pw<user>". pjsip.conf has per user a
# `type=endpoint`, a `type=auth` and a `type=aor` with max_contacts=CONTACTS_PER_USER,
# minimum_expiration=60, default_expiration and maximum_expiration 7200; the REGISTER
# asks Expires: 3600, so nothing expires during the run. SIPp (scenario
# bench/register-many.xml) takes the users in order from a SEQUENTIAL injection file
# and wraps around, so each user registers CONTACTS_PER_USER times, its calls USERS
# apart, each time with a Contact of its own (user part "<user>-c<call number>"):
# every REGISTER adds a binding. The contacts go to the SQLite file of the data
# directory (on the disk under /tmp, or with --tmpfs under /dev/shm) and into the
# registrar's in-memory location service.
#
# Memory (summed over the server's process group, from /proc/PID/smaps_rollup: Rss,
# Pss and Anonymous) is read (a) before: the configuration loaded, the server
# listening and idle for 2 s; (b) after: right after SIPp's last call; (c) settled:
# SETTLE seconds later. RSS is also sampled every 5 s during the run (peak). Per
# contact = (c - a) / stored contacts and (b - a) / stored contacts, where stored
# contacts is `select count(*) from ps_contacts` read from the data directory while
# the server still runs (it must equal USERS x CONTACTS_PER_USER).
#
# A REGISTER the server refuses (e.g. 503 Retry-After when a shard's queue is above
# its high-water mark) is a failed call: the scenario has no branch for it, so SIPp
# retransmits until the call's timeout and that contact is missing from the count.
# The registrations line reports such answers as status:distinct calls.
#
# Bounded: the server load (START_TIMEOUT), the registrations (TOTAL / RATE + 120 s at
# most), SETTLE, and 120 s for the count. Prints one line per measurement; exit 1 if
# fewer contacts than expected were stored, 0 otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

datadisk=disk
while [[ ${1:-} == --* ]]; do
    case $1 in
        --tmpfs) datadisk=tmpfs ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
users=${USERS:-100000}
per=${CONTACTS_PER_USER:-10}
rate=${RATE:-4000}
procs=${SIPP_PROCS:-1}
settle=${SETTLE:-40}
start_timeout=${START_TIMEOUT:-600}
total=$((users * per))
for tool in sipp sqlite3 python3; do
    command -v "$tool" >/dev/null || { echo "$tool not installed (sipp: apt-get install sip-tester)" >&2; exit 2; }
done

if [[ $datadisk == tmpfs ]]; then work=$(mktemp -d -p /dev/shm); else work=$(mktemp -d -p /tmp); fi
server=
sampler=
cleanup() {
    if [[ -n $sampler ]]; then
        kill "$sampler" 2>/dev/null || true
        wait "$sampler" 2>/dev/null || true
    fi
    if [[ -n $server ]]; then
        kill -TERM -- "-$server" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [[ -n ${KEEP_WORK:-} ]]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The users (one injection file per SIPp process, each a contiguous slice) and the
# configuration.
python3 - "$work" "$users" "$procs" "$port" "$per" <<'PY'
import sys
work, n, p, port, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
size = -(-n // p)
for k in range(p):
    with open(f"{work}/users{k}.csv", "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(k * size, min(n, (k + 1) * size)):
            u = 100000 + i
            f.write(f"{u};[authentication username={u} password=pw{u}]\n")
with open(f"{work}/pjsip.conf", "w") as f:
    f.write(f"[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n")
    for i in range(n):
        u = 100000 + i
        f.write(f"[{u}]\ntype=endpoint\nauth={u}\naors={u}\n\n"
                f"[{u}]\ntype=auth\nusername={u}\npassword=pw{u}\n\n"
                f"[{u}]\ntype=aor\nmax_contacts={per}\nminimum_expiration=60\n"
                f"default_expiration=7200\nmaximum_expiration=7200\n\n")
PY

bin=${SWITCHBOARD_BIN:-}
if [[ -z $bin ]]; then
    cargo build --release -q -p switchboard
    bin=${CARGO_TARGET_DIR:-target}/release/switchboard
fi

# CPU seconds (user + system) and memory of every process in the server's process
# group: "cpu rss_kb pss_kb anon_kb" (bench/process_usage.py).
usage() {
    python3 "$root/bench/process_usage.py" "$server"
}

mb() { python3 -c "import sys; print(f'{int(sys.argv[1])/1024:.1f}')" "$1"; }

log_tail() {
    echo "--- last lines of the server log ($work/server.log):" >&2
    tail -n 20 "$work/server.log" >&2 || true
}

echo "switchboard contacts memory: $users users x $per contacts = $total, $rate registrations/s, data on $datadisk ($work), $procs SIPp process(es), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"

t_load=$(date +%s.%N)
setsid "$bin" serve --config-dir "$work" --data-dir "$work/data" 2>"$work/server.log" &
server=$!
deadline=$((SECONDS + start_timeout))
until grep -q "listening on" "$work/server.log" 2>/dev/null; do
    if ! kill -0 "$server" 2>/dev/null || (( SECONDS >= deadline )); then
        echo "server did not start listening within ${start_timeout} s" >&2
        log_tail
        exit 1
    fi
    sleep 0.2
done
t_listen=$(date +%s.%N)
sleep 2
read -r cpu0 rss0 pss0 anon0 <<<"$(usage)"
echo "before (configuration loaded in $(python3 -c "print(f'{$t_listen - $t_load:.1f}')") s, 2 s idle): RSS $(mb "$rss0") MB, PSS $(mb "$pss0") MB, anonymous $(mb "$anon0") MB"

# RSS every 5 s while SIPp runs: "seconds rss_kb".
(
    t=0
    while kill -0 "$server" 2>/dev/null; do
        awk -v t="$t" '/^VmRSS:/ { print t, $2 }' "/proc/$server/status" 2>/dev/null || true
        sleep 5
        t=$((t + 5))
    done
) >"$work/rss.log" &
sampler=$!

# The registrations: TOTAL calls at RATE over the SIPp processes.
sipp_limit=$((total / rate + 120))
t0=$(date +%s.%N)
pids=()
for ((k = 0; k < procs; k++)); do
    mkdir -p "$work/sipp$k"
    n_k=$(( $(wc -l <"$work/users$k.csv") - 1 ))
    (cd "$work/sipp$k" && TIMEFORMAT='%3U %3S' && { time timeout -k 10 "$((sipp_limit + 30))" \
        sipp -sf "$root/bench/register-many.xml" -t u1 -i 127.0.0.1 \
        -buff_size 4194304 -inf "$work/users$k.csv" \
        -r "$(( (rate + procs - 1) / procs ))" -m "$((n_k * per))" \
        -l $((rate * 2 / procs + 100)) -timeout "${sipp_limit}s" -nostdin \
        -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 -trace_err -default_behaviors -bye \
        "127.0.0.1:$port" >sipp.out 2>&1; } 2>cpu) &
    pids+=($!)
done
for k in "${pids[@]}"; do wait "$k" || true; done
t1=$(date +%s.%N)
read -r cpu1 rss1 pss1 anon1 <<<"$(usage)"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=

read -r ok failed retrans p50 p99 sippcpu codes <<<"$(python3 "$root/bench/sipp_summary.py" "$work" "$procs")"
elapsed=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
cpu_per=$(python3 -c "import sys; print(f'{(float(sys.argv[2])-float(sys.argv[1]))*1000/max(1,int(sys.argv[3])):.3f}')" "$cpu0" "$cpu1" "$ok")
echo "registrations at $rate/s: $ok ok, $failed failed (of $total), $retrans retransmissions, calls with an unexpected answer (status:calls): $codes, p50 ${p50} ms, p99 ${p99} ms, server CPU ${cpu_per} s per 1000, SIPp CPU ${sippcpu} s, in ${elapsed} s"
echo "after (right after the last registration): RSS $(mb "$rss1") MB, PSS $(mb "$pss1") MB, anonymous $(mb "$anon1") MB, peak sampled RSS $(mb "$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$work/rss.log")") MB"

alive=yes
kill -0 "$server" 2>/dev/null || alive=no
if [[ $alive == yes ]]; then
    sleep "$settle"
    read -r _ rss2 pss2 anon2 <<<"$(usage)"
    echo "settled ($settle s later): RSS $(mb "$rss2") MB, PSS $(mb "$pss2") MB, anonymous $(mb "$anon2") MB"
else
    echo "server exited during the run" >&2
    log_tail
    exit 1
fi

stored=$(timeout 120 sqlite3 "$work/data/switchboard.db" 'select count(*) from ps_contacts' 2>&1) || true
aors=$(timeout 120 sqlite3 "$work/data/switchboard.db" 'select count(distinct endpoint) from ps_contacts' 2>&1) || true
dbsize=$(du -sk "$work/data" | cut -f1)
echo "stored: $stored contacts in ps_contacts (expected $total), $aors distinct endpoints (expected $users), data directory $(mb "$dbsize") MB on $datadisk"

warnings=$(grep -c -E "WARN|ERROR" "$work/server.log" || true)
echo "server log: $(wc -l <"$work/server.log") lines, $warnings WARN/ERROR"
if (( warnings > 0 )); then
    # The distinct WARN/ERROR messages (colour codes and timestamps stripped), counted,
    # with the first and last time each was seen.
    sed 's/\x1b\[[0-9;]*m//g' "$work/server.log" | grep -E "^[^ ]+ +(WARN|ERROR) " |
        awk '{ t = $1; $1 = ""; sub(/^ +/, ""); n[$0]++; if (!($0 in first)) first[$0] = t; last[$0] = t }
             END { for (m in n) printf "  %d x %s (%s .. %s)\n", n[m], m, first[m], last[m] }' | sort -rn | head -n 10
fi
if [[ ! $stored =~ ^[0-9]+$ ]] || (( stored != total )) || (( failed > 0 )) || (( warnings > 0 )); then
    log_tail
fi

if [[ $stored =~ ^[0-9]+$ ]] && (( stored > 0 )); then
    python3 - "$stored" "$rss0" "$pss0" "$anon0" "$rss1" "$pss1" "$anon1" "$rss2" "$pss2" "$anon2" <<'PY'
import sys
n = int(sys.argv[1]); r0, p0, a0, r1, p1, a1, r2, p2, a2 = map(int, sys.argv[2:])
per = lambda x, y: f"{(y - x) * 1024 / n:.0f}"
print(f"per contact ({n} stored): settled - before: RSS {per(r0, r2)} B, PSS {per(p0, p2)} B, anonymous {per(a0, a2)} B; "
      f"after - before: RSS {per(r0, r1)} B, PSS {per(p0, p1)} B, anonymous {per(a0, a1)} B")
PY
fi
[[ $stored =~ ^[0-9]+$ ]] && (( stored == total ))
