//! Running out of memory is the runtime error `Out of memory.` (exit 70,
//! with the trace, earlier output kept), in the interpreter, the JIT and
//! built executables alike: past the heap limit that `TINYVM_HEAP_MAX`
//! sets, and when the system itself refuses memory (`ulimit -v`).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Pushes an array into itself forever.
const ARRAY_GROWTH: &str = "\
print \"one\";
print \"two\";
var a = [];
while (true) {
  push(a, a);
}
";
const ARRAY_GROWTH_STDOUT: &str = "one\ntwo\n";
const ARRAY_GROWTH_STDERR: &str = "Out of memory.\n[line 5] in script\n";

/// Doubles a string forever, in a function.
const STRING_GROWTH: &str = "\
fun grow(s) {
  while (true) {
    s = s + s;
  }
}
print \"start\";
grow(\"ab\");
";
const STRING_GROWTH_STDERR: &str = "Out of memory.\n[line 3] in grow()\n[line 7] in script\n";

/// Allocates instances forever and keeps them all in an array.
const INSTANCES: &str = "\
class Node {
  init(next) {
    this.next = next;
    this.value = 1;
  }
}
print \"allocating\";
var nodes = [];
var last = nil;
while (true) {
  last = Node(last);
  push(nodes, last);
}
";
const INSTANCES_STDERR: &str = "Out of memory.\n[line 11] in script\n";

/// Builds array literals forever, each holding the previous one.
const ARRAY_LITERALS: &str = "\
print \"literals\";
var last = nil;
while (true) {
  last = [last, 1, 2, 3];
}
";
const ARRAY_LITERALS_STDERR: &str = "Out of memory.\n[line 4] in script\n";

/// Inserts keys into a map forever (its buffer doubles as it fills).
const MAP_GROWTH: &str = "\
print \"map\";
var m = Map();
var i = 0;
while (true) {
  m[i] = i;
  i = i + 1;
}
";
const MAP_GROWTH_STDERR: &str = "Out of memory.\n[line 5] in script\n";

/// The ways a program runs: the interpreter, the JIT compiling everything
/// first, the default tiered JIT, and a built executable.
const MODES: [&str; 4] = ["--jit=off", "--jit=always", "--jit=auto", "native"];

fn write(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).expect("write program");
    path
}

/// Builds `src` into an executable next to it.
fn build(src: &Path) -> PathBuf {
    let exe = src.with_extension("");
    let mut cmd = tinyvm_cmd(&["build", "--error-format=short"]);
    cmd.arg(src).arg("-o").arg(&exe);
    let built = run_with(cmd, b"", Duration::from_secs(120));
    assert_eq!(built.status, Some(0), "build failed: {}", built.stderr);
    exe
}

/// The command that runs `src` in `mode` (building it for "native").
fn command(src: &Path, mode: &str) -> Command {
    let mut cmd = if mode == "native" {
        Command::new(build(src))
    } else {
        let mut cmd = tinyvm_cmd(&["run", "--error-format=short", mode]);
        cmd.arg(src);
        cmd
    };
    cmd.env_remove("TINYVM_GC_STRESS").env_remove("TINYVM_STATS").env_remove("TINYVM_HEAP_MAX");
    cmd
}

fn run(cmd: Command) -> Outcome {
    run_with(cmd, b"", Duration::from_secs(120))
}

fn expected(stdout: &str, stderr: &str, status: i32) -> Outcome {
    Outcome { stdout: stdout.into(), stderr: stderr.into(), status: Some(status) }
}

/// Runs `source` in every mode with `env` and checks the outcome.
fn check_every_mode(name: &str, source: &str, env: &[(&str, &str)], want: &Outcome) {
    let dir = scratch();
    let src = write(dir.path(), name, source);
    for mode in MODES {
        let mut cmd = command(&src, mode);
        cmd.envs(env.iter().copied());
        assert_eq!(&run(cmd), want, "{name} ({mode}) with {env:?}");
    }
}

