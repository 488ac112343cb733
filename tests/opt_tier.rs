//! The optimizing tier (`TINYVM_OPT`): programs in its subset give exactly
//! the interpreter's stdout, stderr and exit status when optimized eagerly,
//! when every guard fails once (`TINYVM_DEOPT_STRESS=1`), when tiered up
//! by hotness, and under GC stress; and the statistics report it.

mod common;

use common::*;
use std::time::Duration;

/// Numeric loops, every comparison, equality with other values, `!`,
/// negation, NaN and -0, constants folded.
const NUMERIC: &str = r#"
fun sum(n) {
  var s = 0;
  for (var i = 0; i < n; i = i + 1) { s = s + i * 2 - 1 / 4; }
  return s;
}
fun compare(a, b) {
  var r = 0;
  if (a < b) r = r + 1;
  if (a <= b) r = r + 10;
  if (a > b) r = r + 100;
  if (a >= b) r = r + 1000;
  if (a == b) r = r + 10000;
  if (a != b) r = r + 100000;
  return r;
}
fun bools(a, b) {
  var x = a < b;
  var y = !(a == b);
  var z = !a;
  return (x == y) == z;
}
fun misc(a) {
  var k = 2 * 3 + 4;
  while (a > 0) { a = a - k; }
  if (a == nil) return "nil";
  return -a;
}
fun nested(n) {
  var t = 0;
  var i = 0;
  while (i < n) {
    var j = 0;
    while (j < i) { t = t + j; j = j + 1; }
    i = i + 1;
  }
  return t;
}
var nan = 0 / 0;
for (var round = 0; round < 3; round = round + 1) {
  print sum(100 + round);
  print compare(1, 2);
  print compare(2, 2);
  print compare(3, 2);
  print compare(nan, 1);
  print compare(0, -0);
  print bools(1, 2);
  print bools(nan, nan);
  print misc(95);
  print misc(-0);
  print nested(40);
  print -0 == 0;
}
"#;

const FIB: &str = r#"
fun fib(n) {
  if (n < 2) return n;
  return fib(n - 2) + fib(n - 1);
}
print fib(22);
print fib(1.5);
"#;

/// An argument whose type changes mid-run: the speculation fails, the
/// frame continues in the interpreter, later calls still work.
const TYPE_CHANGE: &str = r#"
fun twice(x) { return x + x; }
fun maybe(x) {
  if (x == nil) return 0;
  return x * 3;
}
var total = 0;
for (var i = 0; i < 3000; i = i + 1) { total = total + twice(i) + maybe(i); }
print total;
print twice("ab");
print maybe(nil);
for (var i = 0; i < 3000; i = i + 1) { total = total + twice(i) + maybe(nil); }
print total;
print twice(true);
"#;

/// A runtime error in an optimized function after a deopt, three frames deep.
const ERROR_AFTER_DEOPT: &str = r#"
fun inner(a, b) {
  var t = a - b;
  return t * undefinedThing;
}
fun middle(a) { return inner(a, 1) + 1; }
fun outer(a) { return middle(a) * 2; }
var g = 1;
fun useGlobal(n) { return n + g; }
for (var i = 0; i < 2000; i = i + 1) { useGlobal(i); }
g = "s";
print useGlobal(1);
"#;

const ERROR_AFTER_DEOPT_2: &str = r#"
fun inner(a, b) {
  var t = a - b;
  return t * undefinedThing;
}
fun middle(a) { return inner(a, 1) + 1; }
fun outer(a) { return middle(a) * 2; }
print outer(5);
"#;

const STACK_OVERFLOW: &str = r#"
fun down(n) { return down(n + 1) + 1; }
print down(0);
"#;

/// Numbers and objects live across calls while the GC runs at every allocation.
const GC_ACROSS_CALLS: &str = r#"
fun work(n) {
  var acc = 0;
  var i = 0;
  while (i < n) {
    var x = i * 1.5;
    var s = str(i);
    var y = len(str(x)) + x;
    if (s == "7") acc = acc + 1000;
    acc = acc + x + y + len(s);
    i = i + 1;
  }
  return acc;
}
print work(300);
print work(301);
"#;

/// `PRINT`, `MODULO` (helpers), globals set and defined inside optimized code.
const HELPERS_AND_GLOBALS: &str = r#"
var counter = 0;
fun bump(n) {
  var i = 0;
  while (i < n) { counter = counter + i % 7; print i % 3 - 0.5; i = i + 1; }
  return counter;
}
print bump(20);
print bump(5);
fun modOf(x) { return x % 2; }
print modOf(5);
print modOf(-7.5);
print modOf("s");
"#;

const SET_UNDEFINED_GLOBAL: &str = r#"
fun setIt(v) { notDefinedYet = v * 2; return v; }
print setIt(4);
"#;

