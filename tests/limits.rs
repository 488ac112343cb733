//! No fixed limits: generated programs with more locals, constants,
//! upvalues, jump distance, nesting and array elements than clox's one-byte
//! and two-byte operands allow compile and run with exact results. The only
//! limit left is clox's 255 arguments / parameters, with clox's messages.

mod common;

use common::*;

/// Writes `source` to `name` in a scratch directory and runs it.
fn run_source(name: &str, source: &str) -> Outcome {
    let dir = scratch();
    let path = dir.path().join(name);
    std::fs::write(&path, source).expect("write program");
    run_tinyvm(&["run", "--error-format=short", path.to_str().unwrap()])
}

/// The `tinyvm disasm` listing of `source`.
fn disasm_source(name: &str, source: &str) -> String {
    let dir = scratch();
    let path = dir.path().join(name);
    std::fs::write(&path, source).expect("write program");
    let out = run_tinyvm(&["disasm", path.to_str().unwrap()]);
    assert_eq!(out.status, Some(0), "disasm failed: {}", out.stderr);
    out.stdout
}

fn assert_runs(name: &str, source: &str, expected_stdout: &str) {
    let out = run_source(name, source);
    assert_eq!((out.status, out.stdout.as_str(), out.stderr.as_str()), (Some(0), expected_stdout, ""), "{name}");
}

/// The header line `arity A, upvalues U, max stack S, constants C, caches K`
/// of the function called `name` in a listing, as (upvalues, constants).
fn header_counts(listing: &str, kind_and_name: &str) -> (u64, u64) {
    let mut lines = listing.lines();
    while let Some(line) = lines.next() {
        if line.starts_with(kind_and_name) {
            let header = lines.next().expect("header line");
            let field = |label: &str| -> u64 {
                header
                    .split(',')
                    .map(str::trim)
                    .find_map(|part| part.strip_prefix(label))
                    .unwrap_or_else(|| panic!("no {label} in {header:?}"))
                    .trim()
                    .parse()
                    .expect("number")
            };
            return (field("upvalues "), field("constants "));
        }
    }
    panic!("no function {kind_and_name:?} in the listing");
}

/// Whether the listing has an instruction line whose words, after the offset
/// and line columns, are `words` (e.g. `GET_LOCAL %3 // x`).
fn has_instruction(listing: &str, words: &str) -> bool {
    let wanted: Vec<&str> = words.split_whitespace().collect();
    listing.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() > 2 && w[2..] == wanted[..]
    })
}

#[test]
fn a_function_with_a_thousand_locals() {
    let mut src = String::from("fun f() {\n");
    for i in 0..1000 {
        src.push_str(&format!("  var v{i} = {i};\n"));
    }
    // Write every local too, then read them all.
    for i in 0..1000 {
        src.push_str(&format!("  v{i} = v{i} * 2 + 1;\n"));
    }
    src.push_str("  var sum = 0;\n");
    for i in 0..1000 {
        src.push_str(&format!("  sum = sum + v{i};\n"));
    }
    src.push_str("  return sum;\n}\nprint f();\n");
    // sum of (2i + 1) for i < 1000 = 2 * 499500 + 1000
    let expected: u64 = (0..1000u64).map(|i| 2 * i + 1).sum();
    assert_eq!(expected, 1_000_000);
    assert_runs("locals.tvm", &src, "1000000\n");

    // Slot 0 is the function itself, so v999 is slot 1000 and sum 1001.
    let listing = disasm_source("locals.tvm", &src);
    assert!(has_instruction(&listing, "GET_LOCAL %1000 // v999"), "{listing}");
    assert!(has_instruction(&listing, "SET_LOCAL %1001 // sum"), "{listing}");
}

#[test]
fn a_block_in_the_script_with_a_thousand_locals() {
    let mut src = String::from("{\n");
    for i in 0..1000 {
        src.push_str(&format!("  var v{i} = \"s{i}\";\n"));
    }
    src.push_str("  print v0 + v500 + v999;\n}\n");
    assert_runs("block_locals.tvm", &src, "s0s500s999\n");
}

#[test]
fn a_function_with_fifteen_hundred_distinct_constants() {
    let mut src = String::from("fun f() {\n  var sum = 0;\n");
    for i in 0..1500 {
        src.push_str(&format!("  sum = sum + {i}.5;\n"));
    }
    src.push_str("  return sum;\n}\nprint f();\n");
    // sum of (i + 0.5) for i < 1500 = 1124250 + 750
    assert_runs("constants.tvm", &src, "1125000\n");
    let listing = disasm_source("constants.tvm", &src);
    let (_, constants) = header_counts(&listing, "function f ");
    assert!(constants >= 1501, "f has only {constants} constants");
    assert!(listing.contains("// 1499.5"), "{listing}");
}