#[test]
fn a_growing_array_runs_out_of_the_heap_limit() {
    let want = expected(ARRAY_GROWTH_STDOUT, ARRAY_GROWTH_STDERR, 70);
    check_every_mode("array.tvm", ARRAY_GROWTH, &[("TINYVM_HEAP_MAX", "16M")], &want);
}

#[test]
fn a_growing_string_runs_out_of_the_heap_limit() {
    let want = expected("start\n", STRING_GROWTH_STDERR, 70);
    check_every_mode("string.tvm", STRING_GROWTH, &[("TINYVM_HEAP_MAX", "16M")], &want);
}

#[test]
fn instances_kept_in_an_array_run_out_of_the_heap_limit() {
    let want = expected("allocating\n", INSTANCES_STDERR, 70);
    check_every_mode("instances.tvm", INSTANCES, &[("TINYVM_HEAP_MAX", "16M")], &want);
}

#[test]
fn a_growing_map_runs_out_of_the_heap_limit() {
    let want = expected("map\n", MAP_GROWTH_STDERR, 70);
    check_every_mode("map.tvm", MAP_GROWTH, &[("TINYVM_HEAP_MAX", "16M")], &want);
}

/// Maps whose keys are removed give their buffers back: a map that keeps
/// a few keys while 100,000 come and go stays small, and maps that become
/// garbage are freed, within a limit that a few of them would exceed.
#[test]
fn removed_keys_and_dead_maps_give_memory_back() {
    let source = "\
var m = Map();
for (var i = 0; i < 300000; i = i + 1) {
  m[i] = [i];
  if (i >= 10) remove(m, i - 10);
}
print len(m);
var total = 0;
for (var round = 0; round < 20; round = round + 1) {
  var big = Map();
  for (var i = 0; i < 20000; i = i + 1) big[i] = i;
  total = total + len(big);
}
print total;
";
    check_every_mode("churn.tvm", source, &[("TINYVM_HEAP_MAX", "4M")], &expected("10\n400000\n", "", 0));
}

#[test]
fn array_literals_run_out_of_the_heap_limit() {
    let want = expected("literals\n", ARRAY_LITERALS_STDERR, 70);
    check_every_mode("literals.tvm", ARRAY_LITERALS, &[("TINYVM_HEAP_MAX", "4M")], &want);
}

