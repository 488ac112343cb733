//! The command line (DESIGN.md section 2): exit codes, I/O errors, the two
//! diagnostic formats, `compile` output names, running bytecode files, and
//! program arguments.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

/// Runs `tinyvm ARGS` in `dir`, so that relative file names show as given.
fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    let mut cmd = tinyvm_cmd(args);
    cmd.current_dir(dir);
    run_with(cmd, b"", Duration::from_secs(60))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write file");
}

/// `tinyvm build SRC -o EXE` in `dir`, which must succeed.
fn build_in(dir: &Path, src: &str, exe: &str) {
    let built = run_in(dir, &["build", src, "-o", exe]);
    assert_eq!(built.status, Some(0), "{built:?}");
}

/// The stderr must be one `error: ...` line that names `name`.
fn assert_one_error_line(out: &Outcome, name: &str) {
    assert!(out.stderr.starts_with("error: ") && out.stderr.ends_with('\n'), "not an `error:` line: {:?}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    assert!(out.stderr.contains(name), "{:?} does not name {name}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = scratch();
    for command in ["run", "compile", "disasm"] {
        let out = run_in(dir.path(), &[command, "no_such_program.tvm"]);
        assert_eq!(out.status, Some(74), "{command}: {out:?}");
        assert_one_error_line(&out, "no_such_program.tvm");
        assert!(out.stderr.to_lowercase().contains("no such file"), "{command}: {:?}", out.stderr);
    }
    let out = run_in(dir.path(), &["run", "missing.tvmc"]);
    assert_eq!(out.status, Some(74), "{out:?}");
    assert_one_error_line(&out, "missing.tvmc");
}

#[test]
fn a_directory_is_an_io_error() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("folder.tvm")).unwrap();
    for command in ["run", "compile", "disasm"] {
        let out = run_in(dir.path(), &[command, "folder.tvm"]);
        assert_eq!(out.status, Some(74), "{command}: {out:?}");
        assert_one_error_line(&out, "folder.tvm");
        assert!(out.stderr.contains("directory"), "{:?}", out.stderr);
    }
}

