//! Source-level debugging of built programs: DWARF sections, and gdb
//! sessions driven through `tinyvm gdb --batch` whose transcripts must show
//! breakpoints by line and by function, backtraces with file and line
//! (also from inside a runtime helper), next/step/finish, parameters and
//! locals printed as the program prints values, and program threads.
//! Skips (with a visible message) only when gdb is not installed.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn gdb_available() -> bool {
    let found = Command::new("gdb").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: gdb is not installed");
    }
    found
}

fn program(name: &str) -> PathBuf {
    repo_root().join("tests").join("gdb").join(name)
}

fn build(src: &Path, exe: &Path, debug: bool) {
    let mut cmd = tinyvm_cmd(&["build"]);
    if debug {
        cmd.arg("-g");
    }
    cmd.arg(src).arg("-o").arg(exe);
    let out = run_with(cmd, b"", Duration::from_secs(120));
    assert_eq!(out.status, Some(0), "{:?}", out);
}

/// Runs `tinyvm gdb --batch` with `commands` on `exe`; returns the transcript.
fn session(exe: &Path, commands: &str) -> String {
    let dir = scratch();
    let script = dir.path().join("commands.gdb");
    std::fs::write(&script, format!("set pagination off\nset width 0\n{}", commands)).unwrap();
    let mut cmd = tinyvm_cmd(&["gdb", "--batch", "-x"]);
    cmd.arg(&script).arg(exe);
    let out = run_with(cmd, b"", Duration::from_secs(120));
    // gdb announces threads as they start; the runtime's SIGUSR1 watcher
    // starts a few milliseconds into the run, which can fall anywhere in
    // a session.
    let transcript = format!("{}{}", out.stdout, out.stderr);
    transcript.lines().filter(|l| !l.starts_with("[New Thread ")).map(|l| format!("{l}\n")).collect()
}

/// Builds `tests/gdb/NAME` with `-g` and runs a gdb session with
/// `commands` on it: the transcript, or None (skipped) without gdb.
fn debug_session(name: &str, commands: &str) -> Option<String> {
    if !gdb_available() {
        return None;
    }
    let dir = scratch();
    let exe = dir.path().join(name.trim_end_matches(".tvm"));
    build(&program(name), &exe, true);
    Some(session(&exe, commands))
}

/// The lines of `transcript` that start with `#` (backtrace frames), without addresses.
fn frames(transcript: &str) -> Vec<String> {
    transcript
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            let l = l.split_once(' ').map(|(_, rest)| rest.trim_start()).unwrap_or(l);
            match l.find(" in ") {
                Some(i) if l.starts_with("0x") => l[i + 4..].to_string(),
                _ => l.to_string(),
            }
        })
        .collect()
}

fn section_names(exe: &Path) -> Vec<String> {
    let out = Command::new("readelf").arg("-SW").arg(exe).output().expect("readelf");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(']').nth(1).and_then(|rest| rest.split_whitespace().next()).map(String::from))
        .collect()
}

#[test]
fn dwarf_only_with_g() {
    let dir = scratch();
    let (plain, debug) = (dir.path().join("plain"), dir.path().join("debug"));
    build(&program("debugme.tvm"), &plain, false);
    build(&program("debugme.tvm"), &debug, true);
    let plain_sections = section_names(&plain);
    let debug_sections = section_names(&debug);
    assert!(!plain_sections.iter().any(|s| s.starts_with(".debug")), "{:?}", plain_sections);
    for wanted in [".debug_info", ".debug_abbrev", ".debug_line", ".debug_frame", ".debug_gdb_scripts"] {
        assert!(debug_sections.iter().any(|s| s == wanted), "{} missing: {:?}", wanted, debug_sections);
    }
    // The executables behave the same.
    let run = |exe: &Path| run_with(Command::new(exe), b"", Duration::from_secs(30));
    assert_eq!(run(&plain), run(&debug));
}

