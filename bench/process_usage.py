#!/usr/bin/env python3
"""CPU and memory of a server: bench/process_usage.py PGID.

Sums over every process in process group PGID (a server started under `setsid`;
Kamailio forks its workers into the same group) and prints one line:

    cpu_seconds rss_kb pss_kb anonymous_kb

cpu_seconds is user + system time from /proc/PID/stat; the memory figures come from
/proc/PID/smaps_rollup. Processes that end while being read are skipped.
"""
import os
import sys

pg = int(sys.argv[1])
tck = os.sysconf("SC_CLK_TCK")
cpu = 0.0
rss = pss = anon = 0
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open(f"/proc/{p}/stat").read()
        f = s[s.rindex(")") + 2:].split()
        if int(f[2]) != pg:
            continue
        cpu += (int(f[11]) + int(f[12])) / tck
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
            elif line.startswith("Anonymous:"):
                anon += int(line.split()[1])
    except (OSError, ValueError):
        continue
print(f"{cpu:.2f} {rss} {pss} {anon}")
