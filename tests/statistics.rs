//! Run-time statistics (DESIGN.md section 2): `TINYVM_STATS=1` prints a
//! block to stderr at exit (instructions or calls executed, GC cycles,
//! bytes allocated and freed, longest GC pause, JIT compilations, threads),
//! and SIGUSR1 prints the same block while the program runs. Also
//! `TINYVM_FUEL`, the step budget that ends a program at the same point in
//! every tier.

mod common;

use common::*;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BLOCK_START: &str = "-- tinyvm statistics --";

/// One statistics block: label -> value text.
type Block = HashMap<String, String>;

/// Every statistics block in `stderr`, in order.
fn blocks(stderr: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for line in stderr.lines() {
        if line == BLOCK_START {
            if let Some(b) = current.take() {
                out.push(b);
            }
            current = Some(Block::new());
            continue;
        }
        let Some(block) = current.as_mut() else { continue };
        // "label<two or more spaces>value"
        match line.find("  ") {
            Some(i) if !line.starts_with(' ') => {
                block.insert(line[..i].trim().to_string(), line[i..].trim().to_string());
            }
            _ => {
                out.push(current.take().unwrap());
            }
        }
    }
    if let Some(b) = current {
        out.push(b);
    }
    out
}

fn count(block: &Block, label: &str) -> u64 {
    let text = block.get(label).unwrap_or_else(|| panic!("no {label:?} in {block:?}"));
    text.parse().unwrap_or_else(|_| panic!("{label}: {text:?} is not a count"))
}

/// A duration like `0.474 ms`, in milliseconds.
fn millis(block: &Block, label: &str) -> f64 {
    let text = block.get(label).unwrap_or_else(|| panic!("no {label:?} in {block:?}"));
    let number = text.strip_suffix(" ms").unwrap_or_else(|| panic!("{label}: {text:?} is not in ms"));
    number.parse().unwrap_or_else(|_| panic!("{label}: {text:?}"))
}

/// Instructions executed, whichever of the two labels the block uses.
fn instructions(block: &Block) -> u64 {
    ["instructions interpreted", "instructions"]
        .iter()
        .find(|l| block.contains_key(**l))
        .map(|l| count(block, l))
        .unwrap_or_else(|| panic!("no instruction count in {block:?}"))
}

fn run_program(source: &str, stats: Option<&str>, extra: &[&str]) -> Outcome {
    let dir = scratch();
    let path = dir.path().join("prog.tvm");
    std::fs::write(&path, source).unwrap();
    let mut cmd = tinyvm_cmd(&["run"]);
    cmd.args(extra).arg(&path);
    if let Some(v) = stats {
        cmd.env("TINYVM_STATS", v);
    }
    run_with(cmd, b"", Duration::from_secs(60))
}

/// The one block of a run, and the stderr before it.
fn the_block(out: &Outcome) -> (Block, String) {
    let b = blocks(&out.stderr);
    assert_eq!(b.len(), 1, "expected one statistics block in {:?}", out.stderr);
    let before = out.stderr[..out.stderr.find(BLOCK_START).unwrap()].to_string();
    (b.into_iter().next().unwrap(), before)
}

/// fib(15) makes exactly 1973 calls of fib (2 * fib(16) - 1).
const FIB: &str = "\
fun fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }
print fib(15);
";

#[test]
fn the_block_lists_every_statistic() {
    let out = run_program(FIB, Some("1"), &[]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "610\n"));
    let (block, before) = the_block(&out);
    assert_eq!(before, "", "statistics only, on stderr");
    for label in
        ["calls", "threads", "gc cycles", "bytes allocated", "bytes freed", "longest gc pause", "jit compilations"]
    {
        assert!(block.contains_key(label), "no {label:?} in {block:?}");
    }
    assert!(instructions(&block) > 0);
    assert_eq!(count(&block, "threads"), 1);
    count(&block, "jit compilations");
    // Counters are consistent with each other.
    let allocated = count(&block, "bytes allocated");
    assert!(allocated > 0);
    assert!(count(&block, "bytes freed") <= allocated);
    if count(&block, "gc cycles") == 0 {
        assert_eq!(count(&block, "bytes freed"), 0);
        assert_eq!(millis(&block, "longest gc pause"), 0.0);
    }
}

