//! The REPL (`tinyvm` with no arguments, `tinyvm repl`), fed through a
//! pipe: lines are then read as they come, with no prompt and no line
//! editing, and run exactly as typed ones.

mod common;

use common::*;
use std::time::Duration;

fn repl(args: &[&str], input: &str) -> Outcome {
    run_with(tinyvm_cmd(args), input.as_bytes(), Duration::from_secs(60))
}

#[test]
fn expressions_print_their_value_and_definitions_persist() {
    let input = "\
var x = 40;
x + 2
fun twice(n) {
  return n * 2;
}
twice(x)
class Counter { init() { this.n = 0; } bump() { this.n = this.n + 1; return this; } }
var c = Counter();
c.bump().bump().n;
\"a\" + \"b\"
print \"printed\"
nil
[1, 2, 3]
";
    for args in [&[][..], &["repl"]] {
        let out = repl(args, input);
        let expected =
            Outcome { stdout: "42\n80\n2\nab\nprinted\n[1, 2, 3]\n".into(), stderr: String::new(), status: Some(0) };
        assert_eq!(out, expected, "{args:?}");
    }
}

#[test]
fn a_runtime_error_ends_the_line_not_the_session() {
    let input = "var x = 1;\nx + nil\nprint x;\nundefined\nx = x + 1;\nx\n";
    let out = repl(&["repl"], input);
    // An assignment is an expression: its value prints (as in node).
    assert_eq!(out.stdout, "1\n2\n2\n");
    assert_eq!(
        out.stderr,
        "\
error: Operands must be two numbers or two strings.
  --> <repl 2>:1:3
  |
1 | x + nil
  |   ^
    at script (<repl 2>:1:3)
error: Undefined variable 'undefined'.
  --> <repl 4>:1:1
  |
1 | undefined
  | ^
    at script (<repl 4>:1:1)
"
    );
    assert_eq!(out.status, Some(0));
}

#[test]
fn short_errors_in_the_repl_are_clox_lines() {
    let out = repl(&["repl", "--error-format=short"], "print 1 +;\nprint nil.x;\nprint 3;\n");
    assert_eq!(out.stdout, "3\n");
    assert_eq!(
        out.stderr,
        "[line 1] Error at ';': Expect expression.\nOnly instances have properties.\n[line 1] in script\n"
    );
    assert_eq!(out.status, Some(0));
}

#[test]
fn an_unfinished_entry_continues_on_the_next_line() {
    // An open block and a dangling operator wait for more lines; a line
    // with an error before its end is reported at once.
    let input = "fun f(n) {\n  return n + 1;\n}\nf(1) +\n  10\nvar = 3;\nprint f(0);\n";
    let out = repl(&["repl"], input);
    assert_eq!(out.stdout, "12\n1\n");
    assert!(out.stderr.starts_with("error: Expect variable name.\n  --> <repl 3>:1:5\n"), "{}", out.stderr);
    // Input that ends in the middle of an entry: its errors.
    let out = repl(&["repl", "--error-format=short"], "print 1;\nfun g() {\n");
    assert_eq!(out.stdout, "1\n");
    assert_eq!(out.stderr, "[line 2] Error at end: Expect '}' after block.\n");
}

#[test]
fn threads_spawned_in_one_line_finish_before_the_repl_exits() {
    let input = "fun work(n) { print n * 10; }\nvar t = spawn work(4);\nprint \"next\";\n";
    let out = repl(&["repl"], input);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort();
    assert_eq!(lines, ["40", "next"], "{out:?}");
    assert_eq!(out.status, Some(0));
}

/// On a terminal (util-linux's `script` gives it one): rustyline's prompt
/// and line editing, and the history file. Keys are typed with pauses, as
/// a person types (rustyline discards input typed before its prompt).
#[test]
fn on_a_terminal_lines_are_edited_and_kept_in_the_history() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let home = scratch();
    let shell = format!("{} repl", tinyvm().display());
    let Ok(mut child) = Command::new("script")
        .args(["-qec", &shell, "/dev/null"])
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("skipped: no `script` to give the REPL a terminal");
        return;
    };
    let mut keys = child.stdin.take().expect("stdin");
    // Ctrl-A moves to the start of the line: `* 2` typed after it, `a` and
    // the rest after Ctrl-E; then Ctrl-D ends the session.
    for typed in ["var a = 20;\r", "* 2\x01a \x05\r", "\x04"] {
        std::thread::sleep(Duration::from_millis(400));
        let _ = keys.write_all(typed.as_bytes());
        let _ = keys.flush();
    }
    std::thread::sleep(Duration::from_millis(400));
    drop(keys);
    let out = child.wait_with_output().expect("wait");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("> "), "no prompt: {screen:?}");
    assert!(screen.contains("40\r\n"), "a * 2 did not print 40: {screen:?}");
    let history = std::fs::read_to_string(home.path().join(".tinyvm_history")).expect("history file");
    assert_eq!(history, "#V2\nvar a = 20;\na * 2\n");
}