/// Hot loops in functions called once: interpreted frames continue in
/// optimized code at the loop header (OSR), and an OSR entry whose guard
/// fails (the speculated parameter is nil there) continues interpreted.
const OSR: &str = r#"
fun once(n) {
  var s = 0;
  for (var i = 0; i < n; i = i + 1) { s = s + i * 0.5; }
  return s;
}
print once(5000);
fun param(a) {
  var i = 0;
  var t = 0;
  while (i < 3000) { i = i + 1; if (i > 2990) t = t + 1; }
  if (a == nil) return t;
  return a + t;
}
print param(nil);
print param(nil);
print param(2);
"#;

/// Properties (existing fields, fields added through the cache, more
/// shapes than the cache has ways), methods (compiled, not yet compiled,
/// on non-instances), arrays (in and out of bounds, fractional and
/// non-number indexes, maps and strings through the same instruction),
/// upvalues and closures that capture no local, all in optimized code.
const OBJECTS: &str = r#"
class P {
  init(x, y) { this.x = x; this.y = y; }
  sum() { return this.x + this.y; }
  scale(k) { this.x = this.x * k; this.y = this.y * k; return this; }
}
class Q { init() { this.y = 5; this.x = 7; } sum() { return this.x - this.y; } }
class R { init() { this.z = 1; this.x = 2; this.y = 3; } sum() { return this.z; } }
fun fields(n) {
  var p = P(1, 2);
  var t = 0;
  for (var i = 0; i < n; i = i + 1) {
    p.x = p.x + 1;
    t = t + p.sum() + p.y;
  }
  return t + p.x;
}
fun shapes(n) {
  var ps = [P(1, 2), Q(), R(), P(3, 4)];
  var t = 0;
  for (var i = 0; i < n; i = i + 1) {
    var o = ps[i % 4];
    t = t + o.x * 2 + o.sum();
    o.w = i;
  }
  return t;
}
fun arrays(n) {
  var a = [0, 1, 2, 3, 4, 5, 6, 7];
  var s = 0;
  for (var i = 0; i < n; i = i + 1) {
    a[i % 8] = a[(i + 1) % 8] + i;
    s = s + a[i % 8];
  }
  return s;
}
fun index(c, k) { return c[k]; }
fun store(c, k, v) { c[k] = v; return c[k]; }
fun counter() {
  var count = 0;
  fun inc() { count = count + 1; return count; }
  return inc;
}
var seed = 3;
fun bump() { seed = seed * 2; return seed; }
fun upvalues(inc, n) {
  var t = 0;
  for (var i = 0; i < n; i = i + 1) t = t + inc();
  return t;
}
fun make(n) {
  var t = 0;
  for (var i = 0; i < n; i = i + 1) {
    var xs = [i, i + 1, i * 2];
    var f = bump;
    t = t + xs[0] + xs[1] + xs[2] + xs.len;
  }
  return t;
}
// Sites that saw one shape while hot, then meet others.
fun late(o) { return o.x + o.sum(); }
fun grow(o) { o.a = 1; o.b = 2; o.c = 3; o.d = 4; o.e = 5; o.f = 6; o.g = 7; o.h = 8; o.i = 9; return o.a + o.i; }
class E {}
fun lateShapes() {
  var t = 0;
  for (var i = 0; i < 3000; i = i + 1) { t = t + late(P(i, 1)) + grow(E()); }
  t = t + late(Q()) + late(R());
  var e = E();
  e.z = 0;
  t = t + grow(e) + grow(P(1, 2));
  return t;
}
print lateShapes();
var m = Map();
m["k"] = 41;
for (var round = 0; round < 3; round = round + 1) {
  print fields(200);
  print shapes(200);
  print arrays(200);
  print index([10, 20, 30], 1);
  print index(m, "k");
  print index("abc", 2);
  print store([1, 2], 1, 9);
  print store(m, "j", 3);
  print upvalues(counter(), 50);
  print make(100);
  print P(2, 3).scale(2).sum();
}
print index([1, 2], 5);
"#;

/// Errors raised in the slow paths of optimized code, after warm-up.
const OBJECT_ERRORS: &[(&str, &str)] = &[
    ("fun f(o) { return o.x; }\nclass A { init() { this.x = 1; } }\nfor (var i = 0; i < 300; i = i + 1) f(A());\nf(3);\n", "Only instances have properties."),
    ("fun f(o) { return o.nope; }\nclass A { init() { this.x = 1; } }\nf(A());\n", "Undefined property 'nope'."),
    ("fun f(o) { o.x = 2; }\nfor (var i = 0; i < 300; i = i + 1) f(nil);\n", "Only instances have fields."),
    ("fun f(o) { return o.m(); }\nclass A { m() { return 1; } }\nfor (var i = 0; i < 300; i = i + 1) f(A());\nf(true);\n", "Only instances have methods."),
    ("fun f(a, i) { return a[i]; }\nfor (var i = 0; i < 300; i = i + 1) f([1, 2], 1);\nf([1, 2], 1.5);\n", "Index must be an integer."),
    ("fun f(a, i) { a[i] = 0; }\nfor (var i = 0; i < 300; i = i + 1) f([1, 2], 0);\nf([1, 2], -1);\n", "Index -1 out of bounds for length 2."),
];