#[test]
fn breakpoint_by_line_backtrace_locals_next_finish() {
    let Some(t) =
        debug_session("debugme.tvm", "break debugme.tvm:5\nrun\nbt\ninfo locals\nprint n\nnext\ninfo locals\nfinish\n")
    else {
        return;
    };
    assert!(t.contains("Breakpoint 1 at 0x") && t.contains(": file debugme.tvm, line 5.\n"), "one location: {}", t);
    assert!(t.contains("Breakpoint 1, fib (n=2) at debugme.tvm:5\n5\t  var right = fib(n - 1);"), "{}", t);
    let bt = frames(&t);
    let program_frames: Vec<&String> = bt.iter().filter(|f| f.contains("debugme.tvm")).collect();
    assert_eq!(
        program_frames,
        vec![
            "fib (n=2) at debugme.tvm:5",
            "fib (n=4) at debugme.tvm:4",
            "fib (n=6) at debugme.tvm:4",
            "script () at debugme.tvm:22",
        ],
        "{}",
        t
    );
    assert!(bt.last().is_some_and(|f| f.starts_with("main ")), "bt reaches main: {:?}", bt);
    assert!(t.contains("left = 0\n$1 = 2\n6\t  return left + right;\nright = 1\nleft = 0\n"), "{}", t);
    assert!(t.contains("in fib (n=4) at debugme.tvm:4\n4\t  var left = fib(n - 2);"), "{}", t);
}

#[test]
fn breakpoint_by_function_and_step_into_a_call() {
    let Some(t) = debug_session("debugme.tvm", "break fib\nrun\ninfo args\ndelete\nnext\nstep\nbt 2\n") else {
        return;
    };
    assert!(t.contains("Breakpoint 1, fib (n=6) at debugme.tvm:3\n3\t  if (n < 2) return n;"), "{}", t);
    assert!(
        t.contains("n = 6\n4\t  var left = fib(n - 2);\nfib (n=4) at debugme.tvm:3\n3\t  if (n < 2) return n;"),
        "{}",
        t
    );
    assert_eq!(frames(&t)[..2], ["fib (n=4) at debugme.tvm:3".to_string(), "fib (n=6) at debugme.tvm:4".to_string()]);
}

#[test]
fn a_debug_build_stops_in_a_one_line_getter() {
    // Optimized builds produce a trivial method's result without calling
    // it (vm/trivial_method.rs); a `-g` build keeps the call, so this stops.
    let Some(t) = debug_session("debugme.tvm", "break Counter.total\nrun\nbt\n") else {
        return;
    };
    assert!(t.contains("Breakpoint 1, Counter.total (this=Counter instance) at debugme.tvm:17\n"), "{}", t);
    let bt = frames(&t);
    assert_eq!(bt[0], "Counter.total (this=Counter instance) at debugme.tvm:17", "{}", t);
    assert!(bt.contains(&"script () at debugme.tvm:24".to_string()), "{}", t);
}

#[test]
fn backtrace_from_inside_a_runtime_helper() {
    let Some(t) = debug_session("debugme.tvm", "break tvm_rt_print\nrun\nbt\n") else {
        return;
    };
    let bt = frames(&t);
    assert!(bt[0].starts_with("tvm_rt_print"), "{:?}", bt);
    assert_eq!(bt[1], "script () at debugme.tvm:22", "{:?}", bt);
    assert!(bt.last().is_some_and(|f| f.starts_with("main ")), "{:?}", bt);
}

#[test]
fn values_print_as_the_program_prints_them() {
    let Some(t) =
        debug_session("debugme.tvm", "break debugme.tvm:14\nrun\nprint this\nprint by\ninfo locals\nprint trail\n")
    else {
        return;
    };
    assert!(t.contains("Counter.bump (this=Counter instance, by=5) at debugme.tvm:14"), "{}", t);
    assert!(t.contains("$1 = Counter instance\n$2 = 5\n"), "{}", t);
    assert!(t.contains("trail = [10, two, nil, true, 0.5]\nbefore = 10\n"), "{}", t);
    assert!(t.contains("$3 = [10, two, nil, true, 0.5]"), "{}", t);
}

