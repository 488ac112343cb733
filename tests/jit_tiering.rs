//! The JIT and `load()`: tiered compilation statistics, modules loaded at
//! run time by `tinyvm run` (every JIT mode) and by built executables,
//! errors of `load`, and freeing the code of dead functions.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const MAIN_OUTPUT: &str = "nil\ntrue\nhello (seen by the plugin)\n85500\n338350\n14000\n";

/// A scratch directory holding `plugin.tvmc` compiled from tests/load/plugin.tvm.
fn with_plugin() -> tempfile::TempDir {
    let dir = scratch();
    let src = repo_root().join("tests/load/plugin.tvm");
    let out = run_tinyvm(&["compile", src.to_str().unwrap(), "-o", dir.path().join("plugin.tvmc").to_str().unwrap()]);
    assert_eq!(out.status, Some(0), "{:?}", out);
    dir
}

fn main_program() -> PathBuf {
    repo_root().join("tests/load/main.tvm")
}

fn stat(stderr: &str, label: &str) -> u64 {
    let line = stderr.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no '{}' in {}", label, stderr));
    line[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
}

/// `tinyvm run FILE`.
fn run_command(file: &Path) -> Command {
    let mut cmd = Command::new(tinyvm());
    cmd.arg("run").arg("--error-format=short").arg(file);
    cmd
}

fn run_in(dir: &Path, mut cmd: Command, stats: bool) -> Outcome {
    cmd.current_dir(dir).env_remove("TINYVM_GC_STRESS");
    if stats {
        cmd.env("TINYVM_STATS", "1");
    } else {
        cmd.env_remove("TINYVM_STATS");
    }
    run_with(cmd, b"", Duration::from_secs(60))
}

#[test]
fn load_works_in_every_jit_mode() {
    let dir = with_plugin();
    for mode in ["--jit=off", "--jit=auto", "--jit=always"] {
        let mut cmd = Command::new(tinyvm());
        cmd.args(["run", mode]).arg(main_program());
        let out = run_in(dir.path(), cmd, true);
        assert_eq!(out.stdout, MAIN_OUTPUT, "{}: {:?}", mode, out);
        assert_eq!(out.status, Some(0), "{}: {}", mode, out.stderr);
        let compiled = stat(&out.stderr, "jit compilations");
        match mode {
            "--jit=off" => assert_eq!(compiled, 0),
            // The plugin's square, sumSquares and Vec2 methods get hot.
            "--jit=auto" => assert!(compiled >= 3, "{}", out.stderr),
            _ => assert!(compiled >= 6, "{}", out.stderr),
        }
    }
}

#[test]
fn a_built_executable_loads_a_module_and_jit_compiles_it() {
    let dir = with_plugin();
    let exe = dir.path().join("main");
    let build = run_tinyvm(&["build", main_program().to_str().unwrap(), "-o", exe.to_str().unwrap()]);
    assert_eq!(build.status, Some(0), "{:?}", build);
    let out = run_in(dir.path(), Command::new(&exe), true);
    assert_eq!(out.stdout, MAIN_OUTPUT, "{:?}", out);
    assert_eq!(out.status, Some(0));
    // The module's functions start interpreted and get compiled when hot.
    assert!(stat(&out.stderr, "functions interpreted") >= 1, "{}", out.stderr);
    assert!(stat(&out.stderr, "jit compilations") >= 3, "{}", out.stderr);
    assert!(stat(&out.stderr, "jit code bytes") > 0);
}

#[test]
fn load_errors_are_runtime_errors() {
    let dir = scratch();
    let src = dir.path().join("p.tvm");
    std::fs::write(&src, "print \"before\";\nload(\"missing.tvmc\");\n").unwrap();
    let out = run_in(dir.path(), run_command(&src), false);
    assert_eq!(out.stdout, "before\n");
    assert_eq!(out.stderr, "Cannot load 'missing.tvmc': No such file or directory.\n[line 2] in script\n");
    assert_eq!(out.status, Some(70));

    std::fs::write(dir.path().join("bad.tvmc"), b"TVMC\x02\x00\x00\x00garbage").unwrap();
    std::fs::write(&src, "load(\"bad.tvmc\");\n").unwrap();
    let out = run_in(dir.path(), run_command(&src), false);
    assert_eq!(out.status, Some(70));
    assert!(out.stderr.starts_with("Cannot load 'bad.tvmc': invalid bytecode file: "), "{}", out.stderr);

    // A runtime error inside the module's code is the program's error.
    std::fs::write(dir.path().join("oops.tvm"), "print \"in module\";\nprint nil + 1;\n").unwrap();
    let compile = run_tinyvm(&["compile", dir.path().join("oops.tvm").to_str().unwrap()]);
    assert_eq!(compile.status, Some(0));
    std::fs::write(&src, "load(\"oops.tvmc\");\n").unwrap();
    let out = run_in(dir.path(), run_command(&src), false);
    assert_eq!(out.stdout, "in module\n");
    assert_eq!(out.stderr, "Operands must be two numbers or two strings.\n[line 2] in script\n[line 1] in script\n");
    assert_eq!(out.status, Some(70));
}

#[test]
fn code_of_dead_functions_is_freed() {
    // Each load redefines `hot`; once the old function is unreachable the
    // collector frees it, and its machine code with it.
    let dir = scratch();
    std::fs::write(dir.path().join("gen.tvm"), "fun hot(x) { return x + 1; }\n").unwrap();
    let compile = run_tinyvm(&["compile", dir.path().join("gen.tvm").to_str().unwrap()]);
    assert_eq!(compile.status, Some(0));
    let src = dir.path().join("main.tvm");
    std::fs::write(
        &src,
        "var sum = 0;\nfor (var round = 0; round < 5; round = round + 1) {\n  load(\"gen.tvmc\");\n  \
         for (var i = 0; i < 2000; i = i + 1) sum = hot(sum);\n  var junk = [];\n  \
         for (var g = 0; g < 20000; g = g + 1) push(junk, str(g));\n}\nprint sum;\n",
    )
    .unwrap();
    let out = run_in(dir.path(), run_command(&src), true);
    assert_eq!(out.stdout, "10000\n", "{:?}", out);
    assert!(stat(&out.stderr, "jit compilations") >= 5, "{}", out.stderr);
    assert!(stat(&out.stderr, "jit code freed") >= 1, "{}", out.stderr);
}

#[test]
fn statistics_report_the_jit() {
    let dir = scratch();
    let src = dir.path().join("fib.tvm");
    std::fs::write(&src, "fun fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }\nprint fib(20);\n")
        .unwrap();
    let out = run_in(dir.path(), run_command(&src), true);
    assert_eq!(out.stdout, "6765\n");
    assert_eq!(stat(&out.stderr, "jit compilations"), 1, "only fib gets hot: {}", out.stderr);
    assert!(stat(&out.stderr, "jit code bytes") > 100);
    assert!(out.stderr.contains("jit compile time"), "{}", out.stderr);
}