#[test]
fn objects_agree() {
    let out = agree(OBJECTS, &[]);
    assert_eq!(out.status, Some(70), "{:?}", out);
    assert!(out.stdout.starts_with("9030032\n21301\n1950\n199908\n20\n41\nc\n9\n3\n1275\n"), "{}", out.stdout);
    agree(OBJECTS, &[("TINYVM_GC_STRESS", "1")]);
    // The functions on objects are optimized, not declined.
    let stats = outcome(OBJECTS, &[("TINYVM_OPT", "eager"), ("TINYVM_STATS", "1")], "--jit=auto");
    assert!(stat(&stats.stderr, "opt compilations") >= 12, "{}", stats.stderr);
    // Tiered, the sites have feedback: a receiver of another shape deopts.
    let tiered = outcome(OBJECTS, &[("TINYVM_OPT", "1"), ("TINYVM_STATS", "1")], "--jit=auto");
    assert!(stat(&tiered.stderr, "deopts (shape)") >= 1, "{}", tiered.stderr);
}

/// Fields read straight into registers (and numbers stored straight into
/// fields) that stop being numbers after the code was optimized.
const FIELD_TYPES: &str = r#"
class V {
  init(a, b) { this.a = a; this.b = b; }
  sum() { return this.a + this.b * 2; }
  move(d) { this.a = this.a + d; this.b = this.b - d; return this.a; }
}
var t = 0;
for (var i = 0; i < 3000; i = i + 1) { var v = V(i, 1); t = t + v.sum() + v.move(2); }
print t;
var w = V(1, 2);
w.b = "s";
print V("x", 3).move(1) == nil;
"#;

#[test]
fn fields_that_change_type_deoptimize() {
    let out = agree(FIELD_TYPES, &[]);
    assert_eq!(out.status, Some(70), "{:?}", out);
    assert!(out.stdout.starts_with("9009000\n"), "{}", out.stdout);
    assert!(out.stderr.starts_with("Operands must be two numbers or two strings."), "{}", out.stderr);
    let out = agree(&FIELD_TYPES.replace("V(\"x\", 3).move(1) == nil", "w.sum()"), &[]);
    assert!(out.stderr.starts_with("Operands must be numbers."), "{}", out.stderr);
}

#[test]
fn object_errors_agree() {
    for (source, message) in OBJECT_ERRORS {
        let out = agree(source, &[]);
        assert_eq!(out.status, Some(70), "{:?}", out);
        assert!(out.stderr.starts_with(message), "{}: {}", message, out.stderr);
    }
}

/// `len` computed in place (arrays, strings, maps; a program's own `len`),
/// classes called from optimized code (instances allocated inline),
/// equality with numbers and fused with branches, statements whose value
/// is dropped.
const NATIVES_AND_EQUALITY: &str = r#"
class P { init(x) { this.x = x; } }
fun total(xs) { var t = 0; for (var i = 0; i < len(xs); i = i + 1) t = t + xs[i].x; return t; }
fun make(n) { var xs = []; for (var i = 0; i < n; i = i + 1) push(xs, P(i)); return xs; }
fun sizes(s, m) { return len(s) * 100 + len(m); }
fun eq(a, b) {
  var r = 0;
  a == b; a == 1; 1 == nil; "s" == "s";
  if (a == b) r = r + 1;
  if (a != b) r = r + 10;
  if (a == 2) r = r + 100;
  if (2 != b) r = r + 1000;
  var x = a == 2;
  var y = b != 2;
  if (x) r = r + 10000;
  if (y) r = r + 100000;
  return r;
}
var m = Map(); m["k"] = 1; m["l"] = 2;
var nan = 0 / 0;
for (var round = 0; round < 400; round = round + 1) {
  total(make(3));
  sizes("abc", m);
  eq(2, 2); eq(nan, nan); eq("2", 2); eq(nil, false);
}
print total(make(10));
print sizes("héllo", m);
print eq(2, 2);
print eq(2, -0);
print eq(nan, nan);
print eq(0, -0);
print eq("2", 2);
print eq(nil, nil);
print eq(P(1), 2);
fun mine(x) { return 42; }
len = mine;
print sizes("a", m);
"#;

#[test]
fn natives_and_equality_agree() {
    let out = agree(NATIVES_AND_EQUALITY, &[]);
    assert_eq!(out.stdout, "45\n602\n10101\n111110\n101010\n101001\n10\n101001\n10\n4242\n", "{:?}", out);
    assert_eq!(out.status, Some(0), "{:?}", out);
    agree(NATIVES_AND_EQUALITY, &[("TINYVM_GC_STRESS", "1")]);
    // `len` of a number after warm-up: a deopt, then the native's error.
    let source =
        "fun f(x) { return len(x); }\nfor (var i = 0; i < 3000; i = i + 1) f(\"ab\");\nprint f([1]);\nprint f(3);\n";
    let out = agree(source, &[]);
    assert_eq!((out.stdout.as_str(), out.status), ("1\n", Some(70)), "{:?}", out);
    assert!(out.stderr.starts_with("len() expects a string, an array or a map.\n[line 1] in f()"), "{}", out.stderr);
    let tiered = outcome(source, &[("TINYVM_OPT", "1"), ("TINYVM_STATS", "1")], "--jit=auto");
    assert_eq!(stat(&tiered.stderr, "deopts (callee)"), 1, "{}", tiered.stderr);
}