/// Natives that build a result as large as asked (an array, a replaced or
/// joined string) raise `Out of memory.` past the limit, before making it.
#[test]
fn natives_with_large_results_run_out_of_the_heap_limit() {
    let source = "\
var s = \"x\";
for (var i = 0; i < 20; i = i + 1) s = s + s;
print len(s);
join(spawn array(10000000, 0));
join(spawn array(1000000000000000, 0));
join(spawn replace(s, \"x\", s));
join(spawn join(array(100000, s), \",\"));
print len(upper(s));
";
    let stderr = "Out of memory.\nin <thread 2>\n".to_string()
        + "Out of memory.\nin <thread 3>\n"
        + "Out of memory.\nin <thread 4>\n"
        + "Out of memory.\nin <thread 5>\n";
    let want = expected("1048576\n1048576\n", &stderr, 70);
    check_every_mode("natives.tvm", source, &[("TINYVM_HEAP_MAX", "16M")], &want);
}

/// Collecting at every allocation changes when collections happen, not
/// which allocation finds no room.
#[test]
fn gc_stress_with_a_small_limit_gives_the_same_result() {
    let env = [("TINYVM_HEAP_MAX", "512K"), ("TINYVM_GC_STRESS", "1")];
    let cases = [
        ("array.tvm", ARRAY_GROWTH, ARRAY_GROWTH_STDOUT, ARRAY_GROWTH_STDERR),
        ("string.tvm", STRING_GROWTH, "start\n", STRING_GROWTH_STDERR),
        ("instances.tvm", INSTANCES, "allocating\n", INSTANCES_STDERR),
    ];
    let dir = scratch();
    for (name, source, stdout, stderr) in cases {
        let src = write(dir.path(), name, source);
        for mode in ["--jit=off", "--jit=always"] {
            let mut cmd = command(&src, mode);
            cmd.envs(env);
            assert_eq!(run(cmd), expected(stdout, stderr, 70), "{name} ({mode})");
        }
    }
}

/// The bytes in use never pass the limit, also when generated code
/// allocates instances inline: its test against `next_gc` sends it to the
/// runtime at the limit.
#[test]
fn the_heap_stays_within_its_limit() {
    let limit = 16 << 20;
    let dir = scratch();
    let src = write(dir.path(), "instances.tvm", INSTANCES);
    for mode in MODES {
        let mut cmd = command(&src, mode);
        cmd.env("TINYVM_HEAP_MAX", "16M").env("TINYVM_STATS", "1");
        let out = run(cmd);
        assert_eq!((out.stdout.as_str(), out.status), ("allocating\n", Some(70)), "{mode}");
        assert!(out.stderr.starts_with(INSTANCES_STDERR), "{mode}: {}", out.stderr);
        let in_use: u64 = out
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("heap bytes in use"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{mode}: no heap size in {}", out.stderr));
        assert!(in_use <= limit, "{mode}: {in_use} bytes in use, more than the limit");
        assert!(in_use > limit / 2, "{mode}: {in_use} bytes in use: the limit stopped the program early");
    }
}

/// A limit only bounds what is live: garbage beyond it is collected.
#[test]
fn garbage_beyond_the_limit_is_collected() {
    let source = "\
class Pair { init(a, b) { this.a = a; this.b = b; } }
var total = 0;
for (var i = 0; i < 200000; i = i + 1) {
  var p = Pair([i, i, i, i], \"n\" + str(i));
  total = total + len(p.a);
}
print total;
";
    check_every_mode("garbage.tvm", source, &[("TINYVM_HEAP_MAX", "2M")], &expected("800000\n", "", 0));
}

/// A thread that runs out of memory ends with the error; once it is gone,
/// what it held is garbage and the program goes on.
#[test]
fn a_thread_that_runs_out_of_memory_ends_alone() {
    let source = "\
fun grow() {
  var a = [];
  while (true) push(a, a);
}
print \"start\";
join(spawn grow());
var after = [];
for (var i = 0; i < 1000; i = i + 1) push(after, i);
print len(after);
";
    let want = expected("start\n1000\n", "Out of memory.\n[line 3] in grow()\nin <thread 2>\n", 70);
    check_every_mode("thread.tvm", source, &[("TINYVM_HEAP_MAX", "16M")], &want);
}

#[test]
fn a_limit_too_small_for_the_start_is_out_of_memory() {
    check_every_mode(
        "hello.tvm",
        "print \"hello\";\n",
        &[("TINYVM_HEAP_MAX", "1")],
        &expected("", "Out of memory.\n", 70),
    );
}

#[test]
fn heap_max_takes_binary_suffixes_and_empty_means_no_limit() {
    let dir = scratch();
    let src = write(dir.path(), "hello.tvm", "print \"hello\";\n");
    for value in ["", "100000000", "64k", "64K", "16m", "16M", "1g", "1G"] {
        let mut cmd = command(&src, "--jit=off");
        cmd.env("TINYVM_HEAP_MAX", value);
        assert_eq!(run(cmd), expected("hello\n", "", 0), "TINYVM_HEAP_MAX={value:?}");
    }
}

/// A bad value stops the program before it starts, as `GOMEMLIMIT` and
/// `-Xmx` do: a limit silently ignored would not bound anything.
#[test]
fn a_bad_heap_max_is_an_error_at_start_up() {
    let dir = scratch();
    let src = write(dir.path(), "hello.tvm", "print \"hello\";\n");
    let cases = [
        ("lots", "invalid size 'lots': expected a number of bytes, optionally followed by K, M or G (such as 64M)"),
        ("16MB", "invalid size '16MB': expected a number of bytes, optionally followed by K, M or G (such as 64M)"),
        ("-1", "invalid size '-1': expected a number of bytes, optionally followed by K, M or G (such as 64M)"),
        ("0", "size '0' leaves no room for the heap (it must be at least 1)"),
        ("99999999999G", "size '99999999999G' is too large"),
    ];
    for mode in ["--jit=off", "native"] {
        for (value, why) in cases {
            let mut cmd = command(&src, mode);
            cmd.env("TINYVM_HEAP_MAX", value);
            let want = expected("", &format!("error: TINYVM_HEAP_MAX: {why}\n"), 70);
            assert_eq!(run(cmd), want, "TINYVM_HEAP_MAX={value:?} ({mode})");
        }
    }
    // `tinyvm run` checks it before reading the program.
    let mut cmd = tinyvm_cmd(&["run", "missing.tvm"]);
    cmd.env("TINYVM_HEAP_MAX", "lots");
    let out = run(cmd);
    assert_eq!((out.status, out.stderr.starts_with("error: TINYVM_HEAP_MAX:")), (Some(70), true), "{out:?}");
}

/// Runs `cmd` (the program and its arguments) under `ulimit -v`, the
/// address-space limit of the issue, with no heap limit; `stdout_file`
/// redirects stdout to a file.
fn under_ulimit(cmd: &[&std::ffi::OsStr], stdout_file: Option<&Path>) -> Outcome {
    let mut script = String::from("ulimit -v 2000000 || exit 99; exec \"$@\"");
    let mut sh = Command::new("sh");
    if let Some(file) = stdout_file {
        script.push_str(" > \"$OUT_FILE\"");
        sh.env("OUT_FILE", file);
    }
    sh.arg("-c").arg(script).arg("sh").args(cmd);
    sh.env_remove("TINYVM_GC_STRESS").env_remove("TINYVM_STATS").env_remove("TINYVM_HEAP_MAX");
    run(sh)
}

#[test]
fn a_growing_array_runs_out_of_address_space() {
    let dir = scratch();
    let src = write(dir.path(), "array.tvm", ARRAY_GROWTH);
    let tinyvm = tinyvm();
    let out =
        under_ulimit(&[tinyvm.as_os_str(), "run".as_ref(), "--error-format=short".as_ref(), src.as_os_str()], None);
    assert_eq!(out, expected(ARRAY_GROWTH_STDOUT, ARRAY_GROWTH_STDERR, 70));
}

#[test]
fn a_growing_map_runs_out_of_address_space() {
    let dir = scratch();
    let src = write(dir.path(), "map.tvm", MAP_GROWTH);
    let tinyvm = tinyvm();
    let out =
        under_ulimit(&[tinyvm.as_os_str(), "run".as_ref(), "--error-format=short".as_ref(), src.as_os_str()], None);
    assert_eq!(out, expected("map\n", MAP_GROWTH_STDERR, 70));
}

#[test]
fn out_of_address_space_keeps_output_written_to_a_file() {
    let dir = scratch();
    let src = write(dir.path(), "array.tvm", ARRAY_GROWTH);
    let file = dir.path().join("stdout.txt");
    let tinyvm = tinyvm();
    let run =
        [tinyvm.as_os_str(), "run".as_ref(), "--error-format=short".as_ref(), "--jit=off".as_ref(), src.as_os_str()];
    let out = under_ulimit(&run, Some(&file));
    assert_eq!(out, expected("", ARRAY_GROWTH_STDERR, 70), "interpreter");
    assert_eq!(std::fs::read_to_string(&file).expect("stdout file"), ARRAY_GROWTH_STDOUT, "interpreter");

    let exe = build(&src);
    let out = under_ulimit(&[exe.as_os_str()], Some(&file));
    assert_eq!(out, expected("", ARRAY_GROWTH_STDERR, 70), "native");
    assert_eq!(std::fs::read_to_string(&file).expect("stdout file"), ARRAY_GROWTH_STDOUT, "native");
}
