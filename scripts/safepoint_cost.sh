#!/usr/bin/env bash
# What the safepoint polls cost a single-threaded program: builds TinyVM a
# second time with the measurement-only feature `no-safepoint-polls` (into
# target/no-polls), then runs fib(30) and binary_trees.lox from
# ../shared/bench/lox with and without polls, in the interpreter
# (--jit=off) and with --jit=always, and prints for each:
#   - instructions executed (valgrind callgrind; deterministic), and
#   - wall time medians of N interleaved runs (noisy on a shared machine),
# each as a ratio with/without polls.
#
# Usage: scripts/safepoint_cost.sh [RUNS]   (default 9; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-9}"
bench=../shared/bench/lox
command -v valgrind >/dev/null || { echo "safepoint_cost.sh: valgrind not found" >&2; exit 2; }
[ -d "$bench" ] || { echo "safepoint_cost.sh: $bench not found" >&2; exit 2; }

cargo build --release -q
cargo build --release -q --features tinyvm-runtime/no-safepoint-polls --target-dir target/no-polls
with=target/release/tinyvm
without=target/no-polls/release/tinyvm

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed 's/fib(35) == 9227465/fib(30) == 832040/' "$bench/fib.lox" >"$work/fib30.lox"
cp "$bench/binary_trees.lox" "$work/binary_trees.lox"

python3 - "$runs" "$with" "$without" "$work" <<'EOF'
import os, statistics, subprocess, sys, time
runs, with_polls, without, work = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def count(exe, mode, prog):
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          exe, "run", f"--jit={mode}", prog],
                         capture_output=True, text=True).stderr
    return int(next(l for l in out.splitlines() if "Collected" in l).split()[-1])

def wall(argv):
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start

print("| program | mode | instructions with / without | ratio | wall median with / without | ratio |")
print("|---|---|---:|---:|---:|---:|")
for name in ("fib30", "binary_trees"):
    prog = os.path.join(work, name + ".lox")
    for mode in ("off", "always"):
        a, b = count(with_polls, mode, prog), count(without, mode, prog)
        ta, tb = [], []
        for _ in range(runs):
            ta.append(wall([with_polls, "run", f"--jit={mode}", prog]))
            tb.append(wall([without, "run", f"--jit={mode}", prog]))
        ma, mb = statistics.median(ta), statistics.median(tb)
        print(f"| {name} | --jit={mode} | {a:,} / {b:,} | {a / b:.3f} | {ma:.3f} s / {mb:.3f} s | {ma / mb:.3f} |")
EOF