/// Lox strings are bytes: a string literal or a comment may hold bytes
/// that are not UTF-8 (clox reads files as bytes), in every mode; elsewhere
/// such a byte is an unexpected character, shown lossily in the snippet.
#[test]
fn non_utf8_bytes_in_strings_and_comments_are_bytes() {
    let dir = scratch();
    write(dir.path(), "latin1.tvm", b"// caf\xe9 au lait\nprint \"caf\xe9\";\nprint len(\"\xe9\xff\");\n");
    build_in(dir.path(), "latin1.tvm", "latin1");
    let expected = b"caf\xe9\n2\n".to_vec();
    let run_bytes = |mut command: std::process::Command| {
        let out = command.current_dir(dir.path()).output().expect("run");
        (out.status.code(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    for mode in ["--jit=off", "--jit=always"] {
        let got = run_bytes(tinyvm_cmd(&["run", mode, "latin1.tvm"]));
        assert_eq!(got, (Some(0), expected.clone(), String::new()), "{mode}");
    }
    assert_eq!(
        run_bytes(std::process::Command::new(dir.path().join("latin1"))),
        (Some(0), expected.clone(), String::new())
    );
    assert_eq!(run_in(dir.path(), &["compile", "latin1.tvm"]).status, Some(0));
    assert_eq!(run_bytes(tinyvm_cmd(&["run", "latin1.tvmc"])), (Some(0), expected, String::new()));
    let listing = run_in(dir.path(), &["disasm", "latin1.tvmc"]);
    assert!(listing.stdout.contains("\"caf\u{fffd}\""), "{}", listing.stdout);

    write(dir.path(), "stray.tvm", b"var x = 1;\nprint x \xff;\n");
    let short = run_in(dir.path(), &["run", "--error-format=short", "stray.tvm"]);
    assert_eq!((short.status, short.stderr.as_str()), (Some(65), "[line 2] Error: Unexpected character.\n"));
    let human = run_in(dir.path(), &["run", "stray.tvm"]);
    assert_eq!(human.status, Some(65));
    assert!(human.stderr.contains("2 | print x \u{fffd};"), "{}", human.stderr);
}

#[test]
fn an_empty_source_file_is_an_empty_program() {
    let dir = scratch();
    write(dir.path(), "empty.tvm", b"");
    write(dir.path(), "blank.lox", b"\n\n   // only a comment\n\t\n");
    for name in ["empty.tvm", "blank.lox"] {
        let out = run_in(dir.path(), &["run", name]);
        assert_eq!(out, Outcome { stdout: String::new(), stderr: String::new(), status: Some(0) }, "{name}");
    }
    // It also compiles, and the bytecode runs.
    let out = run_in(dir.path(), &["compile", "empty.tvm"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let out = run_in(dir.path(), &["run", "empty.tvmc"]);
    assert_eq!(out, Outcome { stdout: String::new(), stderr: String::new(), status: Some(0) });
}

#[test]
fn an_empty_bytecode_file_is_invalid() {
    let dir = scratch();
    write(dir.path(), "empty.tvmc", b"");
    for command in ["run", "disasm"] {
        let out = run_in(dir.path(), &[command, "empty.tvmc"]);
        assert_eq!(out.status, Some(65), "{command}: {out:?}");
        assert_one_error_line(&out, "empty.tvmc");
        assert!(out.stderr.starts_with("error: invalid bytecode file"), "{:?}", out.stderr);
    }
}

#[test]
fn a_file_with_the_bytecode_magic_is_read_as_bytecode() {
    // Whatever its name, a file starting with "TVMC" is a (here: broken)
    // bytecode file rather than a source with a syntax error.
    let dir = scratch();
    write(dir.path(), "fake.tvm", b"TVMC this is not bytecode");
    let out = run_in(dir.path(), &["run", "fake.tvm"]);
    assert_eq!(out.status, Some(65), "{out:?}");
    assert!(out.stderr.starts_with("error: invalid bytecode file"), "{:?}", out.stderr);
}

#[test]
fn bad_command_lines_exit_with_the_usage_status() {
    let dir = scratch();
    write(dir.path(), "ok.tvm", b"print 1;\n");
    for args in [
        &["frobnicate", "ok.tvm"][..],
        &["run", "--no-such-flag", "ok.tvm"],
        &["run"],
        &[],
        &["run", "--jit=sometimes", "ok.tvm"],
        &["run", "--error-format=long", "ok.tvm"],
        &["compile"],
        &["compile", "ok.tvm", "-o"],
        &["disasm", "ok.tvm", "--bogus"],
    ] {
        let out = run_in(dir.path(), args);
        assert_eq!(out.status, Some(2), "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        // clap's message: an error with a pointer to --help, or the usage.
        assert!(out.stderr.contains("--help") || out.stderr.contains("Usage"), "{args:?}: {:?}", out.stderr);
    }
    assert!(!dir.path().join("ok.tvmc").exists());
}

#[test]
fn help_and_version_succeed() {
    let out = run_tinyvm(&["--help"]);
    assert_eq!(out.status, Some(0));
    for command in ["build", "compile", "run", "disasm", "gdb"] {
        assert!(out.stdout.contains(command), "help lacks {command}: {}", out.stdout);
    }
    let out = run_tinyvm(&["--version"]);
    assert_eq!(out.status, Some(0));
    assert!(out.stdout.starts_with("tinyvm "), "{:?}", out.stdout);
    let out = run_tinyvm(&["run", "--help"]);
    assert_eq!(out.status, Some(0));
    assert!(out.stdout.contains("--jit"), "{}", out.stdout);
}

#[test]
fn human_diagnostics_show_the_source_line_and_a_caret() {
    let dir = scratch();
    write(dir.path(), "bad.tvm", b"var x = 1;\nprint x +;\nprint x;\n");
    for args in [&["run", "bad.tvm"][..], &["run", "--error-format=human", "bad.tvm"]] {
        let out = run_in(dir.path(), args);
        assert_eq!(out.status, Some(65), "{out:?}");
        assert_eq!(out.stdout, "");
        let snippet = "\
error: Expect expression.
  --> bad.tvm:2:10
  |
2 | print x +;
  |          ^ at ';'
";
        assert!(out.stderr.starts_with(snippet), "expected\n{snippet}got\n{}", out.stderr);
        // Nothing else but blank lines and a summary line.
        for line in out.stderr[snippet.len()..].lines() {
            assert!(
                line.is_empty() || line.starts_with("error: could not compile"),
                "unexpected line {line:?} in\n{}",
                out.stderr
            );
        }
    }
}

#[test]
fn human_diagnostic_columns_count_characters() {
    // rustc counts columns in characters, not bytes: `;` is character 13.
    let dir = scratch();
    write(dir.path(), "wide.tvm", "print \"é€\" +;\n".as_bytes());
    let out = run_in(dir.path(), &["run", "wide.tvm"]);
    assert_eq!(out.status, Some(65), "{out:?}");
    assert!(out.stderr.contains("--> wide.tvm:1:13\n"), "{}", out.stderr);
}

#[test]
fn short_diagnostics_are_clox_lines() {
    let dir = scratch();
    write(dir.path(), "bad.tvm", b"var x = 1;\nprint x +;\nprint x;\n");
    let out = run_in(dir.path(), &["run", "--error-format=short", "bad.tvm"]);
    assert_eq!(
        out,
        Outcome {
            stdout: String::new(),
            stderr: "[line 2] Error at ';': Expect expression.\n".into(),
            status: Some(65)
        }
    );
    // A lexical error has no "at", and an error at the end says so.
    write(dir.path(), "lex.tvm", b"print 1;\nvar s = \"open\n");
    let out = run_in(dir.path(), &["run", "--error-format=short", "lex.tvm"]);
    assert_eq!(out.stderr, "[line 3] Error: Unterminated string.\n");
    assert_eq!(out.status, Some(65));
    write(dir.path(), "end.tvm", b"print 1");
    let out = run_in(dir.path(), &["run", "--error-format=short", "end.tvm"]);
    assert_eq!(out.stderr, "[line 1] Error at end: Expect ';' after value.\n");
    assert_eq!(out.status, Some(65));
}

const THREE_ERRORS: &[u8] = b"print 1\nvar = 2;\nprint \"ok\";\nfun f( { }\n";

#[test]
fn every_compile_error_is_reported_in_short_format() {
    let dir = scratch();
    write(dir.path(), "three.tvm", THREE_ERRORS);
    let out = run_in(dir.path(), &["compile", "--error-format=short", "three.tvm"]);
    assert_eq!(
        out,
        Outcome {
            stdout: String::new(),
            stderr: "[line 2] Error at 'var': Expect ';' after value.\n\
                     [line 2] Error at '=': Expect variable name.\n\
                     [line 4] Error at '{': Expect parameter name.\n"
                .into(),
            status: Some(65)
        }
    );
    assert!(!dir.path().join("three.tvmc").exists(), "no output after errors");
}

#[test]
fn every_compile_error_is_reported_in_human_format() {
    let dir = scratch();
    write(dir.path(), "three.tvm", THREE_ERRORS);
    let out = run_in(dir.path(), &["run", "three.tvm"]);
    assert_eq!(out.status, Some(65), "{out:?}");
    assert_eq!(out.stdout, "");
    let headers: Vec<&str> =
        out.stderr.lines().filter(|l| l.starts_with("error: ") && !l.starts_with("error: could not compile")).collect();
    assert_eq!(
        headers,
        ["error: Expect ';' after value.", "error: Expect variable name.", "error: Expect parameter name."],
        "{}",
        out.stderr
    );
    let locations: Vec<&str> =
        out.stderr.lines().filter(|l| l.trim_start().starts_with("--> ")).map(str::trim_start).collect();
    assert_eq!(locations, ["--> three.tvm:2:1", "--> three.tvm:2:5", "--> three.tvm:4:8"], "{}", out.stderr);
    assert!(out.stderr.contains("2 | var = 2;\n"), "{}", out.stderr);
    assert!(out.stderr.contains("4 | fun f( { }\n"), "{}", out.stderr);
}

#[test]
fn compile_writes_next_to_the_source_by_default() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    write(dir.path(), "sub/prog.tvm", b"print \"from bytecode\";\n");
    write(dir.path(), "other.lox", b"print 2 * 21;\n");
    let out = run_in(dir.path(), &["compile", "sub/prog.tvm"]);
    assert_eq!(out, Outcome { stdout: String::new(), stderr: String::new(), status: Some(0) });
    let bytes = std::fs::read(dir.path().join("sub/prog.tvmc")).expect("sub/prog.tvmc written");
    assert!(bytes.starts_with(b"TVMC"));
    let out = run_in(dir.path(), &["run", "sub/prog.tvmc"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "from bytecode\n"));

    let out = run_in(dir.path(), &["compile", "other.lox"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let out = run_in(dir.path(), &["run", "other.tvmc"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "42\n"));

    // -o picks the name.
    let out = run_in(dir.path(), &["compile", "other.lox", "-o", "sub/named.tvmc"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let out = run_in(dir.path(), &["run", "sub/named.tvmc"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "42\n"));
}

#[test]
fn an_unwritable_output_is_an_io_error() {
    let dir = scratch();
    write(dir.path(), "x.tvm", b"print 1;\n");
    std::fs::create_dir(dir.path().join("adir")).unwrap();
    for target in ["/nonexistent/dir/x.tvmc", "adir"] {
        let out = run_in(dir.path(), &["compile", "x.tvm", "-o", target]);
        assert_eq!(out.status, Some(74), "{target}: {out:?}");
        assert_one_error_line(&out, target);
    }
}

#[test]
fn running_bytecode_equals_running_the_source() {
    let dir = scratch();
    let source = b"fun fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }
class Pair { init(a, b) { this.a = a; this.b = b; } sum() { return this.a + this.b; } }
print fib(20);
print Pair(\"x\", \"y\").sum();
print [1, [2, nil], \"s\"];
print_error(\"to stderr\");
fun fail(v) { return v.missing; }
fail(Pair(1, 2));
";
    write(dir.path(), "p.tvm", source);
    let out = run_in(dir.path(), &["compile", "p.tvm"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let from_source = run_in(dir.path(), &["run", "--error-format=short", "p.tvm"]);
    let from_bytecode = run_in(dir.path(), &["run", "--error-format=short", "p.tvmc"]);
    let expected = Outcome {
        stdout: "6765\nxy\n[1, [2, nil], s]\n".into(),
        stderr: "to stderr\nUndefined property 'missing'.\n[line 7] in fail()\n[line 8] in script\n".into(),
        status: Some(70),
    };
    assert_eq!(from_source, expected);
    assert_eq!(from_bytecode, expected);
}

#[test]
fn arguments_after_the_file_reach_the_program() {
    let dir = scratch();
    write(
        dir.path(),
        "a.tvm",
        b"var a = args();\nprint len(a);\nfor (var i = 0; i < len(a); i = i + 1) print \"<\" + a[i] + \">\";\n",
    );
    let out = run_in(dir.path(), &["run", "a.tvm", "one", "-x", "--jit=off", "two words", ""]);
    assert_eq!(out.status, Some(0), "{out:?}");
    assert_eq!(out.stdout, "5\n<one>\n<-x>\n<--jit=off>\n<two words>\n<>\n");

    let out = run_in(dir.path(), &["run", "--jit=off", "--error-format=short", "a.tvm", "z"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "1\n<z>\n"));

    let out = run_in(dir.path(), &["run", "a.tvm"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "0\n"));

    // The same from bytecode.
    assert_eq!(run_in(dir.path(), &["compile", "a.tvm"]).status, Some(0));
    let out = run_in(dir.path(), &["run", "a.tvmc", "b", "c"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "2\n<b>\n<c>\n"));

    // `--` after FILE is the program's, as it is for a built executable.
    build_in(dir.path(), "a.tvm", "a");
    let wanted = "3\n<-->\n<--help>\n<x>\n";
    let out = run_in(dir.path(), &["run", "a.tvm", "--", "--help", "x"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), wanted));
    let mut exe = std::process::Command::new(dir.path().join("a"));
    exe.args(["--", "--help", "x"]);
    let out = run_with(exe, b"", Duration::from_secs(60));
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), wanted));
    let out = run_in(dir.path(), &["run", "--jit=off", "--", "a.tvm", "--"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "1\n<-->\n"));
}

/// A read error on stdin (here: stdin is a directory) is a runtime error
/// that names it, not the end of the input, in every mode.
#[test]
fn stdin_read_errors_are_runtime_errors() {
    let dir = scratch();
    write(dir.path(), "getc.tvm", b"print \"before\";\nprint getc();\n");
    write(dir.path(), "line.tvm", b"print \"before\";\nprint readLine();\n");
    for program in ["getc", "line"] {
        let built = run_in(dir.path(), &["build", "--error-format=short", &format!("{program}.tvm"), "-o", program]);
        assert_eq!(built.status, Some(0), "{built:?}");
    }
    let expected = "Cannot read standard input: Is a directory.\n[line 2] in script\n";
    for program in ["getc", "line"] {
        let src = format!("{program}.tvm");
        let commands = [
            tinyvm_cmd(&["run", "--jit=off", "--error-format=short", &src]),
            tinyvm_cmd(&["run", "--jit=always", "--error-format=short", &src]),
            std::process::Command::new(dir.path().join(program)),
        ];
        for mut command in commands {
            let stdin = std::fs::File::open(dir.path()).expect("open the directory");
            let out = command.current_dir(dir.path()).stdin(stdin).output().expect("run");
            let got = (out.status.code(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert_eq!(got, (Some(70), "before\n".into(), expected.into()), "{command:?}");
        }
    }
}

/// The short format prints every frame of a trace, as clox does; the human
/// format shortens a deep one, saying how many frames it leaves out.
#[test]
fn short_traces_show_every_frame_human_traces_elide() {
    let dir = scratch();
    write(dir.path(), "deep.tvm", b"fun f(n) { if (n == 0) return nil.x; return f(n - 1); }\nf(40);\n");
    let short = run_in(dir.path(), &["run", "--error-format=short", "deep.tvm"]);
    let mut expected = String::from("Only instances have properties.\n");
    expected.push_str(&"[line 1] in f()\n".repeat(41));
    expected.push_str("[line 2] in script\n");
    assert_eq!((short.status, short.stderr.lines().count()), (Some(70), 43));
    assert_eq!(short.stderr, expected);

    write(dir.path(), "deeper.tvm", b"fun f(n) { if (n == 0) return nil.x; return f(n - 1); }\nf(100);\n");
    let human = run_in(dir.path(), &["run", "deeper.tvm"]);
    let lines: Vec<&str> = human.stderr.lines().collect();
    assert_eq!(human.status, Some(70));
    assert_eq!(lines[..2], ["error: Only instances have properties.", "  --> deeper.tvm:1"], "{}", human.stderr);
    let frames: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("    ")).collect();
    assert_eq!(frames.len(), 32 + 1 + 8, "{}", human.stderr);
    assert_eq!(frames[0], "    at f (deeper.tvm:1)");
    assert_eq!(frames[32], "    ... 62 more frames ...");
    assert_eq!(frames[40], "    at script (deeper.tvm:2)");
}

#[test]
fn exit_statuses_of_programs() {
    let dir = scratch();
    write(dir.path(), "ok.tvm", b"print \"fine\";\n");
    write(dir.path(), "runtime.tvm", b"print \"before\";\nprint -\"s\";\nprint \"after\";\n");
    write(dir.path(), "exit.tvm", b"print \"bye\";\nexit(42);\nprint \"not reached\";\n");
    let out = run_in(dir.path(), &["run", "ok.tvm"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "fine\n"));
    let out = run_in(dir.path(), &["run", "--error-format=short", "runtime.tvm"]);
    assert_eq!(
        out,
        Outcome {
            stdout: "before\n".into(),
            stderr: "Operand must be a number.\n[line 2] in script\n".into(),
            status: Some(70)
        }
    );
    let out = run_in(dir.path(), &["run", "exit.tvm"]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(42), "bye\n"));
}

#[test]
fn columns_are_right_at_the_end_of_a_long_line() {
    // Columns are counted incrementally along a line (the lexer once
    // recounted from the line start for every token).
    let dir = scratch();
    let path = dir.path().join("long.tvm");
    let mut line = "print 1;".repeat(5000);
    line.push_str("print é;");
    std::fs::write(&path, format!("{}\n", line)).unwrap();
    let out = run_tinyvm(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status, Some(65));
    assert!(out.stderr.contains(&format!("long.tvm:1:{}", 5000 * 8 + 7)), "{}", out.stderr);
}

/// Runs `command` with stdout on /dev/full: (stderr, exit status).
fn run_into_full_disk(command: &mut std::process::Command) -> (String, Option<i32>) {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("open /dev/full");
    let out =
        command.env_remove("TINYVM_STATS").stdout(full).stderr(std::process::Stdio::piped()).output().expect("spawn");
    (String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code())
}

#[test]
fn output_that_cannot_be_written_is_an_io_error() {
    let dir = scratch();
    write(dir.path(), "hello.tvm", b"print \"hello\";\n");
    write(dir.path(), "exit3.tvm", b"print \"hello\";\nexit(3);\n");
    let src = dir.path().join("hello.tvm");
    let exe = dir.path().join("hello");
    build_in(dir.path(), "hello.tvm", "hello");
    let message = "error: cannot write to standard output: No space left on device\n".to_string();
    for (label, mut command) in [
        ("run", tinyvm_cmd(&["run", src.to_str().unwrap()])),
        ("jit", tinyvm_cmd(&["run", "--jit=always", src.to_str().unwrap()])),
        ("disasm", tinyvm_cmd(&["disasm", src.to_str().unwrap()])),
        ("native", std::process::Command::new(&exe)),
    ] {
        assert_eq!(run_into_full_disk(&mut command), (message.clone(), Some(74)), "{label}");
    }
    // A program's own failure status stays; the lost output is still reported.
    let exit3 = dir.path().join("exit3.tvm");
    assert_eq!(run_into_full_disk(&mut tinyvm_cmd(&["run", exit3.to_str().unwrap()])), (message, Some(3)));
}

#[test]
fn a_closed_pipe_ends_the_program_like_a_c_program() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    let dir = scratch();
    write(dir.path(), "forever.tvm", b"var i = 0;\nwhile (true) { print i; i = i + 1; }\n");
    build_in(dir.path(), "forever.tvm", "forever");
    let src = dir.path().join("forever.tvm");
    for (label, mut command) in [
        ("run", tinyvm_cmd(&["run", src.to_str().unwrap()])),
        ("native", std::process::Command::new(dir.path().join("forever"))),
    ] {
        let mut child = command.stdout(std::process::Stdio::piped()).spawn().expect("spawn");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("read");
        assert_eq!(first, "0\n", "{label}");
        // The reader is gone: the next write must end the program.
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{label}: still running after its output pipe closed");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(status.signal(), Some(SIGPIPE), "{label}: {status:?}");
    }
}

/// SIGPIPE's number on Linux.
const SIGPIPE: i32 = 13;

/// When the parent ignores SIGPIPE, a closed pipe is a write error, as a C
/// program then gets EPIPE: reported, exit 74, in both products.
#[test]
fn a_closed_pipe_with_sigpipe_ignored_is_an_output_error() {
    use std::io::{BufRead, BufReader, Read};
    let dir = scratch();
    write(dir.path(), "forever.tvm", b"var i = 0;\nwhile (true) { print i; i = i + 1; }\n");
    build_in(dir.path(), "forever.tvm", "forever");
    let src = dir.path().join("forever.tvm");
    let exe = dir.path().join("forever");
    let programs: [Vec<&std::ffi::OsStr>; 2] =
        [vec![tinyvm().as_os_str().to_owned().leak(), "run".as_ref(), src.as_os_str()], vec![exe.as_os_str()]];
    for program in programs {
        // The shell ignores SIGPIPE, then becomes the program: it inherits that.
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("trap '' PIPE; exec \"$@\"")
            .arg("sh")
            .args(&program)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("read");
        assert_eq!(first, "0\n", "{program:?}");
        let mut stderr = String::new();
        child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
        let status = child.wait().expect("wait");
        assert_eq!(
            (status.code(), stderr.as_str()),
            (Some(74), "error: cannot write to standard output: Broken pipe\n"),
            "{program:?}"
        );
    }
}

#[test]
fn sleeping_longer_than_a_duration_holds_is_a_long_sleep_not_a_panic() {
    let dir = scratch();
    for (i, ms) in ["1/0", "1000000000000000000000000000000"].iter().enumerate() {
        let name = format!("sleep{i}.tvm");
        write(dir.path(), &name, format!("print \"before\";\nsleep({ms});\nprint \"after\";\n").as_bytes());
        let mut cmd = tinyvm_cmd(&["run", &name]);
        cmd.current_dir(dir.path());
        let out = run_with(cmd, b"", Duration::from_secs(2));
        assert_eq!((out.status, out.stdout.as_str(), out.stderr.as_str()), (None, "before\n", ""), "sleep({ms})");
    }
}

#[test]
fn an_output_that_is_the_input_is_refused() {
    let dir = scratch();
    let source = b"print 1;\n";
    write(dir.path(), "p.tvm", source);
    for args in
        [["build", "p.tvm", "-o", "p.tvm"], ["build", "p.tvm", "-o", "./p.tvm"], ["compile", "p.tvm", "-o", "p.tvm"]]
    {
        let out = run_in(dir.path(), &args);
        assert_eq!(out.status, Some(74), "{args:?}: {out:?}");
        assert_eq!(out.stderr, format!("error: output file '{}' is the same as the input file\n", args[3]), "{args:?}");
        assert_eq!(std::fs::read(dir.path().join("p.tvm")).unwrap(), source, "{args:?} changed the source");
    }
}

#[test]
fn a_closed_stdout_behaves_as_dev_null_in_every_mode() {
    let dir = scratch();
    write(dir.path(), "hello.tvm", b"print \"hello\";\n");
    build_in(dir.path(), "hello.tvm", "hello");
    for command in [format!("{} run hello.tvm", tinyvm().display()), "./hello".to_string()] {
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg(format!("exec >&- && exec {command}")).current_dir(dir.path());
        let out = run_with(cmd, b"", Duration::from_secs(60));
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""), "{command}");
    }
}

#[test]
fn arguments_that_are_not_utf8_reach_the_program_the_same_way_in_every_mode() {
    use std::os::unix::ffi::OsStrExt;
    let dir = scratch();
    write(dir.path(), "a.tvm", b"print args()[0];\n");
    build_in(dir.path(), "a.tvm", "a");
    let arg = std::ffi::OsStr::from_bytes(b"x\xffy");
    let mut run = tinyvm_cmd(&["run", "a.tvm"]);
    run.arg(arg).current_dir(dir.path());
    let mut exe = std::process::Command::new(dir.path().join("a"));
    exe.arg(arg);
    for (label, cmd) in [("run", run), ("native", exe)] {
        let out = run_with(cmd, b"", Duration::from_secs(60));
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), "x\u{fffd}y\n"), "{label}: {out:?}");
    }
}