/// `%` in optimized code: integral operands by integer division (signs,
/// zeros, -1 and 0 divisors, the ends of the 64-bit range), the rest by
/// fmod; a non-number after warm-up deoptimizes to the interpreter's error.
const MODULO: &str = r#"
fun m(a, b) { return a % b; }
var nan = 0/0;
var cases = [[7, 3], [-7, 3], [7, -3], [-7, -3], [-4, 2], [4, -2], [0, 5], [-0, 5], [5, 0], [5, -0], [5.5, 2], [-5.5, 2], [7, 2.5], [10000000000000000000000000000000000000000, 7], [9007199254740993, 10], [-9223372036854775808, 3], [-9223372036854775808, -1], [6, -1], [-6, -1], [3, 9223372036854775808], [nan, 3], [3, nan], [1/0, 3], [3, 1/0], [123456789, 65536], [2147483647, 2]];
for (var r = 0; r < 3; r = r + 1) {
  for (var i = 0; i < len(cases); i = i + 1) {
    var x = m(cases[i][0], cases[i][1]);
    print str(x) + " " + str(1 / x);
  }
}
for (var i = 0; i < 3000; i = i + 1) m(i, 7);
print m(10, 4);
print m("a", 2);
"#;

#[test]
fn modulo_agrees() {
    let out = agree(MODULO, &[]);
    let first: Vec<&str> = out.stdout.lines().take(26).collect();
    let expected = "1 1|-1 -1|1 1|-1 -1|-0 -inf|0 inf|0 inf|-0 -inf|nan nan|nan nan|1.5 0.6666666666666666|-1.5 -0.6666666666666666|2 0.5|4 0.25|2 0.5|-2 -0.5|-0 -inf|0 inf|-0 -inf|3 0.3333333333333333|nan nan|nan nan|nan nan|3 0.3333333333333333|52501 0.000019047256242738232|1 1";
    assert_eq!(first.join("|"), expected);
    assert!(out.stdout.ends_with("\n2\n"), "{}", out.stdout);
    assert!(out.stderr.starts_with("Operands must be numbers."), "{}", out.stderr);
}

/// Loop variables that rotate: the moves on the back edge form cycles
/// (broken through a scratch register), numbers from the constant pool.
const ROTATIONS: &str = r#"
fun swaps(n) {
  var a = 1; var b = 2; var c = 3; var s = 0;
  for (var i = 0; i < n; i = i + 1) { var t = a; a = b; b = c; c = t; s = s + a * 100 + b * 10 + c; }
  return s;
}
fun swap2(n) {
  var a = 0.5; var b = 7;
  while (n > 0) { var t = a; a = b; b = t; n = n - 1; }
  return a * 10 + b;
}
print swaps(10);
print swaps(1001);
print swap2(5);
print swap2(6);
"#;

#[test]
fn rotating_loop_variables_agree() {
    let out = agree(ROTATIONS, &[]);
    assert_eq!(out.stdout, "2229\n222321\n70.5\n12\n", "{:?}", out);
}

/// `push` in place while the array has room, the native's call when it
/// grows, is another function, or fails.
const PUSHES: &str = r#"
fun fill(n, v) { var a = []; for (var i = 0; i < n; i = i + 1) push(a, v + i); return a; }
fun chain(a) { return push(push(a, 1), 2); }
var total = 0;
for (var r = 0; r < 300; r = r + 1) { var a = fill(20, r); total = total + a[19] + len(a); }
print total;
var b = chain([0]);
print b;
print len(fill(1000, 0.5));
print push([], nil);
fun mine(a, x) { return "mine"; }
var keep = push;
push = mine;
print fill(2, 1);
push = keep;
fun bad(x) { return push(x, 1); }
for (var r = 0; r < 3000; r = r + 1) bad([]);
print bad("s");
"#;

#[test]
fn push_in_place_agrees() {
    let out = agree(PUSHES, &[]);
    assert_eq!(out.stdout, "56550\n[0, 1, 2]\n1000\n[nil]\n[]\n", "{:?}", out);
    assert_eq!(out.status, Some(70), "{:?}", out);
    assert!(out.stderr.starts_with("push() expects an array.\n[line 16] in bad()"), "{}", out.stderr);
    agree(PUSHES, &[("TINYVM_GC_STRESS", "1")]);
}

/// `sqrt` by sqrtsd on an unboxed number; another callee or a
/// non-number deoptimizes.
const ROOTS: &str = r#"
fun norm(x, y) { return sqrt(x * x + y * y); }
var t = 0;
for (var i = 0; i < 3000; i = i + 1) t = t + norm(i, 1);
print t;
print norm(3, 4);
print sqrt(-1);
print 1 / sqrt(-0);
fun root(x) { return sqrt(x); }
for (var i = 0; i < 3000; i = i + 1) root(i);
var keep = sqrt;
fun mine(x) { return "mine"; }
sqrt = mine;
print root(4);
sqrt = keep;
print root("s");
"#;

