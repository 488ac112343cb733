#!/usr/bin/env python3
"""Benchmark TinyVM the way the project measures performance.

Every benchmark in BENCH_DIR/lox/*.lox (except zoo_batch.lox, which runs for a
fixed time) is run in every available mode, interleaved: for each round, for
each benchmark, the modes run once each in an order rotated from one round and
benchmark to the next, so that drift on a shared machine spreads evenly over
the modes. The wall time of the whole process (startup included) is measured
here with time.perf_counter; the elapsed seconds the programs print are
ignored. Reported: the median per benchmark and mode, and ratios of medians
taken in the same run.

Modes (columns):
  interp   tinyvm run --jit=off FILE
  jit      tinyvm run FILE                      (default JIT mode)
  native   tinyvm build FILE -o TMP/exe once (not timed), then TMP/exe
  lua      lua5.4 BENCH_DIR/lua/NAME.lua        (benchmarks with a Lua port)
  luajit   luajit BENCH_DIR/lua/NAME.lua        (likewise)
  c        cc -O2 BENCH_DIR/c/NAME.c once, then the executable (fib)
A mode whose tool is missing (or, for native, whose `tinyvm build` fails on
a trivial program) is skipped with a note.

Correctness: every run must exit 0, and its printed result lines must equal
those of the interpreter. Lines that are timings are not compared: the last
line, and the line after a timing label (`loop`, `elapsed`, `elapsed:`,
`equals`, as printed by equality.lox and string_equality.lox). A failure is
reported loudly, that benchmark/mode cell is dropped, and the script exits 1
after printing the rest of the report.

Ratios in the table: `N.NNx` after a time is the speedup over the interpreter
(interp median / mode median; for lua and luajit it is thus also how many
times slower the TinyVM interpreter is than Lua). For benchmarks with a C
port, a second table gives mode median / C median. The last row is the
geometric mean of the speedup over interp across the Lox benchmarks. A
"Best of N" line repeats the headline ratios from each mode's fastest run:
on a shared machine interference only adds time, so when the reported spread
is large the minimum is the steadier estimate (the medians stay the figures
of record).

The `hello` section (--hello; on by default when native mode is available)
builds an example program (default examples/hello.tvm) N times and reports the
median `tinyvm build` wall time, the size of the stripped executable and the
median startup wall time of the executable.

--rss runs each benchmark once more per mode under `/usr/bin/time -f %M` and
reports the peak resident set size in KB.

Progress goes to stderr, the report (Markdown) to stdout.

Examples:
  scripts/bench.py --quick                 smoke test (one round)
  scripts/bench.py --runs 5 --json out.json
  scripts/bench.py --modes interp,jit --benchmarks fib,zoo
  scripts/bench.py --benchmarks none --hello
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(SCRIPT_DIR)

ALL_MODES = ["interp", "jit", "native", "lua", "luajit", "c"]
TINYVM_MODES = ["interp", "jit", "native"]
EXCLUDED_BENCHMARKS = {"zoo_batch"}
# A line right after one of these labels is a timing, not a result.
TIME_LABELS = {"loop", "elapsed", "elapsed:", "equals"}
TRIVIAL_PROGRAM = 'print "ok";\n'


def log(msg=""):
    print(msg, file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def result_lines(stdout):
    """The printed lines that are results (timings masked), for comparison."""
    lines = stdout.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if lines:
        lines.pop()  # the elapsed seconds
    out = []
    for i, line in enumerate(lines):
        if i > 0 and lines[i - 1].strip() in TIME_LABELS:
            out.append("<time>")
        else:
            out.append(line)
    return out


def short(text, limit=400):
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " ..."


def run_timed(argv, timeout, cwd=None):
    """Runs argv once; returns (seconds, returncode, stdout, stderr)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        return None, None, b"", b"timed out after %gs" % timeout
    except OSError as e:
        return None, 127, b"", str(e).encode()
    t1 = time.perf_counter()
    return t1 - t0, p.returncode, p.stdout, p.stderr


