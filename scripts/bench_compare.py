#!/usr/bin/env python3
"""Compare two builds of tinyvm on the Lox benchmarks, interleaved.

For each round, for each benchmark, each (build, mode) pair runs once, in an
order rotated from one round to the next, so that drift on a shared machine
spreads evenly. Times are CPU seconds of the child (user + sys, from wait4),
which a busy machine disturbs less than wall time. Reported per benchmark
and mode: the median of each build and candidate / baseline (below 1: the
candidate is faster), and the geometric mean of those ratios per mode.
Every run must exit 0 and print what the baseline's interpreter prints
(timing lines excepted, as in bench.py).

Usage: scripts/bench_compare.py --baseline OLD/tinyvm --candidate NEW/tinyvm
       [--modes interp,jit,native] [--runs 5] [--benchmarks a,b]
       [--bench-dir ../shared/bench]
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING_LABELS = ("loop", "elapsed", "elapsed:", "equals")


def cpu_run(cmd):
    """(CPU seconds, exit status, stdout) of running `cmd`."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.stdout.close()
    code = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, code, out.decode("utf-8", "replace")


def result_lines(text):
    lines = text.splitlines()[:-1]
    kept, skip = [], False
    for line in lines:
        if skip:
            skip = False
            continue
        if line.strip() in TIMING_LABELS:
            skip = True
            continue
        kept.append(line)
    return kept


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--modes", default="interp,jit,native")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--benchmarks", default="")
    parser.add_argument("--bench-dir", default=os.path.join(ROOT, "..", "shared", "bench"))
    args = parser.parse_args()
    lox = os.path.join(args.bench_dir, "lox")
    names = sorted(f[:-4] for f in os.listdir(lox) if f.endswith(".lox") and f != "zoo_batch.lox")
    if args.benchmarks:
        wanted = args.benchmarks.split(",")
        names = [n for n in names if n in wanted]
    modes = args.modes.split(",")
    builds = {"baseline": args.baseline, "candidate": args.candidate}
    tmp = tempfile.mkdtemp(prefix="tinyvm-compare-")
    commands = {}
    for build, tinyvm in builds.items():
        for name in names:
            src = os.path.join(lox, name + ".lox")
            for mode in modes:
                if mode == "interp":
                    cmd = [tinyvm, "run", "--jit=off", src]
                elif mode == "jit":
                    cmd = [tinyvm, "run", src]
                elif mode == "native":
                    exe = os.path.join(tmp, f"{build}-{name}")
                    subprocess.run([tinyvm, "build", src, "-o", exe], check=True, stdout=subprocess.DEVNULL)
                    cmd = [exe]
                else:
                    sys.exit(f"unknown mode {mode}")
                commands[(build, name, mode)] = cmd
    expected = {}
    for name in names:
        _, code, out = cpu_run([args.baseline, "run", "--jit=off", os.path.join(lox, name + ".lox")])
        if code != 0:
            sys.exit(f"{name}: the baseline interpreter exits {code}")
        expected[name] = result_lines(out)
    times = {key: [] for key in commands}
    keys = list(commands)
    failed = False
    for r in range(args.runs):
        for name in names:
            order = [k for k in keys if k[1] == name]
            shift = r % len(order)
            for key in order[shift:] + order[:shift]:
                seconds, code, out = cpu_run(commands[key])
                if code != 0 or result_lines(out) != expected[name]:
                    print(f"FAILED: {key}: exit {code}", file=sys.stderr)
                    failed = True
                    continue
                times[key].append(seconds)
    print(f"CPU seconds, medians of {args.runs} interleaved runs; ratio = candidate / baseline")
    print(f"{'benchmark':<18}" + "".join(f"{m:>30}" for m in modes))
    ratios = {m: [] for m in modes}
    for name in names:
        row = f"{name:<18}"
        for mode in modes:
            b, c = times[("baseline", name, mode)], times[("candidate", name, mode)]
            if not b or not c:
                row += f"{'-':>30}"
                continue
            mb, mc = statistics.median(b), statistics.median(c)
            ratio = mc / mb if mb > 0 else float("nan")
            ratios[mode].append(ratio)
            row += f"{mb:>10.3f} {mc:>8.3f} {ratio:>8.3f}x  "
        print(row)
    geo = "".join(
        f"{math.exp(sum(map(math.log, r)) / len(r)) if r else float('nan'):>28.3f}x " for r in ratios.values()
    )
    print(f"{'geomean':<18}" + geo)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
