#!/usr/bin/env python3
"""Compile and JIT time against the size of one function (a benchmark, not a test).

Generates a function with N locals (`var vI = I;`, then a sum that reads
every tenth of them) for each N, and reports, per N, the best of --runs:

  compile   wall time of `tinyvm compile` (front end, emission, verifier)
  jit       the JIT's compile time of that function, from TINYVM_STATS=1
            (`jit compile time` of `tinyvm run --jit=always` on the .tvmc)
  build     wall time of `tinyvm build` (lowering, ELF object, DWARF, link)

and the time per local relative to the smallest N: a linear compiler keeps
that ratio near 1.

Usage: scripts/compile_time.py [--sizes 10000,20000,40000,70000] [--runs 3]
       [--tinyvm target/release/tinyvm] [--no-build]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def program(n):
    lines = ["fun f() {"]
    lines += [f"  var v{i} = {i};" for i in range(n)]
    terms = " + ".join(f"v{i}" for i in range(0, n, 10))
    lines.append(f"  return {terms};")
    lines.append("}")
    lines.append("print f();")
    return "\n".join(lines) + "\n"


def timed(cmd, env=None):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr}")
    return elapsed, out


def jit_seconds(tinyvm, tvmc):
    env = dict(os.environ, TINYVM_STATS="1")
    _, out = timed([tinyvm, "run", "--jit=always", tvmc], env)
    match = re.search(r"jit compile time\s+([0-9.]+) ms", out.stderr)
    if not match:
        sys.exit("no `jit compile time` in TINYVM_STATS output:\n" + out.stderr)
    return float(match.group(1)) / 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,20000,40000,70000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tinyvm", default=os.path.join(ROOT, "target", "release", "tinyvm"))
    parser.add_argument("--no-build", action="store_true", help="skip `tinyvm build`")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            src = os.path.join(tmp, f"locals{n}.tvm")
            tvmc = os.path.join(tmp, f"locals{n}.tvmc")
            exe = os.path.join(tmp, f"locals{n}")
            with open(src, "w") as f:
                f.write(program(n))
            compile_s = min(timed([args.tinyvm, "compile", src, "-o", tvmc])[0] for _ in range(args.runs))
            jit_s = min(jit_seconds(args.tinyvm, tvmc) for _ in range(args.runs))
            build_s = None
            if not args.no_build:
                build_s = min(timed([args.tinyvm, "build", src, "-o", exe])[0] for _ in range(args.runs))
            rows.append((n, compile_s, jit_s, build_s))
    base = rows[0]
    print(f"{'locals':>8} {'compile':>9} {'jit':>9} {'build':>9}   per local vs {base[0]}: compile jit build")
    for n, c, j, b in rows:
        scale = n / base[0]
        per = lambda t, t0: f"{(t / t0) / scale:5.2f}" if t is not None and t0 else "    -"
        build = f"{b:8.3f}s" if b is not None else "        -"
        print(f"{n:>8} {c:8.3f}s {j:8.3f}s {build}   {per(c, base[1])} {per(j, base[2])} {per(b, base[3])}")


if __name__ == "__main__":
    main()