def machine_info():
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count()
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = None
    try:
        load = os.getloadavg()
    except OSError:
        pass
    commit = None
    try:
        commit = subprocess.run(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "-C", REPO_ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if commit and dirty:
            commit += " (modified)"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {
        "nproc": cpus,
        "cpu": model,
        "kernel": platform.release(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "loadavg": load,
        "commit": commit,
    }


def tool_version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().split("\n")[0]
    except (OSError, subprocess.TimeoutExpired):
        return None


def stale_warning(tinyvm):
    """Warns when a source file is newer than the tinyvm binary."""
    try:
        bin_mtime = os.stat(tinyvm).st_mtime
    except OSError:
        return None
    newest, newest_path = 0, None
    for sub in ("compiler", "runtime"):
        for root, dirs, files in os.walk(os.path.join(REPO_ROOT, sub)):
            dirs[:] = [d for d in dirs if d != "target"]
            for n in files:
                if n.endswith(".rs") or n == "Cargo.toml":
                    p = os.path.join(root, n)
                    m = os.stat(p).st_mtime
                    if m > newest:
                        newest, newest_path = m, p
    if newest > bin_mtime:
        return f"{os.path.relpath(newest_path, REPO_ROOT)} is newer than {tinyvm}: the binary may be stale"
    return None


def median(xs):
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fmt_time(t):
    if t is None:
        return "—"
    if t >= 10:
        return f"{t:.1f} s"
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 0.01:
        return f"{t:.3f} s"
    return f"{t * 1000:.2f} ms"


def fmt_ratio(r):
    if r is None:
        return "—"
    if r >= 100:
        return f"{r:.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def fmt_size(n):
    if n is None:
        return "—"
    if n < 10 * 1024:
        return f"{n} B"
    return f"{n} B ({n / 1024:.0f} KiB)" if n < 1 << 20 else f"{n} B ({n / (1 << 20):.2f} MiB)"


class Bench:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.notes = []       # skipped modes and other remarks
        self.failures = []    # correctness failures (exit 1)
        self.tinyvm = args.tinyvm

    # ---- setup ----------------------------------------------------------

    def note(self, msg):
        self.notes.append(msg)
        log(f"note: {msg}")

    def fail(self, msg):
        self.failures.append(msg)
        log("")
        log("!" * 72)
        log(f"FAILURE: {msg}")
        log("!" * 72)

    def probe_build(self):
        """True when `tinyvm build` produces a working executable for a trivial program."""
        src = os.path.join(self.tmp, "probe.lox")
        exe = os.path.join(self.tmp, "probe")
        with open(src, "w") as f:
            f.write(TRIVIAL_PROGRAM)
        _, code, out, err = run_timed([self.tinyvm, "build", src, "-o", exe], self.args.timeout)
        if code != 0:
            return False, f"`tinyvm build` exits {code} on a trivial program: {short(err + out, 200) or 'no output'}"
        if not os.access(exe, os.X_OK):
            return False, "`tinyvm build` exits 0 on a trivial program but writes no executable"
        _, code, out, err = run_timed([exe], self.args.timeout)
        if code != 0 or out.strip() != b"ok":
            return False, f"the executable built from a trivial program exits {code} and prints {short(out, 80)!r}"
        return True, None

    def select_modes(self):
        wanted = ALL_MODES if self.args.modes is None else self.args.modes
        for m in wanted:
            if m not in ALL_MODES:
                sys.exit(f"unknown mode {m!r} (modes: {', '.join(ALL_MODES)})")
        modes = []
        self.lua = {"lua": shutil.which(self.args.lua), "luajit": shutil.which(self.args.luajit)}
        self.cc = shutil.which(self.args.cc)
        self.native_ok, why = self.probe_build()
        if not self.native_ok:
            self.native_why = why
        for m in wanted:
            if m == "native" and not self.native_ok:
                self.note(f"native skipped: {why}")
                continue
            if m in ("lua", "luajit") and not self.lua[m]:
                self.note(f"{m} skipped: {getattr(self.args, m)} not found")
                continue
            if m == "c" and not self.cc:
                self.note(f"c skipped: {self.args.cc} not found")
                continue
            modes.append(m)
        return modes

    def find_benchmarks(self):
        lox_dir = os.path.join(self.args.bench_dir, "lox")
        if not os.path.isdir(lox_dir):
            sys.exit(f"no benchmark directory {lox_dir} (use --bench-dir)")
        names = sorted(n[:-4] for n in os.listdir(lox_dir) if n.endswith(".lox"))
        names = [n for n in names if n not in EXCLUDED_BENCHMARKS]
        if self.args.benchmarks is not None:
            for n in self.args.benchmarks:
                if n not in names:
                    sys.exit(f"unknown benchmark {n!r} (benchmarks: {', '.join(names)})")
            names = [n for n in names if n in self.args.benchmarks]
        return names

    def commands(self, name, modes):
        """{mode: argv} for the modes that apply to benchmark `name`; builds what needs building."""
        d = self.args.bench_dir
        lox = os.path.join(d, "lox", name + ".lox")
        lua = os.path.join(d, "lua", name + ".lua")
        csrc = os.path.join(d, "c", name + ".c")
        cmds = {}
        for m in modes:
            if m == "interp":
                cmds[m] = [self.tinyvm, "run", "--jit=off", lox]
            elif m == "jit":
                cmds[m] = [self.tinyvm, "run", lox]
            elif m == "native":
                exe = os.path.join(self.tmp, name + "_native")
                log(f"building {name} (native) ...")
                t, code, out, err = run_timed([self.tinyvm, "build", lox, "-o", exe], self.args.timeout)
                if code != 0 or not os.access(exe, os.X_OK):
                    self.fail(f"{name}: `tinyvm build` failed (exit {code}) although it builds a trivial program:\n"
                              f"{short(err + out)}")
                    continue
                cmds[m] = [exe]
            elif m in ("lua", "luajit"):
                if os.path.exists(lua):
                    cmds[m] = [self.lua[m], lua]
            elif m == "c":
                if os.path.exists(csrc):
                    exe = os.path.join(self.tmp, name + "_c")
                    cflags = shlex.split(self.args.cflags)
                    _, code, out, err = run_timed([self.cc, *cflags, csrc, "-o", exe], self.args.timeout)
                    if code != 0:
                        self.note(f"c skipped for {name}: {self.args.cc} failed: {short(err + out, 200)}")
                        continue
                    cmds[m] = [exe]
        return cmds

    # ---- measurement ----------------------------------------------------

    def reference(self, name, cmds):
        """The interpreter's result lines (an untimed run when interp is not measured)."""
        argv = [self.tinyvm, "run", "--jit=off", os.path.join(self.args.bench_dir, "lox", name + ".lox")]
        log(f"reference run of {name} (interp, untimed) ...")
        _, code, out, err = run_timed(argv, self.args.timeout)
        if code != 0:
            self.fail(f"{name}: reference interpreter run exited {code}:\n{short(err)}")
            return None
        return result_lines(out)

    def check(self, name, mode, code, out, err, ref):
        """None if the run is good, else the failure message."""
        if code is None:
            return f"{name} [{mode}]: {short(err)}"
        if code != 0:
            return f"{name} [{mode}]: exit status {code}\nstderr: {short(err) or '(empty)'}"
        if ref is not None:
            got = result_lines(out)
            if got != ref:
                return (f"{name} [{mode}]: result differs from the interpreter's\n"
                        f"  interp: {ref}\n  {mode}: {got}")
        return None

    def measure(self, names, modes):
        runs = self.args.runs
        self.cmds = {}
        for name in names:
            self.cmds[name] = self.commands(name, modes)
        self.times = {n: {m: [] for m in self.cmds[n]} for n in names}
        self.bad = {n: set() for n in names}  # cells dropped after a failure
        refs = {}
        for name in names:
            if "interp" not in self.cmds[name]:
                refs[name] = self.reference(name, self.cmds[name])
        total = runs * sum(len(c) for c in self.cmds.values())
        done = 0
        start = time.perf_counter()
        for r in range(runs):
            for bi, name in enumerate(names):
                order = [m for m in modes if m in self.cmds[name]]
                if not order:
                    continue
                k = (r + bi) % len(order)
                order = order[k:] + order[:k]
                batch = {}
                for m in order:
                    done += 1
                    if m in self.bad[name]:
                        continue
                    t, code, out, err = run_timed(self.cmds[name][m], self.args.timeout)
                    batch[m] = (t, code, out, err)
                    log(f"[{done}/{total}, round {r + 1}/{runs}] {name:16} {m:7} "
                        + (fmt_time(t) if t is not None else "-") + ("" if code == 0 else f"  exit {code}"))
                if name not in refs and "interp" in batch:
                    t, code, out, err = batch["interp"]
                    if code == 0:
                        refs[name] = result_lines(out)
                ref = refs.get(name)
                for m, (t, code, out, err) in batch.items():
                    problem = self.check(name, m, code, out, err, ref)
                    if problem:
                        self.fail(problem)
                        self.bad[name].add(m)
                    else:
                        self.times[name][m].append(t)
        log(f"measured in {time.perf_counter() - start:.0f} s")
        for name in names:
            for m in self.bad[name]:
                self.times[name][m] = []

    def measure_rss(self, names, modes):
        gnu_time = self.args.time_cmd
        if not os.access(gnu_time, os.X_OK):
            self.note(f"--rss skipped: {gnu_time} not found")
            return None
        rss = {}
        out_file = os.path.join(self.tmp, "rss.txt")
        for name in names:
            rss[name] = {}
            for m in modes:
                if m not in self.cmds[name] or m in self.bad[name]:
                    continue
                argv = [gnu_time, "-f", "%M", "-o", out_file, *self.cmds[name][m]]
                _, code, _, err = run_timed(argv, self.args.timeout)
                kb = None
                try:
                    with open(out_file) as f:
                        kb = int(f.read().strip().split("\n")[-1])
                except (OSError, ValueError):
                    pass
                if code != 0 or kb is None:
                    self.fail(f"{name} [{m}] under {gnu_time}: exit {code}: {short(err)}")
                    continue
                rss[name][m] = kb
                log(f"rss {name:16} {m:7} {kb} KB")
        return rss

    def measure_hello(self):
        src = self.args.hello_src
        res = {"source": src}
        if not os.path.exists(src):
            res["skipped"] = f"{src} does not exist"
            return res
        if not self.native_ok:
            res["skipped"] = self.native_why
            return res
        exe = os.path.join(self.tmp, "hello")
        builds = []
        for i in range(self.args.runs):
            if os.path.exists(exe):
                os.unlink(exe)
            t, code, out, err = run_timed([self.tinyvm, "build", src, "-o", exe], self.args.timeout)
            if code != 0 or not os.access(exe, os.X_OK):
                res["skipped"] = f"`tinyvm build {src}` exited {code}: {short(err + out, 200)}"
                return res
            builds.append(t)
            log(f"hello build {i + 1}/{self.args.runs}: {fmt_time(t)}")
        res["build_times"] = builds
        res["build_median"] = median(builds)
        res["size"] = os.stat(exe).st_size
        stripped = os.path.join(self.tmp, "hello_stripped")
        shutil.copy2(exe, stripped)
        strip = shutil.which(self.args.strip)
        if strip:
            p = subprocess.run([strip, stripped], capture_output=True)
            if p.returncode == 0:
                res["stripped_size"] = os.stat(stripped).st_size
            else:
                self.note(f"hello: strip failed: {short(p.stderr, 200)}")
        else:
            self.note(f"hello: {self.args.strip} not found, no stripped size")
        baseline = self.c_hello_baseline()
        starts, c_starts = [], []
        for i in range(self.args.startup_runs):
            t, code, out, err = run_timed([exe], self.args.timeout)
            if code != 0:
                self.fail(f"hello executable exited {code}: {short(err)}")
                break
            starts.append(t)
            if baseline:
                c_starts.append(run_timed([baseline], self.args.timeout)[0])
        res["startup_times"] = starts
        res["startup_median"] = median(starts)
        if c_starts:
            res["c_startup_median"] = median(c_starts)
        log(f"hello: startup median {fmt_time(res['startup_median'])}")
        return res

    def c_hello_baseline(self):
        """A C hello world built with cc -O2, timed interleaved with the
        TinyVM one: what process creation costs through this harness."""
        if not self.cc:
            return None
        src = os.path.join(self.tmp, "hello_c.c")
        exe = os.path.join(self.tmp, "hello_c")
        with open(src, "w") as f:
            f.write('#include <stdio.h>\nint main(void) { puts("Hello, world!"); return 0; }\n')
        _, code, out, err = run_timed([self.cc, "-O2", src, "-o", exe], self.args.timeout)
        if code != 0:
            self.note(f"hello: no C baseline, {self.args.cc} failed: {short(err + out, 200)}")
            return None
        return exe

    # ---- report ---------------------------------------------------------

    def report_best_of(self, names, modes, p):
        """The headline ratios again from each mode's fastest run: on a
        shared machine interference only ever adds time, so the minimum is
        the steadier estimate when the spread above is large."""
        best = {n: {m: min(ts) for m, ts in self.times[n].items() if ts} for n in names}
        parts = []
        for m in ("jit", "native"):
            if m in modes and "interp" in modes:
                g = geomean([best[n]["interp"] / best[n][m] for n in names
                             if best[n].get("interp") and best[n].get(m)])
                if g:
                    parts.append(f"{m} {fmt_ratio(g)} over interp (geomean)")
        for n in names:
            c = best[n].get("c")
            if c:
                parts += [f"{n} {m} {fmt_ratio(best[n][m] / c)} of C"
                          for m in ("jit", "native") if best[n].get(m)]
        if parts:
            p(f"Best of {self.args.runs} runs: " + "; ".join(parts) + ".")
            p()

    def report(self, info, names, modes, rss, hello):
        p = print
        p("# TinyVM benchmarks")
        p()
        p(f"- date: {info['date']}")
        p(f"- machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}"
          + (f", load average {info['loadavg'][0]:.2f}" if info.get("loadavg") else ""))
        if info.get("commit"):
            p(f"- commit: {info['commit']}")
        p(f"- tinyvm: {self.tinyvm}")
        for m in ("lua", "luajit"):
            if m in modes and info.get(m + "_version"):
                p(f"- {m}: {info[m + '_version']}")
        if "c" in modes:
            p(f"- c: {self.args.cc} {self.args.cflags}")
        p(f"- {self.args.runs} interleaved round(s); wall time of the whole process, median")
        p()
        med = {n: {m: median(self.times[n].get(m, [])) for m in modes} for n in names}
        if names:
            head = ["benchmark"] + modes
            p("| " + " | ".join(head) + " |")
            p("|" + "|".join(["---"] + ["---:"] * len(modes)) + "|")
            for n in names:
                base = med[n].get("interp")
                cells = [n]
                for m in modes:
                    t = med[n].get(m)
                    if m not in self.cmds[n]:
                        cells.append("")
                    elif t is None:
                        cells.append("FAIL")
                    elif m != "interp" and base:
                        cells.append(f"{fmt_time(t)} ({fmt_ratio(base / t)})")
                    else:
                        cells.append(fmt_time(t))
                p("| " + " | ".join(cells) + " |")
            if "interp" in modes and any(m in modes for m in ("jit", "native")):
                cells = ["geomean speedup over interp"]
                for m in modes:
                    if m in ("jit", "native"):
                        g = geomean([med[n]["interp"] / med[n][m] for n in names
                                     if med[n].get("interp") and med[n].get(m)])
                        cells.append(f"**{fmt_ratio(g)}**" if g else "—")
                    else:
                        cells.append("")
                p("| " + " | ".join(cells) + " |")
            p()
            if "interp" in modes:
                p("(N×) = interp median / mode median: the speedup over the TinyVM interpreter "
                  "(for lua/luajit, how many times slower the interpreter is than Lua).")
                p()
            # Ratios against C.
            c_names = [n for n in names if med[n].get("c")]
            vs = [m for m in ("interp", "jit", "native") if m in modes]
            if c_names and vs:
                p("| vs C (mode median / c median) | " + " | ".join(vs) + " |")
                p("|---|" + "|".join(["---:"] * len(vs)) + "|")
                for n in c_names:
                    cells = [n]
                    for m in vs:
                        t = med[n].get(m)
                        cells.append(fmt_ratio(t / med[n]["c"]) if t else "—")
                    p("| " + " | ".join(cells) + " |")
                p()
            # Noise indicator.
            worst = None
            for n in names:
                for m, ts in self.times[n].items():
                    if len(ts) >= 2:
                        s = (max(ts) - min(ts)) / statistics.median(ts)
                        if worst is None or s > worst[0]:
                            worst = (s, n, m)
            if worst:
                p(f"Largest spread (max-min)/median: {worst[0] * 100:.1f}% ({worst[1]}, {worst[2]}).")
                p()
            self.report_best_of(names, modes, p)
        if rss is not None:
            p("Peak RSS (KB, one run under /usr/bin/time -f %M):")
            p()
            p("| benchmark | " + " | ".join(modes) + " |")
            p("|---|" + "|".join(["---:"] * len(modes)) + "|")
            for n in names:
                p("| " + " | ".join([n] + [str(rss.get(n, {}).get(m, "")) for m in modes]) + " |")
            p()
        if hello is not None:
            src = hello["source"]
            if src.startswith(REPO_ROOT + os.sep):
                src = os.path.relpath(src, REPO_ROOT)
            p(f"Hello ({src}):")
            p()
            if "skipped" in hello:
                p(f"- skipped: {hello['skipped']}")
            else:
                p(f"- `tinyvm build`: {fmt_time(hello['build_median'])} (median of {len(hello['build_times'])})")
                p(f"- executable: {fmt_size(hello['size'])}, stripped: {fmt_size(hello.get('stripped_size'))}")
                line = f"- startup: {fmt_time(hello['startup_median'])} (median of {len(hello['startup_times'])} runs"
                if "c_startup_median" in hello:
                    line += f"; a C hello world built with cc -O2, same harness: {fmt_time(hello['c_startup_median'])}"
                p(line + ")")
            p()
        if self.notes:
            p("Notes:")
            for n in self.notes:
                p(f"- {n}")
            p()
        if self.failures:
            p(f"**{len(self.failures)} FAILURE(S)**:")
            for f in self.failures:
                p("- " + f.replace("\n", "\n  "))
            p()
        return med


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--quick", action="store_true", help="one round (smoke test); same as --runs 1")
    ap.add_argument("--modes", help="comma-separated subset of: " + ",".join(ALL_MODES))
    ap.add_argument("--benchmarks", help="comma-separated subset of benchmark names ('none' for no benchmarks)")
    ap.add_argument("--bench-dir", default=os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "bench")),
                    help="directory with lox/, lua/ and c/ (default: ../shared/bench from the repo root)")
    ap.add_argument("--tinyvm", default=os.path.join(REPO_ROOT, "target", "release", "tinyvm"),
                    help="the tinyvm binary (default: target/release/tinyvm in the repo root)")
    ap.add_argument("--lua", default="lua5.4", help="Lua interpreter (default lua5.4)")
    ap.add_argument("--luajit", default="luajit", help="LuaJIT (default luajit)")
    ap.add_argument("--cc", default="cc", help="C compiler for the c mode (default cc)")
    ap.add_argument("--cflags", default="-O2", help="C compiler flags (default -O2)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    ap.add_argument("--json", metavar="OUT", help="write raw timings and medians to OUT")
    ap.add_argument("--rss", action="store_true", help="also measure peak RSS (one run per benchmark and mode)")
    ap.add_argument("--time-cmd", default="/usr/bin/time", help="GNU time for --rss (default /usr/bin/time)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--hello", action="store_true", default=None,
                   help="include the hello section (default: when native mode is available)")
    g.add_argument("--no-hello", dest="hello", action="store_false", help="leave out the hello section")
    ap.add_argument("--hello-src", default=os.path.join(REPO_ROOT, "examples", "hello.tvm"),
                    help="program for the hello section (default examples/hello.tvm)")
    ap.add_argument("--startup-runs", type=int, default=100, help="runs of the hello executable, each followed by a C hello world (default 100)")
    ap.add_argument("--strip", default="strip", help="strip program (default strip)")
    args = ap.parse_args()
    if args.quick:
        args.runs = 1
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.modes is not None:
        args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.benchmarks is not None:
        args.benchmarks = [] if args.benchmarks.strip() == "none" else \
            [b.strip().removesuffix(".lox") for b in args.benchmarks.split(",") if b.strip()]
    args.tinyvm = os.path.abspath(args.tinyvm)
    args.bench_dir = os.path.abspath(args.bench_dir)
    args.hello_src = os.path.abspath(args.hello_src)
    return args


def main():
    args = parse_args()
    if not os.access(args.tinyvm, os.X_OK):
        sys.exit(f"tinyvm not found at {args.tinyvm} (build it with `cargo build --release` or use --tinyvm)")
    info = machine_info()
    log(f"{info['date']}: {info['nproc']} CPUs, {info['cpu']}")
    with tempfile.TemporaryDirectory(prefix="tinyvm-bench-") as tmp:
        b = Bench(args, tmp)
        w = stale_warning(args.tinyvm)
        if w:
            b.note(w)
        modes = b.select_modes()
        for m in ("lua", "luajit"):
            if m in modes:
                info[m + "_version"] = tool_version([b.lua[m], "-v"])
        names = b.find_benchmarks()
        b.measure(names, modes)
        rss = b.measure_rss(names, modes) if args.rss else None
        want_hello = args.hello if args.hello is not None else b.native_ok
        hello = b.measure_hello() if want_hello else None
        med = b.report(info, names, modes, rss, hello)
        if args.json:
            data = {
                "machine": info,
                "runs": args.runs,
                "modes": modes,
                "commands": {n: {m: " ".join(shlex.quote(a) for a in c) for m, c in b.cmds[n].items()}
                             for n in names},
                "times": b.times,
                "medians": med,
                "rss_kb": rss,
                "hello": hello,
                "notes": b.notes,
                "failures": b.failures,
            }
            with open(args.json, "w") as f:
                json.dump(data, f, indent=2)
            log(f"wrote {args.json}")
        if b.failures:
            log(f"{len(b.failures)} failure(s), see the report")
            sys.exit(1)


if __name__ == "__main__":
    main()
