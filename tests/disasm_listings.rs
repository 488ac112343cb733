//! `tinyvm disasm`: snapshot tests of the bytecode listing (offsets, source
//! lines, operands, resolved names and jump targets), and the same listing
//! from a `.tvmc` file as from its source.
//!
//! The snapshots in tests/snapshots/ were checked by hand against the
//! programs; each program's expectations are also asserted directly below.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

fn tinyvm_in(dir: &Path, args: &[&str]) -> Outcome {
    let mut cmd = tinyvm_cmd(args);
    cmd.current_dir(dir);
    run_with(cmd, b"", Duration::from_secs(60))
}

/// Lists `source` saved as `name` (relative, so the listing names it so).
fn disasm(name: &str, source: &str) -> String {
    let dir = scratch();
    std::fs::write(dir.path().join(name), source).unwrap();
    let out = tinyvm_in(dir.path(), &["disasm", name]);
    assert_eq!(out.status, Some(0), "disasm {name}: {}", out.stderr);
    assert_eq!(out.stderr, "");
    out.stdout
}

/// The instruction lines of one function of a listing, as words after the
/// offset column (`["7", "GET_LOCAL", "%1", "//", "x"]`, line `|` kept).
fn function_lines<'a>(listing: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = listing.lines().skip_while(|l| !l.starts_with(header));
    assert!(lines.next().is_some(), "no {header:?} in\n{listing}");
    lines.skip(2).take_while(|l| !l.is_empty()).collect()
}

const GLOBALS_AND_LOCALS: &str = "\
var greeting = \"hi\";
var count = 2;
{
  var local = count + 1;
  local = local * 10;
  print greeting + str(local);
}
count = -count;
";

#[test]
fn globals_and_locals() {
    let listing = disasm("globals.tvm", GLOBALS_AND_LOCALS);
    // Globals are slots with their names resolved; the block's variable is
    // local slot 1 (slot 0 belongs to the script).
    let script = function_lines(&listing, "script");
    assert!(script.iter().any(|l| l.ends_with("DEFINE_GLOBAL   @0               // greeting")));
    assert!(script.iter().any(|l| l.ends_with("SET_LOCAL       %1               // local")));
    assert!(script.iter().any(|l| l.ends_with("SET_GLOBAL      @1               // count")));
    insta::assert_snapshot!("globals_and_locals", listing);
}

const CLOSURES: &str = "\
fun makeCounter() {
  var count = 0;
  fun increment() {
    count = count + 1;
    return count;
  }
  return increment;
}
var counter = makeCounter();
print counter();
{
  var shared = \"block\";
  fun get() { return shared; }
  print get();
}
";

#[test]
fn upvalues_and_closures() {
    let listing = disasm("closures.tvm", CLOSURES);
    let make = function_lines(&listing, "function makeCounter");
    assert!(
        make.iter().any(|l| l.contains("CLOSURE") && l.ends_with("// <fn increment>, captures local %1")),
        "{listing}"
    );
    let increment = function_lines(&listing, "function increment");
    assert!(increment.iter().any(|l| l.contains("GET_UPVALUE     ^0")), "{listing}");
    assert!(increment.iter().any(|l| l.contains("SET_UPVALUE     ^0")), "{listing}");
    // Leaving the block closes the captured local.
    let script = function_lines(&listing, "script");
    assert!(script.iter().any(|l| l.ends_with("CLOSE_UPVALUE")), "{listing}");
    insta::assert_snapshot!("upvalues_and_closures", listing);
}

const CONTROL_FLOW: &str = "\
fun classify(n) {
  if (n < 0) return \"negative\";
  else if (n == 0 or n != n) return \"zero\";
  return \"positive\";
}
var total = 0;
for (var i = 0; i < 3; i = i + 1) {
  total = total + i;
}
while (total > 0 and true) total = total - 2;
print classify(total);
";

