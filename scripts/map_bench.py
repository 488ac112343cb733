#!/usr/bin/env python3
"""Map benchmark: TinyVM maps against Lua tables and Python dicts.

The same work in every implementation, inside a function (locals, not
globals): N number keys (i * 7, sparse, so that Lua puts them in the hash
part of its table) inserted, then looked up and their values summed; N
string keys ("k" .. i, built before the timed part) inserted, then looked
up and summed. Each program times its own phases with its clock (TinyVM
`clock()`, Lua `os.clock()`, Python `time.perf_counter()`) and prints a
checksum, which must agree between implementations.

Implementations (those whose tool is missing are skipped):
  interp   tinyvm run --jit=off          (reference)
  jit      tinyvm run                    (the default: the JIT)
  native   tinyvm build, then the executable
  lua      lua5.4
  luajit   luajit
  python   this Python (a dict)

For each size (default 250000, 500000, 1000000) every implementation runs
--runs times (default 3), interleaved; the fastest run of each phase is
reported (interference on a shared machine only adds time). A last table
shows nanoseconds per operation of the whole timed part at each size: flat
rows mean linear growth.

Usage: scripts/map_bench.py [--tinyvm target/release/tinyvm] [--runs 3]
       [--sizes 250000,500000,1000000] [--impls jit,native,lua,python]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASES = ["num_set", "num_get", "str_set", "str_get"]

TINYVM = """
fun main(n) {
  var names = [];
  for (var i = 0; i < n; i = i + 1) push(names, "k" + str(i));
  var t0 = clock();
  var m = Map();
  for (var i = 0; i < n; i = i + 1) m[i * 7] = i;
  var t1 = clock();
  var sum = 0;
  for (var i = 0; i < n; i = i + 1) sum = sum + m[i * 7];
  var t2 = clock();
  var s = Map();
  for (var i = 0; i < n; i = i + 1) s[names[i]] = i;
  var t3 = clock();
  for (var i = 0; i < n; i = i + 1) sum = sum + s[names[i]];
  var t4 = clock();
  print "num_set " + str(t1 - t0);
  print "num_get " + str(t2 - t1);
  print "str_set " + str(t3 - t2);
  print "str_get " + str(t4 - t3);
  print "check " + str(sum) + " " + str(len(m) + len(s));
}
main(%d);
"""

LUA = """
local function main(n)
  local names = {}
  for i = 0, n - 1 do names[i] = "k" .. i end
  local t0 = os.clock()
  local m = {}
  for i = 0, n - 1 do m[i * 7] = i end
  local t1 = os.clock()
  local sum = 0
  for i = 0, n - 1 do sum = sum + m[i * 7] end
  local t2 = os.clock()
  local s = {}
  for i = 0, n - 1 do s[names[i]] = i end
  local t3 = os.clock()
  for i = 0, n - 1 do sum = sum + s[names[i]] end
  local t4 = os.clock()
  local count = 0
  for _ in pairs(m) do count = count + 1 end
  for _ in pairs(s) do count = count + 1 end
  print("num_set " .. (t1 - t0))
  print("num_get " .. (t2 - t1))
  print("str_set " .. (t3 - t2))
  print("str_get " .. (t4 - t3))
  print(string.format("check %%d %%d", sum, count))
end
main(%d)
"""

PYTHON = """
import time
def main(n):
    names = ["k%%d" %% i for i in range(n)]
    t0 = time.perf_counter()
    m = {}
    for i in range(n):
        m[i * 7] = i
    t1 = time.perf_counter()
    total = 0
    for i in range(n):
        total += m[i * 7]
    t2 = time.perf_counter()
    s = {}
    for i in range(n):
        s[names[i]] = i
    t3 = time.perf_counter()
    for i in range(n):
        total += s[names[i]]
    t4 = time.perf_counter()
    print("num_set", t1 - t0)
    print("num_get", t2 - t1)
    print("str_set", t3 - t2)
    print("str_get", t4 - t3)
    print("check %%d %%d" %% (total, len(m) + len(s)))
