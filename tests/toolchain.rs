//! The toolchain as a user meets it (issue 16): runtime errors in the human
//! format, colour, `run -` and `run -e`, `#!` lines and byte order marks,
//! building from bytecode, `CC` with arguments, `--help`, `--version`,
//! completions, the man page and `scripts/install.sh`.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    let mut cmd = tinyvm_cmd(args);
    cmd.current_dir(dir);
    run_with(cmd, b"", Duration::from_secs(120))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write file");
}

const COUNTER: &str = "\
class Counter {
  init() { this.count = 0; }
  bump(by) { this.count = this.count + by; return this.count; }
}
fun fib(n, c) {
  return c.bump(nil);
}
fib(3, Counter());
";

const COUNTER_ERROR: &str = "\
error: Operands must be two numbers or two strings.
  --> counter.tvm:3:38
  |
3 |   bump(by) { this.count = this.count + by; return this.count; }
  |                                      ^
    at Counter.bump (counter.tvm:3:38)
    at fib (counter.tvm:6:12)
    at script (counter.tvm:8:4)
";

#[test]
fn runtime_errors_in_the_human_format_point_at_the_column() {
    let dir = scratch();
    write(dir.path(), "counter.tvm", COUNTER.as_bytes());
    for jit in ["--jit=off", "--jit=always"] {
        let out = run_in(dir.path(), &["run", jit, "counter.tvm"]);
        assert_eq!(out, Outcome { stdout: String::new(), stderr: COUNTER_ERROR.into(), status: Some(70) }, "{jit}");
    }
    // The short format stays clox's.
    let out = run_in(dir.path(), &["run", "--error-format=short", "counter.tvm"]);
    let short =
        "Operands must be two numbers or two strings.\n[line 3] in bump()\n[line 6] in fib()\n[line 8] in script\n";
    assert_eq!(out.stderr, short);
    // From bytecode (the column table is in the file) and in a built executable.
    assert_eq!(run_in(dir.path(), &["compile", "counter.tvm"]).status, Some(0));
    let out = run_in(dir.path(), &["run", "counter.tvmc"]);
    assert_eq!((out.stderr.as_str(), out.status), (COUNTER_ERROR, Some(70)));
    assert_eq!(run_in(dir.path(), &["build", "counter.tvm", "-o", "counter"]).status, Some(0));
    let mut cmd = Command::new(dir.path().join("counter"));
    cmd.current_dir(dir.path());
    let out = run_with(cmd, b"", Duration::from_secs(60));
    assert_eq!((out.stderr.as_str(), out.status), (COUNTER_ERROR, Some(70)));
}

#[test]
fn a_spawned_thread_s_error_says_which_thread() {
    let dir = scratch();
    write(dir.path(), "thread.tvm", b"fun work(x) {\n  return -x;\n}\nvar t = spawn work(\"s\");\nsleep(0.5);\n");
    let out = run_in(dir.path(), &["run", "thread.tvm"]);
    let expected = "\
error: Operand must be a number.
  --> thread.tvm:2:10
  |
2 |   return -x;
  |          ^
    at work (thread.tvm:2:10)
note: in thread 2
";
    assert_eq!(out.stderr, expected);
    assert_eq!(out.status, Some(70));
}

#[test]
fn an_old_bytecode_file_is_refused_with_a_clear_message() {
    let dir = scratch();
    write(dir.path(), "p.tvm", b"print 1;\n");
    assert_eq!(run_in(dir.path(), &["compile", "p.tvm"]).status, Some(0));
    let mut bytes = std::fs::read(dir.path().join("p.tvmc")).unwrap();
    bytes[4] = 3; // version 3: no column tables
    write(dir.path(), "p.tvmc", &bytes);
    let out = run_in(dir.path(), &["run", "p.tvmc"]);
    assert_eq!(
        out.stderr,
        "error: invalid bytecode file 'p.tvmc': unsupported format version 3 (this runtime reads version 4): the \
         file was compiled by an older tinyvm; compile its source again with `tinyvm compile`\n"
    );
    assert_eq!(out.status, Some(65));
}