#[test]
fn threads_show_their_program_frames() {
    let Some(t) = debug_session("threads.tvm", "break threads.tvm:5\nrun\ninfo threads\nthread apply all bt\n") else {
        return;
    };
    assert!(t.contains("hit Breakpoint 1, worker (n=10) at threads.tvm:5"), "{}", t);
    assert!(
        t.contains("\"tinyvm-2\"     worker (n=10) at threads.tvm:5") || t.contains("worker (n=10) at threads.tvm:5"),
        "{}",
        t
    );
    let bt = frames(&t);
    assert!(bt.iter().any(|f| f == "worker (n=10) at threads.tvm:5"), "{:?}", bt);
    assert!(bt.iter().any(|f| f == "script () at threads.tvm:10"), "the main thread waits in join: {:?}", bt);
    assert!(t.matches("Thread ").count() >= 3, "{}", t);
}

#[test]
fn jit_compiled_functions_are_named_in_backtraces() {
    if !gdb_available() {
        return;
    }
    // gdb runs `tinyvm run --jit=always jitme.tvm`; the functions exist only
    // as JIT code, described to gdb through its JIT interface.
    let dir = scratch();
    let script = dir.path().join("commands.gdb");
    std::fs::write(&script, "set pagination off\nset width 0\nbreak tvm_rt_print\nrun\nbt\n").unwrap();
    let mut cmd = tinyvm_cmd(&["gdb", "--batch", "-x"]);
    cmd.arg(&script).arg("--args").arg(tinyvm()).args(["run", "--jit=always"]).arg(program("jitme.tvm"));
    let out = run_with(cmd, b"", Duration::from_secs(120));
    let t = format!("{}{}", out.stdout, out.stderr);
    let program_frames: Vec<String> = frames(&t).into_iter().filter(|f| f.contains("jitme.tvm")).collect();
    assert_eq!(
        program_frames,
        vec!["inner (x=42) at jitme.tvm:4", "outer (y=41) at jitme.tvm:8", "script () at jitme.tvm:10"],
        "{}",
        t
    );
}

/// The gdb printer formats numbers itself (a core file has no runtime to
/// ask); it must agree with the runtime's `print` on the edge cases.
#[test]
fn the_printer_formats_numbers_as_print_does() {
    if !gdb_available() {
        return;
    }
    let dir = scratch();
    let src = dir.path().join("numbers.tvm");
    let values = "0.1 + 0.2, 1000000000000000000000, 100000000000000000000, 123.456, -0.001, 0.0000001, \
                  0.000001, 0 / 0, 1 / 0, -1 / 0, -0, 3, 173035359841192.625, 987654321, 1 / 3, 0.1 * 3, \
                  1234567.0000001, -98765.4321";
    std::fs::write(&src, format!("fun show(nums) {{\n  print nums;\n  return nums;\n}}\nshow([{values}]);\n")).unwrap();
    let exe = dir.path().join("numbers");
    build(&src, &exe, true);
    let printed = std::process::Command::new(&exe).output().expect("run");
    let printed = String::from_utf8_lossy(&printed.stdout).trim_end().to_string();
    let transcript = session(&exe, "break numbers.tvm:2\nrun\nprint nums\ncontinue\n");
    let shown = transcript.lines().find_map(|l| l.strip_prefix("$1 = ")).unwrap_or_else(|| panic!("{transcript}"));
    assert_eq!(shown, printed);
}

/// `tinyvm gdb` with `args` given to gdb as they are; the transcript, or
/// None (skipped) without gdb.
fn gdb_with(args: &[&std::ffi::OsStr]) -> Option<String> {
    if !gdb_available() {
        return None;
    }
    let mut cmd = tinyvm_cmd(&["gdb"]);
    cmd.args(args);
    let out = run_with(cmd, b"", Duration::from_secs(120));
    let transcript = format!("{}{}", out.stdout, out.stderr);
    Some(transcript.lines().filter(|l| !l.starts_with("[New Thread ")).map(|l| format!("{l}\n")).collect())
}