#[test]
fn a_thousand_distinct_string_constants_and_fields() {
    // Every field name is a string constant of init() and of total().
    let mut src = String::from("class Wide {\n  init() {\n");
    for i in 0..1000 {
        src.push_str(&format!("    this.field{i} = {i};\n"));
    }
    src.push_str("  }\n  total() {\n    var t = 0;\n");
    for i in 0..1000 {
        src.push_str(&format!("    t = t + this.field{i};\n"));
    }
    src.push_str("    return t;\n  }\n}\nvar w = Wide();\nprint w.total();\nprint w.field999;\n");
    assert_runs("fields.tvm", &src, "499500\n999\n");
}

#[test]
fn a_loop_body_over_64_kilobytes() {
    const STATEMENTS: u64 = 20_000;
    let mut src = String::from("var s = 0;\nfor (var k = 0; k < 3; k = k + 1) {\n");
    for i in 0..STATEMENTS {
        src.push_str(&format!("  s = s + {};\n", i % 7));
    }
    src.push_str("}\nprint s;\n");
    let expected: u64 = 3 * (0..STATEMENTS).map(|i| i % 7).sum::<u64>();
    assert_eq!(expected, 179_991);
    assert_runs("big_loop.tvm", &src, "179991\n");

    // The listing shows the backward LOOP and the forward exit jump both
    // spanning more than 65535 bytes.
    let listing = disasm_source("big_loop.tvm", &src);
    let distance = |mnemonic: &str| -> i64 {
        listing
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace().skip(2);
                (words.next() == Some(mnemonic)).then(|| words.next().unwrap().parse::<i64>().unwrap())
            })
            .map(i64::abs)
            .max()
            .unwrap_or_else(|| panic!("no {mnemonic} in the listing"))
    };
    assert!(distance("LOOP") > 65535, "LOOP distance {}", distance("LOOP"));
    assert!(distance("JUMP_IF_FALSE") > 65535, "JUMP_IF_FALSE distance {}", distance("JUMP_IF_FALSE"));
}

#[test]
fn an_if_branch_over_64_kilobytes() {
    let mut src = String::from("fun f(flag) {\n  var n = 0;\n  if (flag) {\n");
    for _ in 0..10_000 {
        src.push_str("    n = n + 1;\n");
    }
    src.push_str("  } else {\n");
    for _ in 0..10_000 {
        src.push_str("    n = n - 1;\n");
    }
    src.push_str("  }\n  return n;\n}\nprint f(true);\nprint f(false);\n");
    assert_runs("big_if.tvm", &src, "10000\n-10000\n");
}

#[test]
fn a_closure_capturing_three_hundred_variables() {
    // inner() captures the 300 locals of outer() through middle(), so both
    // closures have 300 upvalues; the capture is by reference.
    let mut src = String::from("fun outer() {\n");
    for i in 0..300 {
        src.push_str(&format!("  var c{i} = {};\n", i + 1));
    }
    src.push_str("  fun middle() {\n    fun inner() {\n      return ");
    let terms: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
    src.push_str(&terms.join(" + "));
    src.push_str(";\n    }\n    return inner;\n  }\n");
    src.push_str("  var f = middle();\n  c0 = 1001;\n  c299 = 0;\n  return f;\n}\n");
    src.push_str("var g = outer();\nprint g();\n");
    // 1 + ... + 300 = 45150; c0 goes from 1 to 1001, c299 from 300 to 0.
    assert_runs("upvalues.tvm", &src, "45850\n");

    let listing = disasm_source("upvalues.tvm", &src);
    let (inner_upvalues, _) = header_counts(&listing, "function inner ");
    let (middle_upvalues, _) = header_counts(&listing, "function middle ");
    assert_eq!((inner_upvalues, middle_upvalues), (300, 300));
}

#[test]
fn three_hundred_nested_blocks() {
    let mut src = String::new();
    for i in 0..300 {
        src.push_str(&format!("{{ var x{i} = {i};\n"));
    }
    // The innermost block sees every enclosing variable.
    let terms: Vec<String> = (0..300).map(|i| format!("x{i}")).collect();
    src.push_str(&format!("print {};\n", terms.join(" + ")));
    for _ in 0..300 {
        src.push_str("}\n");
    }
    src.push_str("print \"out\";\n");
    assert_runs("blocks.tvm", &src, "44850\nout\n");
}