#[test]
fn jumps_and_loops() {
    let listing = disasm("flow.tvm", CONTROL_FLOW);
    // Every jump's comment names its target, and the target is the offset
    // of an instruction of the same function; LOOP goes backwards.
    let mut jumps = 0;
    for function in listing.split("\n\n") {
        let offsets: Vec<i64> =
            function.lines().skip(3).map(|l| l.split_whitespace().next().unwrap().parse().unwrap()).collect();
        for line in function.lines().skip(3) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(arrow) = words.iter().position(|w| *w == "->") {
                jumps += 1;
                let offset: i64 = words[0].parse().unwrap();
                let target: i64 = words[arrow + 1].parse().unwrap();
                let delta: i64 = words[3].parse().unwrap();
                // Jump operands are relative to the end of the 5-byte jump.
                assert_eq!(target, offset + 5 + delta, "{line}");
                assert!(offsets.contains(&target), "{line}: not an instruction");
                assert_eq!(words[2] == "LOOP", target < offset, "{line}");
            }
        }
    }
    assert!(jumps >= 8, "only {jumps} jumps in\n{listing}");
    insta::assert_snapshot!("jumps_and_loops", listing);
}

const CLASSES: &str = "\
class Base {
  init(name) { this.name = name; }
  hello() { return \"hello \" + this.name; }
}
class Derived < Base {
  hello() { return super.hello() + \"!\"; }
}
var d = Derived(\"d\");
print d.hello();
var m = d.hello;
d.name = \"e\";
print m();
";

#[test]
fn classes_methods_and_invoke() {
    let listing = disasm("classes.tvm", CLASSES);
    assert!(listing.contains("\ninitializer Base.init (classes.tvm:2)\n"), "{listing}");
    assert!(listing.contains("\nmethod Derived.hello (classes.tvm:6)\n"), "{listing}");
    let script = function_lines(&listing, "script");
    assert!(script.iter().any(|l| l.contains("INHERIT")));
    assert!(script.iter().any(|l| l.contains("INVOKE") && l.ends_with("// \"hello\"")));
    let derived = function_lines(&listing, "method Derived.hello");
    assert!(derived.iter().any(|l| l.contains("SUPER_INVOKE") && l.ends_with("// \"hello\"")));
    assert!(derived[0].ends_with("GET_LOCAL       %0               // this"), "{listing}");
    insta::assert_snapshot!("classes_methods_and_invoke", listing);
}

const ARRAYS: &str = "\
var a = [1, \"two\", [3]];
a[1] = a[2][0] + 4;
push(a, nil);
print a;
print \"abc\"[1];
";

#[test]
fn arrays() {
    let listing = disasm("arrays.tvm", ARRAYS);
    let script = function_lines(&listing, "script");
    assert!(script.iter().any(|l| l.ends_with("ARRAY           1")), "{listing}");
    assert!(script.iter().any(|l| l.ends_with("ARRAY           3")), "{listing}");
    assert_eq!(script.iter().filter(|l| l.ends_with("GET_INDEX")).count(), 3, "{listing}");
    assert_eq!(script.iter().filter(|l| l.ends_with("SET_INDEX")).count(), 1, "{listing}");
    insta::assert_snapshot!("arrays", listing);
}

#[test]
fn a_bytecode_file_lists_like_its_source() {
    let dir = scratch();
    for (name, source) in [
        ("globals.tvm", GLOBALS_AND_LOCALS),
        ("closures.tvm", CLOSURES),
        ("flow.tvm", CONTROL_FLOW),
        ("classes.tvm", CLASSES),
        ("arrays.tvm", ARRAYS),
    ] {
        std::fs::write(dir.path().join(name), source).unwrap();
        let compiled = tinyvm_in(dir.path(), &["compile", name]);
        assert_eq!(compiled.status, Some(0), "{}", compiled.stderr);
        let from_source = tinyvm_in(dir.path(), &["disasm", name]);
        let tvmc = name.replace(".tvm", ".tvmc");
        let from_bytecode = tinyvm_in(dir.path(), &["disasm", &tvmc]);
        assert_eq!(from_source.status, Some(0));
        assert!(!from_source.stdout.is_empty());
        assert_eq!(from_source, from_bytecode, "{name}");
    }
}

#[test]
fn disasm_of_a_file_with_errors_reports_them() {
    let dir = scratch();
    std::fs::write(dir.path().join("bad.tvm"), "print ;\n").unwrap();
    let out = tinyvm_in(dir.path(), &["disasm", "--error-format=short", "bad.tvm"]);
    assert_eq!(
        out,
        Outcome {
            stdout: String::new(),
            stderr: "[line 1] Error at ';': Expect expression.\n".into(),
            status: Some(65)
        }
    );
}
