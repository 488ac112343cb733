//! Profiling: `TINYVM_PERF_MAP=1 tinyvm run` writes perf's map of JIT code
//! (`/tmp/perf-PID.map`, a `START SIZE name` line per compiled function,
//! named as the program names them), and only when asked; a built
//! executable names its functions in its symbol table (`fib` from the fast
//! entry on, where every call arrives, and the entry stub as `fib$entry`).

mod common;

use common::*;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

const PROGRAM: &str = "\
fun fib(n) {
  if (n < 2) return n;
  return fib(n - 2) + fib(n - 1);
}
class Counter {
  init() { this.count = 0; }
  bump(by) { this.count = this.count + by; return this; }
}
var c = Counter();
for (var i = 0; i < 10; i = i + 1) c.bump(i);
print fib(15);
print c.count;
";

/// Runs `tinyvm run --jit=always FILE` with `perf_map` as TINYVM_PERF_MAP:
/// its stdout and the map it left (None: no file), which is then removed.
fn run_with_map(file: &Path, perf_map: Option<&str>) -> (String, Option<String>) {
    let mut cmd = tinyvm_cmd(&["run", "--jit=always"]);
    cmd.arg(file).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    match perf_map {
        Some(v) => cmd.env("TINYVM_PERF_MAP", v),
        None => cmd.env_remove("TINYVM_PERF_MAP"),
    };
    let mut child = cmd.spawn().expect("spawn tinyvm");
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let mut stdout = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut stdout).expect("read stdout");
    assert!(child.wait().expect("wait").success());
    let text = std::fs::read_to_string(&map).ok();
    let _ = std::fs::remove_file(&map);
    (stdout, text)
}

#[test]
fn the_perf_map_names_jit_functions_as_the_program_does() {
    let dir = scratch();
    let file = dir.path().join("prof.tvm");
    std::fs::write(&file, PROGRAM).unwrap();
    let (stdout, map) = run_with_map(&file, Some("1"));
    assert_eq!(stdout, "610\n45\n");
    let map = map.expect("TINYVM_PERF_MAP=1 writes /tmp/perf-PID.map");
    let mut entries: Vec<(u64, u64, String)> = map
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let mut hex = || u64::from_str_radix(parts.next().unwrap_or(""), 16).expect(line);
            let (start, size) = (hex(), hex());
            (start, size, parts.next().unwrap_or("").to_string())
        })
        .collect();
    let mut names: Vec<&str> = entries.iter().map(|(_, _, n)| n.as_str()).collect();
    names.sort_unstable();
    // A function the optimizing tier took has a second entry: its optimized code.
    assert!(names.iter().filter(|&&n| n == "fib").count() == 2, "{}", map);
    names.dedup();
    assert_eq!(names, ["Counter.bump", "Counter.init", "fib", "script"], "{}", map);
    entries.sort();
    for pair in entries.windows(2) {
        assert!(pair[0].0 + pair[0].1 <= pair[1].0, "entries overlap: {}", map);
    }
    assert!(entries.iter().all(|&(start, size, _)| start > 0 && size > 32), "{}", map);
}

#[test]
fn no_perf_map_unless_asked() {
    let dir = scratch();
    let file = dir.path().join("prof.tvm");
    std::fs::write(&file, PROGRAM).unwrap();
    for setting in [None, Some("0"), Some("")] {
        let (stdout, map) = run_with_map(&file, setting);
        assert_eq!(stdout, "610\n45\n");
        assert_eq!(map, None, "TINYVM_PERF_MAP={setting:?}");
    }
}

#[test]
fn built_executables_name_their_functions() {
    let dir = scratch();
    let file = dir.path().join("prof.tvm");
    std::fs::write(&file, PROGRAM).unwrap();
    let exe = dir.path().join("prof");
    let out = run_with(
        {
            let mut cmd = tinyvm_cmd(&["build"]);
            cmd.arg(&file).arg("-o").arg(&exe);
            cmd
        },
        b"",
        std::time::Duration::from_secs(120),
    );
    assert_eq!(out.status, Some(0), "{:?}", out);
    let Ok(nm) = Command::new("nm").arg("-S").arg(&exe).output() else {
        eprintln!("SKIPPED: nm is not installed");
        return;
    };
    let symbols = String::from_utf8_lossy(&nm.stdout);
    // "ADDRESS SIZE t NAME" for each function's two symbols.
    let symbol = |name: &str| -> Option<(u64, u64)> {
        symbols.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4 && f[3] == name)
                .then(|| (u64::from_str_radix(f[0], 16).unwrap_or(0), u64::from_str_radix(f[1], 16).unwrap_or(0)))
        })
    };
    for name in ["fib", "Counter.bump", "Counter.init", "script"] {
        let (body, body_size) = symbol(name).unwrap_or_else(|| panic!("no {name}: {symbols}"));
        let (stub, stub_size) = symbol(&format!("{name}$entry")).unwrap_or_else(|| panic!("no {name}$entry"));
        assert_eq!((stub + 32, stub_size), (body, 32), "{name}: the body starts at the fast entry");
        assert!(body_size > 0, "{name}");
    }
}