#[test]
fn three_hundred_nested_parentheses_and_ifs() {
    let expr = format!("{}1{}", "(".repeat(300), " + 1)".repeat(300));
    let mut src = format!("print {expr};\nvar n = 0;\n");
    for _ in 0..300 {
        src.push_str("if (true) { n = n + 1;\n");
    }
    src.push_str(&"}".repeat(300));
    src.push_str("\nprint n;\n");
    assert_runs("nesting.tvm", &src, "301\n300\n");
}

#[test]
fn an_array_literal_of_ten_thousand_elements() {
    let items: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
    let src = format!(
        "var a = [{}];\nprint len(a);\nprint a[0];\nprint a[9999];\n\
         var s = 0;\nfor (var i = 0; i < len(a); i = i + 1) s = s + a[i];\nprint s;\n",
        items.join(", ")
    );
    assert_runs("big_array.tvm", &src, "10000\n0\n9999\n49995000\n");
}

fn params(n: usize) -> String {
    (0..n).map(|i| format!("p{i}")).collect::<Vec<_>>().join(", ")
}

fn args(n: usize) -> String {
    (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

fn sum_params(n: usize) -> String {
    (0..n).map(|i| format!("p{i}")).collect::<Vec<_>>().join(" + ")
}

#[test]
fn exactly_255_parameters_and_arguments_work() {
    let src = format!(
        "fun f({p}) {{ return {s}; }}\n\
         class C {{\n  init({p}) {{ this.total = {s}; }}\n  m({p}) {{ return p254 - p0; }}\n}}\n\
         print f({a});\n\
         var c = C({a});\n\
         print c.total;\n\
         print c.m({a});\n\
         var bound = c.m;\n\
         print bound({a});\n",
        p = params(255),
        s = sum_params(255),
        a = args(255)
    );
    // 0 + 1 + ... + 254 = 32385
    assert_runs("args255.tvm", &src, "32385\n32385\n254\n254\n");
}

#[test]
fn calling_with_the_wrong_number_of_many_arguments() {
    let src = format!("fun f({}) {{ return 1; }}\nf({});\n", params(255), args(254));
    let out = run_source("arity.tvm", &src);
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (Some(70), "", "Expected 255 arguments but got 254.\n[line 2] in script\n")
    );
}

#[test]
fn a_256th_parameter_is_a_compile_error() {
    let src = format!("fun f({}) {{ return 1; }}\nprint \"not run\";\n", params(256));
    let out = run_source("params256.tvm", &src);
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (Some(65), "", "[line 1] Error at 'p255': Can't have more than 255 parameters.\n")
    );
}

#[test]
fn a_256th_argument_is_a_compile_error() {
    let src = format!("fun f() {{ return 1; }}\nf({});\nprint \"not run\";\n", args(256));
    let out = run_source("args256.tvm", &src);
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (Some(65), "", "[line 2] Error at '255': Can't have more than 255 arguments.\n")
    );
}

#[test]
fn a_256th_argument_of_a_method_call_is_a_compile_error() {
    let src = format!("class A {{ m() {{}} }}\nvar a = A();\na.m({});\nA({});\n", args(256), args(256));
    let out = run_source("method256.tvm", &src);
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (
            Some(65),
            "",
            "[line 3] Error at '255': Can't have more than 255 arguments.\n\
             [line 4] Error at '255': Can't have more than 255 arguments.\n"
        )
    );
}

#[test]
fn a_thousand_global_variables() {
    let mut src = String::new();
    for i in 0..1000 {
        src.push_str(&format!("var g{i} = {i};\n"));
    }
    src.push_str("fun total() {\n  return 0");
    for i in 0..1000 {
        src.push_str(&format!(" + g{i}"));
    }
    src.push_str(";\n}\ng999 = -1;\nprint total();\n");
    // 0 + ... + 998, and -1 for g999
    assert_runs("globals.tvm", &src, "498500\n");
}