#[test]
fn calls_and_instructions_are_counted() {
    for jit in ["--jit=off", "--jit=auto"] {
        let out = run_program(FIB, Some("1"), &[jit]);
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), "610\n"), "{jit}");
        let (block, _) = the_block(&out);
        let calls = count(&block, "calls");
        // 1973 calls of fib, and perhaps the script itself.
        assert!((1973..=1974).contains(&calls), "{jit}: calls {calls}");
        if jit == "--jit=off" {
            // Every call runs at least GET_LOCAL, CONSTANT, LESS,
            // JUMP_IF_FALSE, POP, GET_LOCAL / ..., RETURN.
            let n = instructions(&block);
            assert!((7 * 1973..60 * 1973).contains(&n), "{jit}: instructions {n}");
        }
    }
}

#[test]
fn a_loop_of_calls_is_counted() {
    let source = "\
fun inc(x) { return x + 1; }
var n = 0;
for (var i = 0; i < 5000; i = i + 1) n = inc(n);
print n;
";
    let out = run_program(source, Some("1"), &["--jit=off"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "5000\n"));
    let (block, _) = the_block(&out);
    let calls = count(&block, "calls");
    assert!((5000..=5001).contains(&calls), "calls {calls}");
    // The loop alone runs more than 10 instructions per iteration.
    let n = instructions(&block);
    assert!(n >= 50_000, "instructions {n}");
}

#[test]
fn calls_of_trivial_methods_are_counted_in_every_mode() {
    // Compiled code produces the result of a method that only returns a
    // field without calling it (vm/trivial_method.rs); it still counts the call.
    let source = "\
class P { init() { this.x = 1; } getX() { return this.x; } }
var p = P();
var n = 0;
for (var i = 0; i < 5000; i = i + 1) n = n + p.getX();
print n;
";
    for jit in ["--jit=off", "--jit=always"] {
        let out = run_program(source, Some("1"), &[jit]);
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), "5000\n"), "{jit}");
        let (block, _) = the_block(&out);
        let calls = count(&block, "calls");
        // 5000 calls of getX, one of init, and perhaps the script itself.
        assert!((5001..=5002).contains(&calls), "{jit}: calls {calls}");
    }
}

#[test]
fn inlined_bitwise_natives_count_as_calls_in_every_mode() {
    // Compiled code computes `bor` in place (codegen/lower/intrinsic.rs);
    // it counts the call, as the interpreter's call of the native does.
    let source = "\
var h = 0;
for (var i = 0; i < 5000; i = i + 1) h = bor(h, i);
print h;
";
    for jit in ["--jit=off", "--jit=always", "--jit=auto"] {
        let out = run_program(source, Some("1"), &[jit]);
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), "8191\n"), "{jit}");
        let (block, _) = the_block(&out);
        let calls = count(&block, "calls");
        // 5000 calls of bor, and perhaps the script itself.
        assert!((5000..=5001).contains(&calls), "{jit}: calls {calls}");
    }
}

#[test]
fn statistics_are_counted_when_the_program_calls_exit() {
    let source = "\
fun f() { return 1; }
for (var i = 0; i < 100; i = i + 1) f();
print \"bye\";
exit(3);
";
    let out = run_program(source, Some("1"), &["--jit=off"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(3), "bye\n"));
    let (block, _) = the_block(&out);
    let calls = count(&block, "calls");
    assert!((101..=102).contains(&calls), "calls {calls}");
    // 100 iterations of about ten instructions each ran before exit().
    let n = instructions(&block);
    assert!(n >= 1000, "instructions {n} in {block:?}");
}

#[test]
fn statistics_follow_a_runtime_error() {
    let source = "fun f(x) { return x + 1; }\nprint f(1);\nprint f(nil);\n";
    let out = run_program(source, Some("1"), &["--error-format=short"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(70), "2\n"));
    let (block, before) = the_block(&out);
    assert_eq!(before, "Operands must be two numbers or two strings.\n[line 1] in f()\n[line 3] in script\n");
    assert!(count(&block, "calls") >= 2);
}

#[test]
fn a_program_that_allocates_20_megabytes_collects_garbage() {
    // 300000 arrays of 8 elements: at least 300000 * 8 * 8 bytes of
    // elements, nearly all garbage at once.
    let source = "\
var kept = 0;
for (var i = 0; i < 300000; i = i + 1) {
  var a = [i, i, i, i, i, i, i, i];
  kept = kept + len(a);
}
print kept;
";
    let out = run_program(source, Some("1"), &[]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "2400000\n"));
    let (block, _) = the_block(&out);
    let allocated = count(&block, "bytes allocated");
    let freed = count(&block, "bytes freed");
    assert!(allocated >= 300_000 * 64, "allocated {allocated}");
    assert!(allocated < 2_000_000_000, "allocated {allocated}");
    assert!(count(&block, "gc cycles") >= 1, "{block:?}");
    assert!(freed > 0 && freed <= allocated, "freed {freed} of {allocated}");
    // The live data is tiny: most of what was allocated was freed.
    assert!(freed >= allocated / 2, "freed {freed} of {allocated}");
    let longest = millis(&block, "longest gc pause");
    assert!(longest > 0.0 && longest < 10_000.0, "longest pause {longest} ms");
    if block.contains_key("total gc pause") {
        assert!(millis(&block, "total gc pause") >= longest);
    }
}