main(%d)
"""


def parse(out):
    times, check = {}, None
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in PHASES:
            times[parts[0]] = float(parts[1])
        elif parts and parts[0] == "check":
            check = " ".join(parts[1:])
    if set(times) != set(PHASES) or check is None:
        raise RuntimeError("unexpected output:\n" + out)
    return times, check


def commands(args, size, tmp):
    """(name, argv) of each available implementation for `size`."""
    found = []
    tvm_src = os.path.join(tmp, "maps_%d.tvm" % size)
    with open(tvm_src, "w") as f:
        f.write(TINYVM % size)
    lua_src = os.path.join(tmp, "maps_%d.lua" % size)
    with open(lua_src, "w") as f:
        f.write(LUA % size)
    py_src = os.path.join(tmp, "maps_%d.py" % size)
    with open(py_src, "w") as f:
        f.write(PYTHON % size)
    for impl in args.impls:
        if impl == "interp":
            found.append((impl, [args.tinyvm, "run", "--jit=off", tvm_src]))
        elif impl == "jit":
            found.append((impl, [args.tinyvm, "run", tvm_src]))
        elif impl == "native":
            exe = os.path.join(tmp, "maps_%d" % size)
            subprocess.run([args.tinyvm, "build", tvm_src, "-o", exe], check=True)
            found.append((impl, [exe]))
        elif impl in ("lua", "luajit"):
            tool = shutil.which("lua5.4" if impl == "lua" else "luajit")
            if tool:
                found.append((impl, [tool, lua_src]))
            else:
                print("note: %s not found, skipped" % impl, file=sys.stderr)
        elif impl == "python":
            found.append((impl, [sys.executable, py_src]))
        else:
            raise SystemExit("unknown implementation " + impl)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tinyvm", default=os.path.join(ROOT, "target", "release", "tinyvm"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="250000,500000,1000000")
    parser.add_argument("--impls", default="interp,jit,native,lua,luajit,python")
    args = parser.parse_args()
    args.impls = args.impls.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    best = {}  # (size, impl) -> {phase: seconds}
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            impls = commands(args, size, tmp)
            checks = {}
            for run in range(args.runs):
                rotated = impls[run % len(impls):] + impls[:run % len(impls)]
                for impl, argv in rotated:
                    print("size %d run %d %s" % (size, run + 1, impl), file=sys.stderr)
                    out = subprocess.run(argv, capture_output=True, text=True)
                    if out.returncode != 0:
                        print("FAILED: %s: %s" % (" ".join(argv), out.stderr), file=sys.stderr)
                        failed = True
                        continue
                    times, check = parse(out.stdout)
                    checks.setdefault(check, []).append(impl)
                    cell = best.setdefault((size, impl), {})
                    for phase, t in times.items():
                        cell[phase] = min(cell.get(phase, t), t)
            if len(checks) > 1:
                print("FAILED: checksums differ at size %d: %s" % (size, checks), file=sys.stderr)
                failed = True
            names = [impl for impl, _ in impls]
            print("\n### %d keys of each kind (seconds, fastest of %d)\n" % (size, args.runs))
            print("| impl | " + " | ".join(PHASES) + " | total |")
            print("|---|" + "---:|" * (len(PHASES) + 1))
            for impl in names:
                cell = best.get((size, impl))
                if not cell:
                    continue
                total = sum(cell.values())
                print("| %s | %s | %.3f |" % (impl, " | ".join("%.3f" % cell[p] for p in PHASES), total))
    impls = [i for i in args.impls if any((s, i) in best for s in sizes)]
    print("\n### ns per operation (all four phases: 4 x N operations)\n")
    print("| impl | " + " | ".join("%d" % s for s in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for impl in impls:
        row = []
        for s in sizes:
            cell = best.get((s, impl))
            row.append("%.1f" % (sum(cell.values()) / (4 * s) * 1e9) if cell else "")
        print("| %s | %s |" % (impl, " | ".join(row)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