/// Every construct that nests, generated 100,000 levels deep: a compile
/// error (clox would overflow its C stack; a toolchain reports an error),
/// never a crash, in `run`, `compile` and `build`. The parser counts
/// nesting (`MAX_NESTING`, 10,000), operator chains included, because the
/// parser, the emitter and the tree's destructor recurse over it.
fn absurdly_nested_programs() -> Vec<(&'static str, String)> {
    const DEPTH: usize = 100_000;
    let nest =
        |open: &str, middle: &str, close: &str| format!("{}{}{}", open.repeat(DEPTH), middle, close.repeat(DEPTH));
    vec![
        ("parentheses", format!("print {};\n", nest("(", "1", ")"))),
        ("blocks", format!("{}\nprint 2;\n", nest("{", "", "}"))),
        ("negations", format!("print {}3;\n", "-".repeat(DEPTH))),
        ("nots", format!("print {}true;\n", "!".repeat(DEPTH))),
        ("arrays", format!("var a = {};\n", nest("[", "", "]"))),
        ("indexes", format!("var a = [0];\nprint {};\n", nest("a[", "0", "]"))),
        ("call arguments", format!("fun f(x) {{ return x; }}\nprint {};\n", nest("f(", "1", ")"))),
        ("call chain", format!("fun f() {{ return f; }}\nf{};\n", "()".repeat(DEPTH))),
        ("property chain", format!("class A {{}}\nvar a = A();\nprint a{};\n", ".x".repeat(DEPTH))),
        ("sum chain", format!("print 0{};\n", "+1".repeat(DEPTH))),
        ("and chain", format!("print true{};\n", " and true".repeat(DEPTH))),
        ("assignments", format!("var a;\n{}1;\n", "a = ".repeat(DEPTH))),
        ("ifs", format!("{}print 1;\n", "if (true) ".repeat(DEPTH))),
        ("else-if chain", format!("if (false) print 0;\n{}print 1;\n", "else if (false) print 0;\n".repeat(DEPTH))),
        ("whiles", format!("{}print 1;\n", "while (false) ".repeat(DEPTH))),
        ("fors", format!("{}print 1;\n", "for (;false;) ".repeat(DEPTH))),
        ("locks", format!("{}print 1;\n", "lock (\"l\") ".repeat(DEPTH))),
        ("functions", format!("{}\n", nest("fun f() {", "", "}"))),
        ("classes and methods", format!("{}\n", nest("class A { m() {", "", "} }"))),
        ("spawns", format!("fun f() {{}}\n{}f();\n", "spawn ".repeat(DEPTH))),
        ("closures returning closures", format!("{}\n", nest("fun f() { fun g() {", "", "} return g; }"))),
    ]
}

#[test]
fn absurd_nesting_is_a_compile_error_never_a_crash() {
    let dir = scratch();
    let mut failures = Vec::new();
    for (what, src) in absurdly_nested_programs() {
        let path = dir.path().join("nested.tvm");
        std::fs::write(&path, &src).expect("write program");
        let path = path.to_str().unwrap();
        let exe = dir.path().join("nested");
        let commands: [Vec<&str>; 3] = [
            vec!["run", "--error-format=short", path],
            vec!["compile", "--error-format=short", path, "-o", "/dev/null"],
            vec!["build", "--error-format=short", path, "-o", exe.to_str().unwrap()],
        ];
        for args in commands {
            let out = run_tinyvm(&args);
            let expected = "Error at";
            let ok = out.status == Some(65)
                && out.stdout.is_empty()
                && out.stderr.lines().count() == 1
                && out.stderr.contains(expected)
                && out.stderr.ends_with(": Too deeply nested.\n");
            if !ok {
                failures.push(format!("{what} ({}): status {:?}, stderr {:?}", args[0], out.status, out.stderr));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Just under the limit every construct compiles and runs.
#[test]
fn deep_but_reasonable_nesting_works() {
    const DEPTH: usize = 3_000;
    let cases = [
        ("sum.tvm", format!("print 0{};\n", "+1".repeat(DEPTH)), "3000\n"),
        ("functions.tvm", format!("{}print 5;{}\n", "fun f() {".repeat(DEPTH), "} f();".repeat(DEPTH)), "5\n"),
        ("parens.tvm", format!("print {}7{};\n", "(".repeat(DEPTH), ")".repeat(DEPTH)), "7\n"),
    ];
    for (name, src, expected) in cases {
        assert_runs(name, &src, expected);
    }
}

#[test]
fn a_million_linked_instances_survive_collection() {
    let src = "\
class Node { init(value, next) { this.value = value; this.next = next; } }
var list = nil;
for (var i = 1; i <= 1000000; i = i + 1) list = Node(i, list);
var garbage = nil;
for (var i = 0; i < 200000; i = i + 1) garbage = [i, str(i)];
var sum = 0;
var count = 0;
while (list != nil) { sum = sum + list.value; count = count + 1; list = list.next; }
print count;
print sum;
";
    // 1 + ... + 1000000 = 500000500000
    assert_runs("linked.tvm", src, "1000000\n500000500000\n");
}