#[test]
fn colour_on_request_never_when_piped_by_default() {
    let dir = scratch();
    write(dir.path(), "bad.tvm", b"print nil + 1;\n");
    let plain = run_in(dir.path(), &["run", "bad.tvm"]);
    assert!(!plain.stderr.contains('\x1b'), "{:?}", plain.stderr);
    assert_eq!(run_in(dir.path(), &["--color=never", "run", "bad.tvm"]).stderr, plain.stderr);
    let coloured = run_in(dir.path(), &["run", "--color=always", "bad.tvm"]);
    assert_eq!(
        coloured.stderr,
        ("\x1b[0m\x1b[1m\x1b[38;5;9merror\x1b[0m\x1b[1m: Operands must be two numbers or two strings.\x1b[0m\n\
             \x1b[0m\x1b[36m  --> \x1b[0mbad.tvm:1:11\n\
             \x1b[0m\x1b[36m  |\x1b[0m\n\
             \x1b[0m\x1b[36m1 |\x1b[0m print nil + 1;\n\
             \x1b[0m\x1b[36m  |\x1b[0m           \x1b[0m\x1b[1m\x1b[38;5;9m^\x1b[0m\n    at script (bad.tvm:1:11)\n")
    );
    // Compile errors and warnings too; the short format never.
    write(dir.path(), "syntax.tvm", b"print 1 +;\n");
    let out = run_in(dir.path(), &["--color=always", "check", "syntax.tvm"]);
    assert!(
        out.stderr.starts_with("\x1b[0m\x1b[1m\x1b[38;5;9merror\x1b[0m\x1b[1m: Expect expression."),
        "{:?}",
        out.stderr
    );
    write(dir.path(), "warn.tvm", b"fun f() { var unused = 1; }\n");
    let out = run_in(dir.path(), &["--color=always", "check", "warn.tvm"]);
    assert!(out.stderr.starts_with("\x1b[0m\x1b[1m\x1b[38;5;11mwarning\x1b[0m"), "{:?}", out.stderr);
    let out = run_in(dir.path(), &["--color=always", "run", "--error-format=short", "syntax.tvm"]);
    assert_eq!(out.stderr, "[line 1] Error at ';': Expect expression.\n");
}

/// Runs `tinyvm ARGS` with stderr (and stdout) on a terminal, through
/// util-linux's `script`; None where it is not installed.
fn on_a_terminal(dir: &Path, args: &str, no_color: bool) -> Option<String> {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{} {}", tinyvm().display(), args), "/dev/null"]).current_dir(dir);
    cmd.env("TERM", "xterm");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let dir = scratch();
    write(dir.path(), "bad.tvm", b"print nil + 1;\n");
    let Some(terminal) = on_a_terminal(dir.path(), "run bad.tvm", false) else {
        eprintln!("skipped: no `script` to give tinyvm a terminal");
        return;
    };
    assert!(terminal.contains("\x1b[38;5;9merror"), "{terminal:?}");
    let no_color = on_a_terminal(dir.path(), "run bad.tvm", true).unwrap();
    assert!(no_color.starts_with("error: Operands") && !no_color.contains('\x1b'), "{no_color:?}");
    let forced = on_a_terminal(dir.path(), "--color=always run bad.tvm", true).unwrap();
    assert!(forced.contains("\x1b[38;5;9merror"), "{forced:?}");
}

#[test]
fn run_reads_stdin_for_a_dash_and_runs_code_after_e() {
    let dir = scratch();
    let mut cmd = tinyvm_cmd(&["run", "-", "a", "b"]);
    cmd.current_dir(dir.path());
    let out = run_with(cmd, b"print \"from stdin\";\n", Duration::from_secs(60));
    assert_eq!(out, Outcome { stdout: "from stdin\n".into(), stderr: String::new(), status: Some(0) });
    let out = run_in(dir.path(), &["run", "-e", "print 1 + 2;"]);
    assert_eq!(out, Outcome { stdout: "3\n".into(), stderr: String::new(), status: Some(0) });
    // A runtime error shows the code's line, though it is in no file.
    let out = run_in(dir.path(), &["run", "-e", "print 1;\nprint -\"x\";"]);
    let expected = "\
error: Operand must be a number.
  --> -e:2:7
  |
2 | print -\"x\";
  |       ^
    at script (-e:2:7)
";
    assert_eq!((out.stdout.as_str(), out.stderr.as_str(), out.status), ("1\n", expected, Some(70)));
    let mut cmd = tinyvm_cmd(&["run", "-"]);
    cmd.current_dir(dir.path());
    let out = run_with(cmd, b"print nil.x;\n", Duration::from_secs(60));
    assert!(out.stderr.starts_with("error: Only instances have properties.\n  --> <stdin>:1:11\n"), "{out:?}");
    let out = run_in(dir.path(), &["run", "-e", "print 1 +;", "--error-format=short"]);
    assert_eq!((out.stderr.as_str(), out.status), ("[line 1] Error at ';': Expect expression.\n", Some(65)));
    // A compile error names the code `-e`.
    let out = run_in(dir.path(), &["run", "-e", "print )"]);
    assert!(out.stderr.starts_with("error: Expect expression.\n  --> -e:1:7\n"), "{out:?}");
}

