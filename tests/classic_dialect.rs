//! The classic TinyVM dialect: the shared example programs, malformed
//! programs as compile errors with line numbers, and `compile` / `disasm`.

mod common;

use common::*;

fn shared_example(name: &str) -> std::path::PathBuf {
    repo_root().join("../shared/examples/classic").join(name)
}

fn run_file(path: &std::path::Path) -> Outcome {
    run_tinyvm(&["run", "--error-format=short", path.to_str().unwrap()])
}

fn run_source(source: &str) -> Outcome {
    let dir = scratch();
    let path = dir.path().join("classic.tvm");
    std::fs::write(&path, source).unwrap();
    run_file(&path)
}

#[test]
fn shared_examples_run() {
    let hello = shared_example("hello.tvm");
    if !hello.exists() {
        eprintln!("SKIPPED: ../shared/examples/classic is not present");
        return;
    }
    let out = run_file(&hello);
    assert_eq!((out.stdout.as_str(), out.status), ("message = 42\n", Some(0)));

    for _ in 0..20 {
        let out = run_file(&shared_example("counter.tvm"));
        assert_eq!(out.status, Some(0));
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{:?}", out);
        assert_eq!(lines[0], "counter = 1000");
        assert!(lines[1] == "counter = 1010" || lines[1] == "counter = 990", "{:?}", lines);
        assert_eq!(lines[2], "counter = 1000");
    }

    let out = run_file(&shared_example("stack_trace.tvm"));
    assert_eq!(out.status, Some(0));
    assert_eq!(out.stdout, "[line 11] in fun3()\n[line 7] in fun2()\n[line 3] in fun1()\n");
}

#[test]
fn malformed_programs_are_compile_errors() {
    let cases = [
        ("function main\nfrobnicate x\n", "[line 2] Error at 'frobnicate': Unknown instruction.\n"),
        ("function main\nset x\n", "[line 2] Error at 'set': 'set' takes 2 operands.\n"),
        ("function main\nprint a b\n", "[line 2] Error at 'print': 'print' takes 1 operand.\n"),
        ("function main\nsync missing\n", "[line 2] Error at 'missing': Unknown function 'missing'.\n"),
        ("function main\nset x 1.5\n", "[line 2] Error at '1.5': Expected an integer constant.\n"),
        ("function main\nsetshared x ten\n", "[line 2] Error at 'ten': Expected an integer constant.\n"),
        ("function helper\nexit\n", "[line 2] Error at end: No 'main' function.\n"),
        ("function main\nexit now\n", "[line 2] Error at 'exit': 'exit' takes 0 operands.\n"),
        ("function main\nexit\nfunction main\nexit\n", "[line 3] Error at 'main': Function already defined.\n"),
    ];
    for (source, expected) in cases {
        let out = run_source(source);
        assert_eq!(out.status, Some(65), "{:?}", source);
        assert_eq!(out.stderr, expected, "{:?}", source);
    }
    // Every error of a file is reported.
    let out = run_source("function main\nbogus\nset y 2 3\nasync nowhere\n");
    assert_eq!(out.stderr.lines().count(), 3, "{}", out.stderr);
}

#[test]
fn classic_files_compile_and_disassemble() {
    let dir = scratch();
    let src = repo_root().join("examples/classic_calls.tvm");
    let tvmc = dir.path().join("calls.tvmc");
    let out = run_tinyvm(&["compile", src.to_str().unwrap(), "-o", tvmc.to_str().unwrap()]);
    assert_eq!(out.status, Some(0), "{:?}", out);
    assert_eq!(run_file(&tvmc), run_file(&src));
    let listing = run_tinyvm(&["disasm", src.to_str().unwrap()]);
    assert_eq!(listing.status, Some(0));
    assert!(listing.stdout.contains("function shadow"), "{}", listing.stdout);
    assert!(listing.stdout.contains("CALL"));
}

#[test]
fn a_lox_file_that_starts_differently_is_not_classic() {
    let out = run_source("// function main\nprint \"lox\";\n");
    assert_eq!(out.stdout, "lox\n");
    let out = run_source("function main() {}\n");
    assert_eq!(out.status, Some(65), "not classic, and not valid Lox either: {:?}", out);
}