/// `-ex` arguments for `commands`, then `rest`.
fn ex_args<'a>(commands: &'a [&'a str], rest: &'a [&'a std::ffi::OsStr]) -> Vec<&'a std::ffi::OsStr> {
    let mut args: Vec<&std::ffi::OsStr> = vec!["-batch".as_ref(), "-ex".as_ref(), "set width 0".as_ref()];
    for c in commands {
        args.push("-ex".as_ref());
        args.push(c.as_ref());
    }
    args.extend_from_slice(rest);
    args
}

#[test]
fn a_condition_on_a_number_local_compares_numbers() {
    let commands = "break fib if n == 2\nrun\nprint n\nprint n + 1\nprint n == 2\nptype n\ninfo args\n\
                    continue\nprint n * 10 - 0.5\ncontinue\ncontinue\ncontinue\ncontinue\n";
    let Some(t) = debug_session("debugme.tvm", commands) else {
        return;
    };
    assert!(t.contains("Breakpoint 1, fib (n=2) at debugme.tvm:3\n"), "{}", t);
    assert!(t.contains("$1 = 2\n$2 = 3\n$3 = 1\ntype = double\nn = 2\n"), "{}", t);
    assert!(t.contains("Breakpoint 1, fib (n=2) at debugme.tvm:3\n3\t  if (n < 2) return n;\n$4 = 19.5\n"), "{}", t);
    // fib(6) calls fib(2) five times: five stops, each with n == 2.
    assert_eq!(t.matches("Breakpoint 1, fib (n=").count(), 5, "{}", t);
    assert_eq!(t.matches("Breakpoint 1, fib (n=2) at debugme.tvm:3\n").count(), 5, "{}", t);
    assert!(t.contains("exited normally"), "{}", t);
}

#[test]
fn fields_elements_and_globals_print_by_name() {
    if !gdb_available() {
        return;
    }
    let dir = scratch();
    let exe = dir.path().join("debugme");
    build(&program("debugme.tvm"), &exe, true);
    let commands = [
        "break debugme.tvm:14",
        "run",
        "print $field(this, \"count\")",
        "print $field(this, \"count\") + by",
        "print $tvm(trail)",
        "print $tvm(trail)[1]",
        "print $tvm(trail)[0] + 1",
        "print $tvm(this)",
        "print $tvm(this).count",
        "print $tvm(this).count * 2",
        "set var $tvm(this).count = 3",
        "print $field(this, \"count\")",
        "print $global(\"counter\")",
        "print $field($global(\"counter\"), \"count\")",
        "print $global(\"fib\")",
        "print $field(this, \"missing\")",
        "print $global(\"nothing\")",
    ];
    let t = gdb_with(&ex_args(&commands, &[exe.as_os_str()])).unwrap_or_default();
    assert!(
        t.contains(
            "$1 = 10\n$2 = 15\n$3 = {10, two, nil, true, 0.5}\n$4 = two\n$5 = 11\n$6 = {count = 10}\n\
             $7 = 10\n$8 = 20\n$9 = 3\n$10 = Counter instance\n$11 = 3\n$12 = <fn fib>\n"
        ),
        "{}",
        t
    );
    assert!(t.contains("$field: no field 'missing' (fields: count)\n"), "{}", t);
    assert!(t.contains("$global: no global 'nothing' is defined\n"), "{}", t);
}

#[test]
fn finish_shows_the_returned_value() {
    let Some(t) = debug_session(
        "debugme.tvm",
        "break fib if n == 2\nrun\nfinish\ndelete\nfinish\nbreak Counter.bump\ncontinue\nfinish\n",
    ) else {
        return;
    };
    assert!(t.contains("Value returned is $1 = 1\n"), "fib(2): {}", t);
    assert!(t.contains("Value returned is $2 = 3\n"), "fib(4): {}", t);
    // Called from the runtime (through the entry stub) as from compiled code;
    // bump(5) ran before the breakpoint was set.
    assert!(t.contains("Value returned is $3 = 16\n"), "bump(1), after bump(5): {}", t);
}

#[test]
fn plain_gdb_with_the_auto_load_line_shows_values() {
    if !gdb_available() {
        return;
    }
    let dir = scratch();
    let exe = dir.path().join("debugme");
    build(&program("debugme.tvm"), &exe, true);
    let mut cmd = Command::new("gdb");
    cmd.arg("-q").arg("-batch").arg("-iex").arg(format!("add-auto-load-safe-path {}", exe.display()));
    for c in ["set width 0", "break debugme.tvm:14", "run", "bt", "info locals", "finish"] {
        cmd.arg("-ex").arg(c);
    }
    cmd.arg(&exe);
    let out = run_with(cmd, b"", Duration::from_secs(120));
    let t = format!("{}{}", out.stdout, out.stderr);
    let bt = frames(&t);
    assert_eq!(bt[0], "Counter.bump (this=Counter instance, by=5) at debugme.tvm:14", "{}", t);
    assert!(bt.contains(&"script () at debugme.tvm:21".to_string()), "{}", t);
    assert!(t.contains("trail = [10, two, nil, true, 0.5]\nbefore = 10\n"), "{}", t);
    assert!(t.contains("Value returned is $1 = 15\n"), "{}", t);
}

#[test]
fn gdb_options_pass_through() {
    let dir = scratch();
    let exe = dir.path().join("debugme");
    let Some(version) = gdb_with(&["--version".as_ref()]) else {
        return;
    };
    assert!(version.starts_with("GNU gdb"), "{}", version);
    build(&program("debugme.tvm"), &exe, true);
    let rest = ["--args".as_ref(), exe.as_os_str(), "an argument".as_ref()];
    let t = gdb_with(&ex_args(&["break fib", "run", "print n", "show args"], &rest)).unwrap_or_default();
    assert!(t.contains("Breakpoint 1, fib (n=6) at debugme.tvm:3\n"), "{}", t);
    assert!(t.contains("$1 = 6\n"), "{}", t);
    assert!(
        t.contains("Argument list to give program being debugged when it is started is \"an\\ argument\".\n"),
        "{}",
        t
    );
    // Options after the program, as gdb takes them.
    let script = dir.path().join("commands.gdb");
    std::fs::write(&script, "break fib\nrun\nprint n\n").unwrap();
    let mut cmd = tinyvm_cmd(&["gdb"]);
    cmd.arg(&exe).arg("-batch").arg("-x").arg(&script).args(["-ex", "print n + 1"]);
    let out = run_with(cmd, b"", Duration::from_secs(120));
    assert!(out.stdout.contains("$1 = 6\n$2 = 7\n"), "{:?}", out);
}

#[test]
fn backtraces_number_frames_without_gaps_and_name_rust_frames_without_hashes() {
    let Some(t) = debug_session("debugme.tvm", "break tvm_rt_print\nrun\nbt\nup 1\nup 1\n") else {
        return;
    };
    let numbers: Vec<usize> = t
        .lines()
        .filter(|l| l.starts_with('#'))
        .filter_map(|l| l[1..].split_whitespace().next()?.parse().ok())
        .collect();
    let count = frames(&t).len();
    // bt, then the two frames `up` selects.
    assert!(count > 4, "{}", t);
    let expected: Vec<usize> = (0..count - 2).chain([1, 2]).collect();
    assert_eq!(numbers, expected, "{}", t);
    let bt = frames(&t);
    assert_eq!(bt.iter().filter(|f| f.starts_with("script ")).count(), 2, "once in bt, once after up: {}", t);
    assert!(bt.iter().any(|f| f == "tinyvm_runtime::vm::call::call_closure ()"), "{}", t);
    // (gdb's own `frame` lines, as after `up`, keep them.)
    assert!(!bt[..count - 2].iter().any(|f| f.contains("::h")), "{}", t);
}

#[test]
fn break_on_a_function_without_debug_information() {
    if !gdb_available() {
        return;
    }
    let dir = scratch();
    let exe = dir.path().join("plain");
    build(&program("debugme.tvm"), &exe, false);
    let t = session(&exe, "break fib\nrun\nbt 2\ncontinue\ninfo symbol $pc\ndelete\nbreak Counter.bump\ncontinue\n");
    assert!(t.contains("Breakpoint 1, 0x") && t.contains(" in fib ()\n"), "{}", t);
    let bt = frames(&t);
    assert_eq!(bt[..2], ["fib ()".to_string(), "script ()".to_string()], "{}", t);
    // At the fast entry (built code first checks whether the function has
    // optimized code, so gdb's prologue analysis stops at the entry).
    assert!(t.contains("Breakpoint 1, 0x") && t.contains("\nfib in section .text"), "{}", t);
    assert!(t.contains("Breakpoint 2, 0x") && t.contains(" in Counter.bump ()\n"), "{}", t);
}

#[test]
fn jit_code_has_values_conditions_finish_and_globals() {
    if !gdb_available() {
        return;
    }
    let program = program("jitloop.tvm");
    let tinyvm = tinyvm();
    let rest = ["--args".as_ref(), tinyvm.as_os_str(), "run".as_ref(), "--jit=always".as_ref(), program.as_os_str()];
    // `square` exists once the JIT has compiled it: a pending breakpoint,
    // then a condition on its parameter.
    let commands = [
        "set breakpoint pending on",
        "break square",
        "run",
        "condition 1 n == 3",
        "continue",
        "print n + 1",
        "bt 2",
        "print $global(\"total\")",
        "finish",
    ];
    let Some(t) = gdb_with(&ex_args(&commands, &rest)) else {
        return;
    };
    assert!(t.contains("Breakpoint 1, square (n=0) at jitloop.tvm:4\n"), "{}", t);
    assert!(t.contains("Breakpoint 1, square (n=3) at jitloop.tvm:4\n"), "{}", t);
    assert!(t.contains("$1 = 4\n"), "{}", t);
    let bt = frames(&t);
    assert_eq!(
        bt[..2],
        ["square (n=3) at jitloop.tvm:4".to_string(), "script () at jitloop.tvm:7".to_string()],
        "{}",
        t
    );
    assert!(t.contains("$2 = 5\n"), "0 + 1 + 4: {}", t);
    assert!(t.contains("Value returned is $3 = 9\n"), "{}", t);
}

/// Maps print as the program prints them: insertion order, removed keys
/// left out, a map inside itself as `{...}`.
#[test]
fn maps_print_as_the_program_prints_them() {
    let Some(t) = debug_session("maps.tvm", "break maps.tvm:4\nrun\ninfo locals\nprint table\n") else {
        return;
    };
    let shown = "{name: tinyvm, 1: [1, 2], nil: true, self: {...}, inner: {0.5: half}}";
    assert!(t.contains(&format!("show (table={shown}) at maps.tvm:4")), "{}", t);
    assert!(t.contains("names = [name, 1, nil, self, inner]\n"), "{}", t);
    assert!(t.contains(&format!("$1 = {shown}\n")), "{}", t);
}

#[test]
fn map_entries_print_by_key() {
    if !gdb_available() {
        return;
    }
    let dir = scratch();
    let exe = dir.path().join("maps");
    build(&program("maps.tvm"), &exe, true);
    let commands = [
        "break maps.tvm:4",
        "run",
        "print $tvm(table).name",
        "print $key(table, \"name\")",
        "print $key(table, 1)",
        "print $tvm($key(table, 1))[1] + 1",
        "print $key($key(table, \"inner\"), 0.5)",
        "print $tvm($key(table, \"inner\"))",
        "print $key(table, \"gone\")",
        "print $tvm(names)[3]",
    ];
    let t = gdb_with(&ex_args(&commands, &[exe.as_os_str()])).unwrap_or_default();
    assert!(t.contains("$1 = tinyvm\n$2 = tinyvm\n$3 = [1, 2]\n$4 = 3\n$5 = half\n$6 = {_0 = half}\n"), "{}", t);
    // A removed key is gone; the keys' order is the program's.
    assert!(t.contains("$key: no such key in the map\n"), "{}", t);
    assert!(t.contains("$6 = {_0 = half}\n$7 = self\n"), "{}", t);
}