#[test]
fn a_shebang_line_and_a_byte_order_mark_are_skipped() {
    let dir = scratch();
    write(dir.path(), "script.tvm", b"#!/usr/bin/env -S tinyvm run\nprint \"shebang\";\n");
    write(dir.path(), "bom.tvm", b"\xEF\xBB\xBFprint \"bom\";\n");
    write(dir.path(), "both.tvm", b"\xEF\xBB\xBF#!tinyvm\nprint nil + 1;\n");
    assert_eq!(run_in(dir.path(), &["run", "script.tvm"]).stdout, "shebang\n");
    assert_eq!(run_in(dir.path(), &["run", "bom.tvm"]).stdout, "bom\n");
    // Lines still count the `#!` line.
    let out = run_in(dir.path(), &["run", "--error-format=short", "both.tvm"]);
    assert_eq!(out.stderr, "Operands must be two numbers or two strings.\n[line 2] in script\n");
    // A `#` anywhere else is still an error.
    write(dir.path(), "hash.tvm", b"print 1;\n#!not first\n");
    assert_eq!(run_in(dir.path(), &["run", "hash.tvm"]).status, Some(65));
}

#[test]
fn an_unexpected_character_is_named_in_the_human_format() {
    let dir = scratch();
    write(dir.path(), "at.tvm", "var a = 1 @ 2;\nvar b = «;\n".as_bytes());
    let out = run_in(dir.path(), &["check", "at.tvm"]);
    let headers: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("error: Unexpected")).collect();
    assert_eq!(headers, ["error: Unexpected character '@'.", "error: Unexpected character '«'."], "{}", out.stderr);
    // The short format (the conformance suite) keeps clox's message.
    let out = run_in(dir.path(), &["check", "--error-format=short", "at.tvm"]);
    assert_eq!(out.stderr, "[line 1] Error: Unexpected character.\n[line 2] Error: Unexpected character.\n");
}

#[test]
fn a_missing_semicolon_is_reported_where_it_belongs() {
    let dir = scratch();
    write(dir.path(), "semi.tvm", b"var a = 1\nprint a;\n");
    let out = run_in(dir.path(), &["check", "semi.tvm"]);
    let expected = "\
error: Expect ';' after variable declaration.
  --> semi.tvm:1:10
  |
1 | var a = 1
  |          ^ expected ';' here

";
    assert!(out.stderr.starts_with(expected), "{}", out.stderr);
    let out = run_in(dir.path(), &["check", "--error-format=short", "semi.tvm"]);
    assert_eq!(out.stderr, "[line 2] Error at 'print': Expect ';' after variable declaration.\n");
}

#[test]
fn build_takes_a_bytecode_file() {
    let dir = scratch();
    write(dir.path(), "add.tvm", b"fun add(a, b) { return a + b; }\nprint add(2, 3);\n");
    assert_eq!(run_in(dir.path(), &["compile", "add.tvm", "-o", "add.tvmc"]).status, Some(0));
    let built = run_in(dir.path(), &["build", "add.tvmc"]);
    assert_eq!(built, Outcome { stdout: String::new(), stderr: String::new(), status: Some(0) });
    let out = run_with(Command::new(dir.path().join("add")), b"", Duration::from_secs(60));
    assert_eq!(out, Outcome { stdout: "5\n".into(), stderr: String::new(), status: Some(0) });
    // With -g, DWARF names the source the bytecode was compiled from.
    assert_eq!(run_in(dir.path(), &["build", "-g", "add.tvmc", "-o", "add_g"]).status, Some(0));
    if let Ok(info) = Command::new("readelf").arg("--debug-dump=info").arg(dir.path().join("add_g")).output() {
        let info = String::from_utf8_lossy(&info.stdout);
        let first_name = info.lines().find(|l| l.contains("DW_AT_name")).unwrap_or_default();
        assert!(first_name.trim_end().ends_with(": add.tvm"), "{first_name:?}");
    }
    // A corrupt one is a clear error.
    write(dir.path(), "bad.tvmc", b"TVMC\x04\x00");
    let out = run_in(dir.path(), &["build", "bad.tvmc", "-o", "bad"]);
    assert_eq!(out.status, Some(65), "{out:?}");
    assert!(out.stderr.starts_with("error: invalid bytecode file 'bad.tvmc': "), "{}", out.stderr);
}

