#!/usr/bin/env bash
# Registers N distinct users with digest auth through SIPp (UDP, loopback) and
# measures, for Switchboard or (with --kamailio) Kamailio:
#
#   1. populate: every user registers once at a fixed rate (new contacts), then
#      refresh: every user registers again at the same rate (existing contacts).
#      For each: server CPU seconds (user + system, all its processes) per 1,000
#      registrations, p50/p99 of the whole REGISTER -> 401 -> REGISTER -> 200
#      exchange, and the server's memory before and after (RSS per contact).
#   2. rate search: doubling rates, 5 s per step, then three bisection steps; a step
#      passes with < 0.1% failed calls and no retransmission at all. Prints the
#      highest passing rate.
#
#   bench/register-rate.sh [--kamailio | --kamailio-htable] [--tmpfs] [START_RATE] [MAX_RATE]
#
# Environment: USERS (default 10000), FIXED_RATE (default 1000 registrations/s),
# SIPP_PROCS (default 1: SIPp processes sharing the load, each with its own slice of
# the users), SWITCHBOARD_BIN (a given build instead of building the release one),
# KEEP_WORK=1 (keep the work directory: configs, server log, SIPp files), SETTLE
# (seconds to wait after the refresh pass before the last memory reading, default 35).
#
# SIPp's socket buffers are 4 MiB (-buff_size; its default, 64 KiB, overflows as
# soon as a server answers a few hundred requests in one burst, and every drop is
# counted as a retransmission against the server).
#
# Users are 100000.. (USERS of them) with password "pw<user>". Switchboard gets a
# pjsip.conf with an endpoint, an auth and an aor (max_contacts=1,
# remove_existing=yes) per user and answers 200 only once the contact is committed
# to SQLite in its data directory: on disk (under /tmp, which is on the VM's disk
# here) or, with --tmpfs, under /dev/shm. Kamailio is an in-memory registrar
# (usrloc db_mode=0, registrar save with "one contact per AOR") authenticating
# from a db_text `subscriber` table of the same users (auth_db, calculate_ha1,
# realm "asterisk" as Switchboard's challenge). db_text answers a query by
# scanning every row, so with --kamailio-htable the passwords are loaded at start
# from the same db_text directory into an htable (a hash table in shared memory)
# and checked with the auth module's pv_www_authenticate instead: the same
# registrar, with a credential lookup that does not grow with the number of users.
#
# In the rate search each step sends rate x 5 registrations; users are taken in
# order and wrap around, so above USERS/5 per second every user registers at least
# once per step (refreshes of existing contacts). Bounded: populate and refresh
# take USERS / FIXED_RATE seconds each (10 s by default), a 35 s pause before the
# last memory reading, then at most 10 steps of at most ~20 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

peer=switchboard
creds=
datadisk=disk
while [[ ${1:-} == --* ]]; do
    case $1 in
        --kamailio) peer=kamailio; creds=db_text ;;
        --kamailio-htable) peer=kamailio; creds=htable ;;
        --tmpfs) datadisk=tmpfs ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
start=${1:-1000}
max=${2:-64000}
users=${USERS:-10000}
fixed=${FIXED_RATE:-1000}
procs=${SIPP_PROCS:-1}
seconds=5
command -v sipp >/dev/null || { echo "sipp not installed (apt-get install sip-tester)" >&2; exit 2; }

