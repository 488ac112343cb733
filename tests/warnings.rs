//! Warnings (DESIGN.md 1.4): `check`, `build` and `compile` report reads of
//! globals nothing defines, locals never read and statements after
//! `return`/`break`/`continue`, in the human format only, with a snippet
//! and caret; `run` never does; warnings never change the exit status.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

fn in_dir(dir: &Path, args: &[&str]) -> Outcome {
    let mut cmd = tinyvm_cmd(args);
    cmd.current_dir(dir);
    run_with(cmd, b"", Duration::from_secs(60))
}

/// The warnings of `tinyvm check FILE` as (line, message) pairs.
fn warnings(dir: &Path, source: &str) -> Vec<(u32, String)> {
    std::fs::write(dir.join("w.tvm"), source).unwrap();
    let out = in_dir(dir, &["check", "w.tvm"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(message) = line.strip_prefix("warning: ") else { continue };
        if message.contains("generated") {
            continue;
        }
        let at = lines.get(i + 1).and_then(|l| l.trim().strip_prefix("--> w.tvm:")).unwrap_or("0:0");
        let line_number = at.split(':').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        found.push((line_number, message.to_string()));
    }
    found
}

fn pairs(expected: &[(u32, &str)]) -> Vec<(u32, String)> {
    expected.iter().map(|&(l, m)| (l, m.to_string())).collect()
}

#[test]
fn each_warning_is_reported_where_it_applies() {
    let dir = scratch();
    let source = "\
fun f(param) {
  var unused = 1;
  var used = 2;
  var _ignored = 3;
  while (true) {
    brek;
    break;
    print \"never\";
  }
  return used;
  print \"after return\";
}
for (var i = 0; i < 3; i = i + 1) {
  continue;
  i = 5;
}
print f(1);
print undefinedThing;
";
    assert_eq!(
        warnings(dir.path(), source),
        pairs(&[
            (2, "Local variable 'unused' is never read."),
            (6, "Undefined variable 'brek'."),
            (8, "Unreachable statement."),
            (11, "Unreachable statement."),
            (15, "Unreachable statement."),
            (18, "Undefined variable 'undefinedThing'."),
        ])
    );
}

#[test]
fn what_is_not_a_warning() {
    let dir = scratch();
    // A global defined later in the file, one defined in an import, a
    // native, a parameter never read, a local only read in a closure, a
    // class's methods reading globals, a subclass that never says `super`,
    // the hidden locals of a for-in loop.
    std::fs::write(dir.path().join("lib.tvm"), "var fromImport = 1;\n").unwrap();
    let source = "\
import \"lib.tvm\";
fun early() { return later + fromImport + len(\"x\"); }
var later = 2;
fun g(unusedParam) {
  var captured = 3;
  fun h() { return captured; }
  return h();
}
class C { m() { return later; } }
class D < C { n() { return 1; } }
for (var x in [1]) print x;
print early() + g(0) + C().m() + D().n();
";
    assert_eq!(warnings(dir.path(), source), pairs(&[]));
    // A program that calls load() may define any global.
    assert_eq!(warnings(dir.path(), "load(\"x.tvmc\");\nprint definedByTheModule;\n"), pairs(&[]));
}

#[test]
fn warnings_show_in_human_builds_only_and_never_change_the_status() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("w.tvm"),
        "var i = 0;\nwhile (i < 10) {\n  i = i + 1;\n  if (i == 3) brek;\n  if (i == 4) break;\n}\nprint i;\n",
    )
    .unwrap();
    let check = in_dir(dir.path(), &["check", "w.tvm"]);
    assert_eq!(check.status, Some(0));
    assert_eq!(
        check.stderr,
        "warning: Undefined variable 'brek'.\n  --> w.tvm:4:15\n  |\n4 |   if (i == 3) brek;\n  |               ^^^^\n\nwarning: `w.tvm` generated 1 warning\n"
    );
    for args in [&["build", "w.tvm", "-o", "w"][..], &["compile", "w.tvm"]] {
        let out = in_dir(dir.path(), args);
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), check.stderr.as_str()), "{args:?}");
    }
    for args in
        [&["check", "--error-format=short", "w.tvm"][..], &["build", "--error-format=short", "w.tvm", "-o", "w"]]
    {
        let out = in_dir(dir.path(), args);
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""), "{args:?}");
    }
    // `run` never warns; `break;` leaves the loop at 4 (the misspelled
    // `brek;` is a read of an undefined global, a runtime error at 3).
    let run = in_dir(dir.path(), &["run", "w.tvm"]);
    assert_eq!(run.status, Some(70));
    assert!(run.stderr.starts_with("error: Undefined variable 'brek'."), "{}", run.stderr);
    std::fs::write(dir.path().join("ok.tvm"), "var i = 0;\nwhile (true) { i = i + 1; if (i == 4) break; }\nprint i;\n")
        .unwrap();
    let ok = in_dir(dir.path(), &["run", "ok.tvm"]);
    assert_eq!((ok.status, ok.stdout.as_str(), ok.stderr.as_str()), (Some(0), "4\n", ""));
    // Errors still fail with warnings around.
    std::fs::write(dir.path().join("bad.tvm"), "var unused;\n{ var x = 1; }\nprint ;\n").unwrap();
    let bad = in_dir(dir.path(), &["check", "bad.tvm"]);
    assert_eq!(bad.status, Some(65));
}