#[test]
fn cc_is_split_into_words() {
    let dir = scratch();
    write(dir.path(), "hi.tvm", b"print \"hi\";\n");
    // A program and its first arguments, as make and cc-rs take CC.
    let mut cmd = tinyvm_cmd(&["build", "hi.tvm", "-o", "hi"]);
    cmd.current_dir(dir.path()).env("CC", "env TINYVM_TEST=1 cc -O1");
    let out = run_with(cmd, b"", Duration::from_secs(120));
    assert_eq!(out.status, Some(0), "{out:?}");
    assert_eq!(run_with(Command::new(dir.path().join("hi")), b"", Duration::from_secs(60)).stdout, "hi\n");
    let mut cmd = tinyvm_cmd(&["build", "hi.tvm", "-o", "hi2"]);
    cmd.current_dir(dir.path()).env("CC", "no-such-cc --flag");
    let out = run_with(cmd, b"", Duration::from_secs(60));
    assert_eq!(out.status, Some(69), "{out:?}");
    assert!(out.stderr.starts_with("error: cannot link: no C compiler driver `no-such-cc`"), "{}", out.stderr);
    let mut cmd = tinyvm_cmd(&["build", "hi.tvm", "-o", "hi3"]);
    cmd.current_dir(dir.path()).env("CC", "cc '-O1");
    let out = run_with(cmd, b"", Duration::from_secs(60));
    assert_eq!(out.stderr, "error: cannot parse CC=`cc '-O1`: missing closing quote\n");
    assert_eq!(out.status, Some(69));
}

#[test]
fn help_lists_the_environment_and_exit_statuses() {
    let out = run_tinyvm(&["--help"]);
    assert_eq!(out.status, Some(0));
    for needle in [
        "TINYVM_STATS",
        "TINYVM_GC_STRESS",
        "TINYVM_HEAP_MAX",
        "TINYVM_FUEL",
        "TINYVM_JIT_DEBUG",
        "NO_COLOR",
        "CC ",
        "Exit statuses:",
        "65  compile error",
        "70  runtime error",
        "74  I/O error",
        "75  TINYVM_FUEL",
        "repl",
        "completions",
        "man",
        "--color <WHEN>",
    ] {
        assert!(out.stdout.contains(needle), "--help lacks {needle:?}:\n{}", out.stdout);
    }
    // `tinyvm help` is the same text.
    assert_eq!(run_tinyvm(&["help"]).stdout, out.stdout);
}

#[test]
fn version_names_the_commit() {
    let out = run_tinyvm(&["--version"]);
    assert_eq!(out.status, Some(0));
    let head = Command::new("git").args(["rev-parse", "--short=8", "HEAD"]).current_dir(repo_root()).output();
    match head {
        Ok(h) if h.status.success() => {
            // The binary was built from this checkout, perhaps a commit ago.
            let version = out.stdout.trim();
            assert!(version.starts_with("tinyvm 0.1.0 (") && version.ends_with(')'), "{version:?}");
            let commit = &version["tinyvm 0.1.0 (".len()..version.len() - 1];
            assert_eq!(commit.len(), 8, "{version:?}");
            assert!(commit.chars().all(|c| c.is_ascii_hexdigit()), "{version:?}");
        }
        _ => assert_eq!(out.stdout, "tinyvm 0.1.0\n"),
    }
}

#[test]
fn completions_and_the_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run_tinyvm(&["completions", shell]);
        assert_eq!(out.status, Some(0), "{shell}");
        assert!(out.stdout.contains("tinyvm") && out.stdout.contains("repl"), "{shell}: {}", out.stdout);
    }
    let out = run_tinyvm(&["completions", "tcsh"]);
    assert_eq!(out.status, Some(2));
    let man = run_tinyvm(&["man"]);
    assert_eq!(man.status, Some(0));
    assert!(man.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq"), "{}", &man.stdout[..100.min(man.stdout.len())]);
    assert!(man.stdout.contains(".TH tinyvm 1"), "{}", man.stdout);
    assert!(man.stdout.contains("TINYVM_STATS"), "the man page lacks the environment");
}

#[test]
fn install_sh_installs_into_a_prefix_and_the_installed_tinyvm_builds_anywhere() {
    let prefix = scratch();
    let elsewhere = scratch();
    // The second argument: install this binary instead of building one
    // (the test's own, already built).
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/install.sh"))
        .arg(prefix.path())
        .arg(tinyvm())
        .output()
        .expect("run install.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{}", stdout, String::from_utf8_lossy(&out.stderr));
    let installed = prefix.path().join("bin/tinyvm");
    assert!(stdout.contains(&format!("installed: {}", installed.display())), "{stdout}");
    assert!(prefix.path().join("share/man/man1/tinyvm.1").is_file());
    assert!(prefix.path().join("share/bash-completion/completions/tinyvm").is_file());
    write(elsewhere.path(), "hello.tvm", b"print \"hello from elsewhere\";\n");
    let mut cmd = Command::new(&installed);
    cmd.args(["build", "hello.tvm", "-o", "hello"]).current_dir(elsewhere.path());
    let built = run_with(cmd, b"", Duration::from_secs(120));
    assert_eq!(built.status, Some(0), "{built:?}");
    let out = run_with(Command::new(elsewhere.path().join("hello")), b"", Duration::from_secs(60));
    assert_eq!(out.stdout, "hello from elsewhere\n");
}