#[test]
fn threads_are_counted() {
    let source = "\
fun work(n) { return n * 2; }
var a = spawn work(1);
var b = spawn work(2);
print join(a) + join(b);
";
    let out = run_program(source, Some("1"), &[]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "6\n"));
    let (block, _) = the_block(&out);
    assert_eq!(count(&block, "threads"), 3, "{block:?}");
    // The calls of both threads are included.
    assert!(count(&block, "calls") >= 2, "{block:?}");
}

#[test]
fn no_statistics_without_the_variable() {
    for value in [None, Some("0"), Some("")] {
        let out = run_program(FIB, value, &[]);
        assert_eq!(
            out,
            Outcome { stdout: "610\n".into(), stderr: String::new(), status: Some(0) },
            "TINYVM_STATS={value:?}"
        );
    }
}

/// Runs `tinyvm run FILE`, sending SIGUSR1 at the given times.
fn run_with_signals(path: &Path, at: &[Duration]) -> (Option<i32>, String, String) {
    let mut child = Command::new(tinyvm())
        .arg("run")
        .arg(path)
        .env_remove("TINYVM_STATS")
        .env_remove("TINYVM_GC_STRESS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    for &t in at {
        std::thread::sleep(t.saturating_sub(start.elapsed()));
        // A failure (the process already ended) shows in the checks below.
        let _ = Command::new("kill").arg("-USR1").arg(child.id().to_string()).status().expect("kill");
    }
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    use std::os::unix::process::ExitStatusExt;
    let stderr = stderr.join().unwrap();
    let stdout = stdout.join().unwrap();
    let code = status.code();
    assert!(status.signal().is_none(), "killed by signal {:?}; stderr {stderr:?}", status.signal());
    (code, stdout, stderr)
}

#[test]
fn sigusr1_prints_statistics_while_the_program_runs() {
    let dir = scratch();
    let path = dir.path().join("busy.tvm");
    // Busy for about 2.5 s, then prints how it ended.
    std::fs::write(
        &path,
        "\
fun step(n) { return n + 1; }
var start = clock();
var n = 0;
while (clock() - start < 2.5) n = step(n);
print n > 1000;
print \"done\";
",
    )
    .unwrap();
    let (status, stdout, stderr) = run_with_signals(&path, &[Duration::from_millis(800), Duration::from_millis(1600)]);
    assert_eq!((status, stdout.as_str()), (Some(0), "true\ndone\n"), "stderr {stderr:?}");
    let found = blocks(&stderr);
    assert_eq!(found.len(), 2, "two blocks expected in {stderr:?}");
    // Nothing else on stderr.
    assert!(stderr.starts_with(BLOCK_START), "{stderr:?}");
    // The program keeps running between the two signals.
    let calls: Vec<u64> = found.iter().map(|b| count(b, "calls")).collect();
    assert!(calls[0] > 0 && calls[1] > calls[0], "calls {calls:?}");
}

#[test]
fn sigusr1_reaches_a_program_that_blocks_from_the_start() {
    // The watcher thread starts 5 ms into the run or when a thread first
    // blocks (stats.rs): a program asleep from its first statement on
    // still answers.
    let dir = scratch();
    let path = dir.path().join("sleepy.tvm");
    std::fs::write(&path, "sleep(1500);\nprint \"woke\";\n").unwrap();
    let (status, stdout, stderr) = run_with_signals(&path, &[Duration::from_millis(700)]);
    assert_eq!((status, stdout.as_str()), (Some(0), "woke\n"), "stderr {stderr:?}");
    assert_eq!(blocks(&stderr).len(), 1, "one block expected in {stderr:?}");
    assert!(stderr.starts_with(BLOCK_START), "{stderr:?}");
}

// ---------------------------------------------------------------- fuel

/// `TINYVM_FUEL=N`: the program ends at its N+1st safepoint poll with
/// `error: fuel exhausted` and exit 75.
const FUEL_EXIT: i32 = 75;