#[test]
fn sqrt_in_place_agrees() {
    let out = agree(ROOTS, &[]);
    assert_eq!(out.stdout, "4498505.182693009\n5\nnan\n-inf\nmine\n", "{:?}", out);
    assert!(out.stderr.starts_with("sqrt() expects a number.\n[line 9] in root()"), "{}", out.stderr);
}

/// Shapes known past joins (both edges checked), not past a local that
/// one edge reassigns; and a block's local whose slot the next block's
/// local reuses is checked again (it once kept the first one's shape).
const SHAPE_JOINS: &str = r#"
class P { init(x) { this.x = x; this.y = 0; } }
class Q { init(x) { this.y = 1; this.x = x; } }
fun pick(o, c) {
  var t = o.x;
  if (c) { t = t + o.y; } else { t = t - 1; }
  return t + o.x + o.y;
}
fun reassign(o, p, c) {
  var t = o.x;
  if (c) { o = p; }
  return t + o.x;
}
var s = 0;
for (var i = 0; i < 3000; i = i + 1) { s = s + pick(P(i), i % 2 == 0) + reassign(P(1), P(2), i % 3 == 0); }
print s;
print pick(Q(5), true);
print reassign(P(1), Q(7), true);
print reassign(P(1), Q(7), false);
"#;

/// A method whose receiver's shape the last pass of the builder knew at
/// its end: the entry still checks it (a subclass's instance deopts).
const ENTRY_SHAPE: &str = r#"
class A {
  init() { this.x = 1; this.y = 2; }
  sum() {
    var t = this.x + this.y;
    if (t > 100) { t = 0; }
    return t + this.x;
  }
}
class B < A { init() { this.z = 10; this.x = 3; this.y = 4; } }
var s = 0;
for (var i = 0; i < 3000; i = i + 1) s = s + A().sum();
print s;
print B().sum();
"#;

const SLOT_REUSE: &str = r#"
class A { init() { this.x = 1; } }
class B { init() { this.y = 5; this.x = 2; } }
fun f(p, q) {
  var r = 0;
  { var a = p; r = r + a.x; }
  { var b = q; r = r + b.x; }
  return r;
}
for (var i = 0; i < 3000; i = i + 1) f(A(), A());
print f(A(), A());
print f(A(), B());
"#;

#[test]
fn shapes_across_joins_and_reused_slots() {
    let out = agree(SHAPE_JOINS, &[]);
    assert_eq!(out.stdout, "9002500\n12\n8\n2\n", "{:?}", out);
    let out = agree(SLOT_REUSE, &[]);
    assert_eq!(out.stdout, "2\n3\n", "{:?}", out);
    let out = agree(ENTRY_SHAPE, &[]);
    assert_eq!(out.stdout, "12000\n10\n", "{:?}", out);
}

fn outcome(source: &str, env: &[(&str, &str)], jit: &str) -> Outcome {
    let dir = scratch();
    let path = dir.path().join("prog.lox");
    std::fs::write(&path, source).unwrap();
    let mut cmd = tinyvm_cmd(&["run", "--error-format=short", jit]);
    cmd.arg(&path).current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with(cmd, b"", Duration::from_secs(120))
}

const MODES: &[&[(&str, &str)]] = &[
    &[("TINYVM_OPT", "eager")],
    &[("TINYVM_OPT", "eager"), ("TINYVM_DEOPT_STRESS", "1")],
    &[("TINYVM_OPT", "1")],
    &[("TINYVM_OPT", "1"), ("TINYVM_DEOPT_STRESS", "1")],
];

/// Runs `source` interpreted and in every optimizing mode; all must agree.
fn agree(source: &str, extra: &[(&str, &str)]) -> Outcome {
    let reference = outcome(source, extra, "--jit=off");
    for mode in MODES {
        let env: Vec<(&str, &str)> = mode.iter().chain(extra).copied().collect();
        let got = outcome(source, &env, "--jit=auto");
        assert_eq!(got, reference, "mode {:?} differs from the interpreter", env);
    }
    reference
}

#[test]
fn numeric_code_agrees() {
    let out = agree(NUMERIC, &[]);
    assert_eq!(out.status, Some(0), "{:?}", out);
    assert!(out.stdout.starts_with("9875\n100011\n11010\n"), "{}", out.stdout);
}

#[test]
fn fib_agrees() {
    let out = agree(FIB, &[]);
    assert_eq!(out.stdout, "17711\n1.5\n");
}

#[test]
fn type_change_deoptimizes_with_the_same_results() {
    let out = agree(TYPE_CHANGE, &[]);
    assert_eq!(out.status, Some(70), "{:?}", out);
    assert!(out.stdout.contains("abab\n0\n"), "{}", out.stdout);
    assert!(out.stderr.starts_with("Operands must be two numbers or two strings."), "{}", out.stderr);
}