if [[ $datadisk == tmpfs ]]; then work=$(mktemp -d -p /dev/shm); else work=$(mktemp -d -p /tmp); fi
server=
cleanup() {
    if [[ -n $server ]]; then
        kill -TERM -- "-$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [[ -n ${KEEP_WORK:-} ]]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The users: one injection file per SIPp process, each a contiguous slice.
python3 - "$work" "$users" "$procs" <<'PY'
import sys
work, n, p = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = -(-n // p)
for k in range(p):
    with open(f"{work}/users{k}.csv", "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(k * per, min(n, (k + 1) * per)):
            u = 100000 + i
            f.write(f"{u};[authentication username={u} password=pw{u}]\n")
PY

if [[ $peer == kamailio ]]; then
    command -v kamailio >/dev/null || { echo "kamailio not installed (apt-get install kamailio)" >&2; exit 2; }
    mods=/usr/lib/x86_64-linux-gnu/kamailio/modules
    [[ -f $mods/db_text.so && -f $mods/auth_db.so ]] || { echo "kamailio db_text/auth_db modules missing" >&2; exit 2; }
    mkdir -p "$work/db" "$work/run"
    python3 - "$work/db" "$users" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(f"{d}/version", "w") as f:
    f.write("id(int,auto) table_name(string) table_version(int)\n1:subscriber:7\n")
with open(f"{d}/subscriber", "w") as f:
    f.write("id(int,auto) username(string) domain(string) password(string)\n")
    for i in range(n):
        u = 100000 + i
        f.write(f"{i + 1}:{u}:127.0.0.1:pw{u}\n")
with open(f"{d}/version", "a") as f:
    f.write("2:htable:2\n")
with open(f"{d}/htable", "w") as f:
    f.write("id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int)\n")
    for i in range(n):
        u = 100000 + i
        f.write(f"{i + 1}:{u}:0:0:pw{u}:0\n")
PY
    if [[ $creds == htable ]]; then
        credmods='loadmodule "pv.so"
loadmodule "htable.so"'
        credparams="modparam(\"htable\", \"db_url\", \"text://$work/db\")
modparam(\"htable\", \"htable\", \"creds=>size=14;dbtable=htable;\")"
        authorize='is_present_hf("Authorization") && pv_www_authenticate("asterisk", "$sht(creds=>$au)", "0")'
    else
        credmods='loadmodule "auth_db.so"'
        credparams="modparam(\"auth_db\", \"db_url\", \"text://$work/db\")
modparam(\"auth_db\", \"calculate_ha1\", 1)
modparam(\"auth_db\", \"password_column\", \"password\")
modparam(\"auth_db\", \"use_domain\", 0)"
        authorize='www_authorize("asterisk", "subscriber")'
    fi
    cat > "$work/kamailio.cfg" <<KAM
#!KAMAILIO
listen=udp:127.0.0.1:$port
children=$(nproc)
disable_tcp=yes
log_stderror=yes
debug=0
mpath="$mods"
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "db_text.so"
loadmodule "auth.so"
$credmods
loadmodule "usrloc.so"
loadmodule "registrar.so"
$credparams
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "hash_size", 14)
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (!is_method("REGISTER")) { sl_send_reply("405", "Method Not Allowed"); exit; }
    if (!($authorize)) {
        www_challenge("asterisk", "1");
        exit;
    }
    consume_credentials();
    # 0x04: keep one contact per AOR, dropping the others (remove_existing).
    if (!save("location", "0x04")) { sl_reply_error(); }
    exit;
}
KAM
    setsid kamailio -m 1024 -M 64 -f "$work/kamailio.cfg" -DD -E -Y "$work/run" -P "$work/kamailio.pid" 2>"$work/server.log" &
    server=$!
    sleep 2
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
else
    bin=${SWITCHBOARD_BIN:-}
    if [[ -z $bin ]]; then
        cargo build --release -q -p switchboard
        bin=${CARGO_TARGET_DIR:-target}/release/switchboard
    fi
    python3 - "$work/pjsip.conf" "$port" "$users" <<'PY'
import sys
path, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "w") as f:
    f.write(f"[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n")
    for i in range(n):
        u = 100000 + i
        f.write(f"[{u}]\ntype=endpoint\nauth={u}\naors={u}\n\n"
                f"[{u}]\ntype=auth\nusername={u}\npassword=pw{u}\n\n"
                f"[{u}]\ntype=aor\nmax_contacts=1\nremove_existing=yes\n\n")
PY
    setsid "$bin" serve --config-dir "$work" --data-dir "$work/data" 2>"$work/server.log" &
    server=$!
    for _ in $(seq 1 100); do
        grep -q "listening on" "$work/server.log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q "listening on" "$work/server.log" || { cat "$work/server.log" >&2; exit 1; }
fi

# CPU seconds (user + system) and memory of every process in the server's process
# group: "cpu rss_kb pss_kb anon_kb" (bench/process_usage.py). Kamailio forks its
# workers into that group.
usage() {
    python3 "$root/bench/process_usage.py" "$server"
}

# Runs `calls` registrations at `rate` over the SIPp processes; prints
# "succeeded failed retransmissions p50_ms p99_ms sipp_cpu_seconds unexpected"
# (bench/sipp_summary.py).
run_sipp() {
    local rate=$1 calls=$2 k pids=()
    rm -rf "$work"/sipp*
    for ((k = 0; k < procs; k++)); do
        mkdir -p "$work/sipp$k"
        (cd "$work/sipp$k" && TIMEFORMAT='%3U %3S' && { time sipp -sf "$root/bench/register.xml" -t u1 -i 127.0.0.1 \
            -buff_size 4194304 -inf "$work/users$k.csv" \
            -r "$(( (rate + procs - 1) / procs ))" -m "$(( (calls + procs - 1) / procs ))" \
            -l $((rate * 2 / procs + 100)) -timeout $((calls / rate + 15))s -nostdin \
            -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 -trace_err -default_behaviors -bye \
            "127.0.0.1:$port" >/dev/null 2>&1; } 2>cpu) &
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k" || true; done
    python3 "$root/bench/sipp_summary.py" "$work" "$procs"
}

# One measured run: prints the line, returns 0 if it passed.
measure() {
    local label=$1 rate=$2 calls=$3 before after ok failed retrans p50 p99 sippcpu cpu t0 t1 verdict=pass
    before=$(usage)
    t0=$(date +%s.%N)
    read -r ok failed retrans p50 p99 sippcpu _unexpected <<<"$(run_sipp "$rate" "$calls")"
    t1=$(date +%s.%N)
    after=$(usage)
    cpu=$(python3 -c "import sys; b=float(sys.argv[1]); a=float(sys.argv[2]); print(f'{(a-b)*1000/max(1,int(sys.argv[3])):.3f}')" \
        "${before%% *}" "${after%% *}" "$ok")
    total=$((ok + failed))
    if ! (( total > 0 && failed * 1000 < total && ok >= calls * 999 / 1000 && retrans == 0 )); then
        verdict=fail
    fi
    echo "$label $rate/s: $ok ok, $failed failed (of $calls), $retrans retransmissions, p50 ${p50} ms, p99 ${p99} ms, server CPU ${cpu} s per 1000, SIPp CPU ${sippcpu} s in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s: $verdict"
    [[ $verdict == pass ]]
}

mem() { # "rss_kb pss_kb"
    local rss pss
    read -r _ rss pss _ <<<"$(usage)"
    echo "$rss $pss"
}

echo "$peer${creds:+ ($creds)}: $users users, data on $datadisk ($work), $procs SIPp process(es), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r rss0 pss0 <<<"$(mem)"
measure populate "$fixed" "$users" || true
read -r rss1 pss1 <<<"$(mem)"
measure refresh "$fixed" "$users" || true
read -r rss2 pss2 <<<"$(mem)"
# Completed non-INVITE transactions linger 32 s (Timer J) in a stateful server:
# read the memory again once they are gone.
sleep "${SETTLE:-35}"
read -r rss3 pss3 <<<"$(mem)"
python3 - "$users" "$rss0" "$pss0" "$rss1" "$pss1" "$rss2" "$pss2" "$rss3" "$pss3" <<'PY'
import sys
n = int(sys.argv[1]); r0, p0, r1, p1, r2, p2, r3, p3 = map(int, sys.argv[2:])
print(f"memory: RSS {r0/1024:.1f} MB before, {r1/1024:.1f} after populate, {r2/1024:.1f} after refresh, "
      f"{r3/1024:.1f} settled; PSS (summed over processes) {p0/1024:.1f} -> {p1/1024:.1f} -> {p2/1024:.1f} -> {p3/1024:.1f} MB; "
      f"per contact (settled - before): RSS {(r3-r0)*1024/n:.0f} B, PSS {(p3-p0)*1024/n:.0f} B")
PY

best=0
rate=$start
failed_at=0
steps=0
while (( rate <= max && steps < 7 )); do
    steps=$((steps + 1))
    if measure step "$rate" $((rate * seconds)); then
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
        if measure step "$mid" $((mid * seconds)); then best=$mid; else failed_at=$mid; fi
    done
fi
echo "best ($peer, data on $datadisk): $best registrations/s with < 0.1% failed and no retransmissions (UDP, loopback, $(nproc) cores, $procs SIPp)"
(( best > 0 ))
