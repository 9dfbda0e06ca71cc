#!/usr/bin/env python3
"""Sums up the SIPp runs of a benchmark: bench/sipp_summary.py WORK PROCS.

Reads WORK/sipp<k>/ for k < PROCS (stat.csv from -trace_stat, *_rtt.csv from
-trace_rtt, *_errors.log from -trace_err, and cpu: the user and system seconds the
shell's `time` wrote) and prints one line:

    succeeded failed retransmissions p50_ms p99_ms sipp_cpu_seconds unexpected

where `unexpected` lists, per status code, the number of distinct calls that got an
answer SIPp did not expect (e.g. `503:12,200:3`), or `none`.
"""
import collections, glob, re, sys
work, procs = sys.argv[1], int(sys.argv[2])
ok = failed = retrans = 0
sippcpu = 0.0
rtts = []
codes = collections.defaultdict(set)
for k in range(procs):
    try:
        lines = open(f"{work}/sipp{k}/stat.csv").read().splitlines()
        row = dict(zip(lines[0].split(";"), lines[-1].split(";")))
        ok += int(row.get("SuccessfulCall(C)", 0) or 0)
        failed += int(row.get("FailedCall(C)", 0) or 0)
        retrans += int(row.get("Retransmissions(C)", 0) or 0)
    except (OSError, IndexError, ValueError):
        pass
    try:
        sippcpu += sum(float(x) for x in open(f"{work}/sipp{k}/cpu").read().split())
    except (OSError, ValueError):
        pass
    for path in glob.glob(f"{work}/sipp{k}/*_rtt.csv"):
        with open(path) as f:
            next(f, None)
            for line in f:
                parts = line.split(";")
                try:
                    rtts.append(float(parts[1]))
                except (IndexError, ValueError):
                    pass
    # Answers SIPp did not expect (e.g. a 503, for which the scenario has no branch,
    # or a late 200 to a retransmission): the number of distinct calls per status.
    for path in glob.glob(f"{work}/sipp{k}/*_errors.log"):
        text = open(path, errors="replace").read()
        for m in re.finditer(r"received 'SIP/2\.0 (\d{3})(.*?)'", text, re.S):
            cid = re.search(r"\nCall-ID: *(\S+)", m.group(2))
            codes[m.group(1)].add(f"{k}/{cid.group(1) if cid else m.start()}")
rtts.sort()
def pct(q):
    return rtts[min(len(rtts) - 1, int(q * len(rtts)))] if rtts else float("nan")
print(ok, failed, retrans, f"{pct(0.5):.0f}", f"{pct(0.99):.0f}", f"{sippcpu:.1f}",
      ",".join(f"{c}:{len(n)}" for c, n in sorted(codes.items())) or "none")