#[test]
fn runtime_errors_after_deopts_match() {
    for source in [ERROR_AFTER_DEOPT, ERROR_AFTER_DEOPT_2] {
        let out = agree(source, &[]);
        assert_eq!(out.status, Some(70), "{:?}", out);
    }
}

#[test]
fn stack_overflow_at_the_same_depth() {
    let out = agree(STACK_OVERFLOW, &[]);
    assert_eq!(out.status, Some(70));
    assert!(out.stderr.starts_with("Stack overflow.\n"), "{}", &out.stderr[..100.min(out.stderr.len())]);
}

#[test]
fn gc_stress_with_values_live_across_calls() {
    agree(GC_ACROSS_CALLS, &[]);
    agree(GC_ACROSS_CALLS, &[("TINYVM_GC_STRESS", "1")]);
    agree(FIB, &[("TINYVM_GC_STRESS", "1")]);
}

#[test]
fn helpers_and_globals_agree() {
    let out = agree(HELPERS_AND_GLOBALS, &[]);
    assert_eq!(out.status, Some(70), "{:?}", out);
    assert!(out.stderr.starts_with("Operands must be numbers."), "{}", out.stderr);
    let out = agree(SET_UNDEFINED_GLOBAL, &[]);
    assert!(out.stderr.starts_with("Undefined variable 'notDefinedYet'."), "{}", out.stderr);
}

#[test]
fn osr_enters_optimized_code() {
    let out = agree(OSR, &[]);
    assert_eq!(out.stdout, "6248750\n10\n10\n12\n");
    let stats = outcome(OSR, &[("TINYVM_OPT", "1"), ("TINYVM_STATS", "1")], "--jit=auto");
    assert!(stat(&stats.stderr, "jit osr entries") >= 2, "{}", stats.stderr);
    assert!(stat(&stats.stderr, "deopts (not a number)") >= 1, "{}", stats.stderr);
}