/// Runs `exe ARGS` with `TINYVM_FUEL=fuel`.
fn with_fuel(program: &Path, args: &[&str], fuel: u64) -> Outcome {
    let mut cmd = Command::new(program);
    cmd.args(args).env("TINYVM_FUEL", fuel.to_string()).env_remove("TINYVM_STATS").env_remove("TINYVM_GC_STRESS");
    run_with(cmd, b"", Duration::from_secs(60))
}

/// The program, and a native executable built from it, in `dir`.
fn program_and_executable(dir: &Path, source: &str) -> (String, std::path::PathBuf) {
    let src = dir.join("prog.tvm");
    std::fs::write(&src, source).unwrap();
    let exe = dir.join("prog");
    let built = run_tinyvm(&["build", src.to_str().unwrap(), "-o", exe.to_str().unwrap()]);
    assert_eq!(built.status, Some(0), "{built:?}");
    (src.to_string_lossy().into_owned(), exe)
}

#[test]
fn fuel_stops_an_infinite_loop_at_the_same_point_in_every_tier() {
    let dir = scratch();
    let (src, exe) = program_and_executable(dir.path(), "var i = 0;\nwhile (true) { print i; i = i + 1; }\n");
    for fuel in [0, 1, 1000] {
        // One poll per iteration (the back-edge): `fuel` iterations print.
        let expected: String = (0..=fuel).map(|i| format!("{i}\n")).collect();
        let runs = [
            ("--jit=off", with_fuel(&tinyvm(), &["run", "--jit=off", &src], fuel)),
            ("--jit=always", with_fuel(&tinyvm(), &["run", "--jit=always", &src], fuel)),
            ("executable", with_fuel(&exe, &[], fuel)),
        ];
        for (what, out) in &runs {
            assert_eq!(out.status, Some(FUEL_EXIT), "{what}, fuel {fuel}: {out:?}");
            assert_eq!(out.stderr, "error: fuel exhausted\n", "{what}, fuel {fuel}");
            assert_eq!(out.stdout, expected, "{what}, fuel {fuel}");
        }
    }
}

/// Loops, calls of functions, closures, methods (`INVOKE`), initializers
/// and `super` calls (`SUPER_INVOKE`), printing as it goes.
const POLLING: &str = "\
class A { init(n) { this.n = n; } f() { return this.n + 1; } }
class B < A { f() { return super.f() * 2; } }
fun fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }
fun counter() { var c = 0; fun next() { c = c + 1; return c; } return next; }
var next = counter();
var b = B(3);
for (var i = 0; i < 60; i = i + 1) {
  print b.f() + i;
  print fib(i % 10);
  print A(i).f() + next();
}
print \"done\";
";

#[test]
fn fuel_runs_out_at_the_same_output_in_every_tier() {
    let dir = scratch();
    let (src, exe) = program_and_executable(dir.path(), POLLING);
    let full = with_fuel(&tinyvm(), &["run", "--jit=off", &src], u64::MAX);
    assert_eq!(full.status, Some(0), "{full:?}");
    let mut shorter = 0;
    // The whole run takes 2078 polls.
    for fuel in [0, 1, 2, 3, 7, 50, 333, 1000, 1500, 2077, 2078, 100_000] {
        let off = with_fuel(&tinyvm(), &["run", "--jit=off", &src], fuel);
        let always = with_fuel(&tinyvm(), &["run", "--jit=always", &src], fuel);
        let auto = with_fuel(&tinyvm(), &["run", "--jit=auto", &src], fuel);
        let native = with_fuel(&exe, &[], fuel);
        assert_eq!(off, always, "fuel {fuel}: interpreter and --jit=always");
        assert_eq!(off, auto, "fuel {fuel}: interpreter and --jit=auto");
        assert_eq!(off, native, "fuel {fuel}: interpreter and the executable");
        if off.status == Some(FUEL_EXIT) {
            assert_eq!(off.stderr, "error: fuel exhausted\n");
            assert!(full.stdout.starts_with(&off.stdout) && off.stdout.len() < full.stdout.len());
            shorter += 1;
        } else {
            assert_eq!(off, full, "fuel {fuel}");
        }
    }
    assert_eq!(shorter, 10, "the fuel should end all runs but the last two early");
}

#[test]
fn no_fuel_limit_without_the_variable() {
    // A loop of many polls runs to the end when TINYVM_FUEL is unset.
    let source = "var n = 0;\nfor (var i = 0; i < 100000; i = i + 1) n = n + 1;\nprint n;\n";
    let out = run_program(source, None, &[]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "100000\n"), "{out:?}");
}
