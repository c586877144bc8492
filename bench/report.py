#!/usr/bin/env python3
"""bench/report.py: the ratios of one `make bench` run, and its figures as JSON (docs/bench.md).

usage: report.py FIGURES.txt OUT.json [key=value ...]
FIGURES.txt holds "bench: <name> <value> <unit>" lines; the ratios are printed as
"bench: ratio <name> <value>" and everything goes to OUT.json.
"""
import json
import sys


def main():
    figs = {}
    with open(sys.argv[1]) as f:
        for line in f:
            p = line.split()
            if len(p) == 4 and p[0] == "bench:":
                try:
                    figs[p[1]] = {"value": float(p[2]), "unit": p[3]}
                except ValueError:
                    pass
    params = dict(a.split("=", 1) for a in sys.argv[3:])

    ratios = {}

    def ratio(name, num, den):
        if num in figs and den in figs and figs[den]["value"] > 0:
            ratios[name] = round(figs[num]["value"] / figs[den]["value"], 3)

    workloads = ["meta_%s_" + ph for ph in ("create", "stat", "openread", "unlink")]
    workloads += ["fio_%s_" + w for w in ("seqread", "randread4k", "seqwrite")]
    for w in workloads:
        short = w.replace("%s_", "")
        for ours in ("fm0", "fm1", "fm4", "fm1c", "fm0u", "fm1u", "xor", "xorc", "xoru"):
            ratio("%s_vs_native_%s" % (ours, short), w % ours, w % "native")
            ratio("%s_vs_ptll_%s" % (ours, short), w % ours, w % "ptll")
        ratio("ptll_vs_native_%s" % short, w % "ptll", w % "native")
        # Throughput of 4 filters over 1: >= 0.91 means 4 cost at most 10% more than 1.
        ratio("fm4_vs_fm1_%s" % short, w % "fm4", w % "fm1")
        # What the io_uring transport gains over /dev/fuse (> 1: faster).
        ratio("fm1u_vs_fm1_%s" % short, w % "fm1u", w % "fm1")
        ratio("fm0u_vs_fm0_%s" % short, w % "fm0u", w % "fm0")
    if "dispatch_read_ns_per_filter_4" in figs:
        # The target, <= 30 ns per no-op filter: the measured cost over 30 ns.
        ratios["dispatch_ns_per_filter_vs_target_30ns"] = round(
            figs["dispatch_read_ns_per_filter_4"]["value"] / 30.0, 3)

    for k, v in ratios.items():
        print("bench: ratio %s %s" % (k, v))
    with open(sys.argv[2], "w") as f:
        json.dump({"params": params, "figures": figs, "ratios": ratios}, f, indent=1,
                  sort_keys=True)
        f.write("\n")
    print("bench: note: wrote %s" % sys.argv[2], file=sys.stderr)


if __name__ == "__main__":
    main()