fn stat(stderr: &str, label: &str) -> u64 {
    let line = stderr.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no '{}' in {}", label, stderr));
    line[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn statistics_report_compilations_and_deopts() {
    let out = outcome(TYPE_CHANGE, &[("TINYVM_OPT", "1"), ("TINYVM_STATS", "1")], "--jit=auto");
    assert!(stat(&out.stderr, "opt compilations") >= 2, "{}", out.stderr);
    assert!(stat(&out.stderr, "deopts (not a number)") >= 1, "{}", out.stderr);
    assert!(out.stderr.contains("opt compile time"), "{}", out.stderr);
    // On by default; with the tier off the statistics stay as they were.
    let default = outcome(FIB, &[("TINYVM_STATS", "1")], "--jit=auto");
    assert!(stat(&default.stderr, "opt compilations") >= 1, "{}", default.stderr);
    let off = outcome(FIB, &[("TINYVM_OPT", "0"), ("TINYVM_STATS", "1")], "--jit=auto");
    assert!(!off.stderr.contains("opt compilations"), "{}", off.stderr);
}

/// A function that keeps failing its speculation goes back to baseline
/// code after a few deopts instead of deoptimizing at every call.
#[test]
fn no_deopt_loop() {
    let source = "fun f(x) { if (x == nil) return 0; return x + 1; }\n\
                  for (var i = 0; i < 5000; i = i + 1) { f(nil); }\nprint f(1);\n";
    let out = outcome(source, &[("TINYVM_OPT", "eager"), ("TINYVM_STATS", "1")], "--jit=auto");
    assert_eq!(out.stdout, "2\n");
    assert!(stat(&out.stderr, "deopts (not a number)") <= 4, "{}", out.stderr);
    assert_eq!(stat(&out.stderr, "opt invalidated"), 1, "{}", out.stderr);
}

/// Found by the `opt_diff` fuzz target: with fuel (`TINYVM_FUEL`) every
/// poll finds a request, and a poll in optimized code deoptimizes; the
/// interpreter then entered the optimized code again by OSR at the next
/// back-edge, one more native activation per poll, until
/// `Stack overflow.` (here within the first 100,000 iterations; the same
/// would happen to a long loop while another thread keeps waiting for the
/// VM lock). The frame now finishes interpreted after a poll.
const POLLS_IN_HOT_LOOPS: &str = r#"
fun count(n) { var c = 0; for (var i = 0; i < n; i = i + 1) { c = c + 1; } return c; }
print count(100000);
var c = 0;
for (var i = 0; i < 100000; i = i + 1) { c = c + 1; }
print c;
"#;

#[test]
fn polls_in_osr_loops_do_not_nest() {
    let out = agree(POLLS_IN_HOT_LOOPS, &[("TINYVM_FUEL", "1000000")]);
    assert_eq!((out.status, out.stdout.as_str()), (Some(0), "100000\n100000\n"), "{:?}", out);
    // A poll that finds a request parks and goes on in the optimized code.
    let env = [("TINYVM_FUEL", "1000000"), ("TINYVM_OPT", "1"), ("TINYVM_STATS", "1")];
    let stats = outcome(POLLS_IN_HOT_LOOPS, &env, "--jit=auto");
    assert!(stat(&stats.stderr, "opt compilations") >= 1, "{}", stats.stderr);
    assert_eq!(stat(&stats.stderr, "deopts (safepoint)"), 0, "{}", stats.stderr);
}

/// A small deterministic generator of programs in (and around) the
/// optimizer's subset: numeric code with loops, branches and calls, and
/// arguments that are sometimes not numbers (deopts, runtime errors).
struct Gen {
    state: u64,
}

impl Gen {
    fn next(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next(items.len() as u64) as usize]
    }

    fn expr(&mut self, vars: &[&str], fns: usize, depth: u32) -> String {
        let leaf = depth == 0 || self.next(3) == 0;
        if leaf {
            return match self.next(4) {
                0 => format!("{}", self.next(7) as f64 * 0.5),
                _ => self.pick(vars).to_string(),
            };
        }
        match self.next(6) {
            0 => format!("-{}", self.expr(vars, fns, depth - 1)),
            1 if fns > 0 => {
                let f = self.next(fns as u64);
                format!("f{}({}, {})", f, self.expr(vars, fns, depth - 1), self.expr(vars, fns, depth - 1))
            }
            _ => {
                let op = self.pick(&["+", "-", "*", "/", "+", "*"]);
                format!("({} {} {})", self.expr(vars, fns, depth - 1), op, self.expr(vars, fns, depth - 1))
            }
        }
    }

    fn cond(&mut self, vars: &[&str], fns: usize) -> String {
        let op = self.pick(&["<", "<=", ">", ">=", "==", "!="]);
        let c = format!("{} {} {}", self.expr(vars, fns, 1), op, self.expr(vars, fns, 1));
        if self.next(4) == 0 {
            format!("!({})", c)
        } else {
            c
        }
    }

    fn program(&mut self) -> String {
        let mut out = String::new();
        let vars = ["a", "b", "x", "y", "i"];
        for f in 0..3 {
            let x = self.expr(&vars[..2], f, 2);
            let y = self.expr(&vars[..3], f, 2);
            let n = 1 + self.next(8);
            let body_x = self.expr(&vars, f, 2);
            let cond = self.cond(&vars, f);
            let then = self.expr(&vars, f, 2);
            let other = self.expr(&vars, f, 2);
            let result = self.expr(&vars, f, 2);
            out.push_str(&format!(
                "fun f{f}(a, b) {{\n  var x = {x};\n  var y = {y};\n  var i = 0;\n  while (i < {n}) {{\n    x = {body_x};\n    if ({cond}) y = {then}; else y = {other};\n    i = i + 1;\n  }}\n  return {result};\n}}\n"
            ));
        }
        out.push_str("for (var r = 0; r < 4; r = r + 1) {\n");
        for _ in 0..3 {
            let f = self.next(3);
            out.push_str(&format!("  print f{}(r + {}, {});\n", f, self.next(5), self.next(9) as f64 - 4.0));
        }
        out.push_str("}\n");
        let odd = self.pick(&["nil", "true", "\"s\"", "1", "f0"]);
        out.push_str(&format!("print f{}({}, 2);\nprint f{}(3, {});\n", self.next(3), odd, self.next(3), odd));
        out
    }
}

/// Random programs give the interpreter's results in every optimizing mode
/// (`OPT_FUZZ_SEEDS=N` runs N of them; default 100).
#[test]
fn generated_programs_agree() {
    let seeds: u64 = std::env::var("OPT_FUZZ_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let (mut compiled, mut deopts) = (0, 0);
    for seed in 1..=seeds {
        let mut g = Gen { state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1 };
        let source = g.program();
        let reference = outcome(&source, &[], "--jit=off");
        for mode in &MODES[..2] {
            let got = outcome(&source, mode, "--jit=auto");
            assert_eq!(got, reference, "seed {} mode {:?}:\n{}", seed, mode, source);
        }
        let stats = outcome(&source, &[("TINYVM_OPT", "eager"), ("TINYVM_STATS", "1")], "--jit=auto");
        compiled += stat(&stats.stderr, "opt compilations");
        deopts += stat(&stats.stderr, "deopts (not a number)");
    }
    // The generator must exercise the tier, not only its declining.
    assert!(compiled >= 100 && deopts >= 20, "{} compilations, {} deopts", compiled, deopts);
}

/// Builds `source` (as `prog.lox`) with `tinyvm build --error-format=short
/// EXTRA`; returns the directory (kept alive) and the executable.
fn build_exe(source: &str, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = scratch();
    let path = dir.path().join("prog.lox");
    std::fs::write(&path, source).unwrap();
    let exe = dir.path().join("prog");
    let mut cmd = tinyvm_cmd(&["build", "--error-format=short"]);
    cmd.args(extra).arg(&path).arg("-o").arg(&exe).current_dir(dir.path());
    let built = run_with(cmd, b"", Duration::from_secs(120));
    assert_eq!(built.status, Some(0), "{:?}", built);
    (dir, exe)
}

fn run_exe(dir: &tempfile::TempDir, exe: &std::path::Path, env: &[(&str, &str)]) -> Outcome {
    let mut cmd = std::process::Command::new(exe);
    cmd.current_dir(dir.path()).env_remove("TINYVM_OPT").env_remove("TINYVM_STATS");
    cmd.envs(env.iter().copied());
    run_with(cmd, b"", Duration::from_secs(120))
}

/// A built executable optimizes its hot functions from their ahead-of-time
/// code, no JIT compilation involved (also in a static PIE); `TINYVM_OPT=0`
/// and `-g` keep the baseline code.
#[test]
fn built_executables_run_optimized_code() {
    let reference = outcome(FIB, &[], "--jit=off");
    for extra in [&[][..], &["--static"][..]] {
        let (dir, exe) = build_exe(FIB, extra);
        let out = run_exe(&dir, &exe, &[("TINYVM_STATS", "1")]);
        assert_eq!((&out.stdout, out.status), (&reference.stdout, reference.status), "{:?}", extra);
        assert!(stat(&out.stderr, "opt compilations") >= 1, "{:?}: {}", extra, out.stderr);
        assert_eq!(stat(&out.stderr, "jit compilations"), 0, "{}", out.stderr);
        let off = run_exe(&dir, &exe, &[("TINYVM_STATS", "1"), ("TINYVM_OPT", "0")]);
        assert_eq!(off.stdout, reference.stdout);
        assert!(!off.stderr.contains("opt compilations"), "{}", off.stderr);
    }
    let (dir, exe) = build_exe(FIB, &["-g"]);
    let out = run_exe(&dir, &exe, &[("TINYVM_STATS", "1")]);
    assert_eq!(out.stdout, reference.stdout);
    assert_eq!(stat(&out.stderr, "opt compilations"), 0, "-g keeps the baseline code: {}", out.stderr);
}

/// A built executable optimizes a function when its calls and loop
/// back-edges make it hot, with the shapes its caches saw by then (a
/// receiver of another shape deoptimizes), continues a hot loop of the
/// script in the optimized code, and sends callers that cached the
/// baseline entry on to the optimized one.
#[test]
fn built_executables_tier_up_with_feedback() {
    let (dir, exe) = build_exe(OBJECTS, &[]);
    let out = run_exe(&dir, &exe, &[("TINYVM_STATS", "1")]);
    assert!(stat(&out.stderr, "opt compilations") >= 5, "{}", out.stderr);
    assert!(stat(&out.stderr, "deopts (shape)") >= 1, "{}", out.stderr);
    let source = "var t = 0;\nfor (var i = 0; i < 100000; i = i + 1) { t = t + i * 2; }\nprint t;\n";
    let (dir, exe) = build_exe(source, &[]);
    let out = run_exe(&dir, &exe, &[("TINYVM_STATS", "1"), ("TINYVM_OPT_DEBUG", "1")]);
    assert_eq!(out.stdout, "9999900000\n");
    assert!(out.stderr.contains("opt: compiled script"), "{}", out.stderr);
}

/// Built executables give the interpreter's stdout, stderr and exit status
/// with the optimizing tier, under deopt stress and without it; a function
/// that keeps failing its speculation goes back to its ahead-of-time code.
#[test]
fn built_executables_agree_under_deopt_stress() {
    let sources = [
        NUMERIC,
        FIB,
        TYPE_CHANGE,
        ERROR_AFTER_DEOPT,
        ERROR_AFTER_DEOPT_2,
        STACK_OVERFLOW,
        GC_ACROSS_CALLS,
        HELPERS_AND_GLOBALS,
        SET_UNDEFINED_GLOBAL,
        OSR,
        OBJECTS,
        FIELD_TYPES,
    ];
    for source in sources {
        let reference = outcome(source, &[], "--jit=off");
        let (dir, exe) = build_exe(source, &[]);
        for env in [&[][..], &[("TINYVM_DEOPT_STRESS", "1")][..], &[("TINYVM_OPT", "0")][..]] {
            let got = run_exe(&dir, &exe, env);
            assert_eq!(got, reference, "{:?} differs from the interpreter:\n{}", env, source);
        }
    }
    let (dir, exe) = build_exe(TYPE_CHANGE, &[]);
    let stats = run_exe(&dir, &exe, &[("TINYVM_STATS", "1")]);
    assert!(stat(&stats.stderr, "deopts (not a number)") >= 1, "{}", stats.stderr);
    let source = "fun f(x) { if (x == nil) return 0; return x + 1; }\n\
                  for (var i = 0; i < 5000; i = i + 1) { f(nil); }\nprint f(1);\n";
    let (dir, exe) = build_exe(source, &[]);
    let out = run_exe(&dir, &exe, &[("TINYVM_STATS", "1")]);
    assert_eq!(out.stdout, "2\n");
    assert_eq!(stat(&out.stderr, "opt invalidated"), 1, "{}", out.stderr);
}
