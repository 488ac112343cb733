//! Malformed `.tvmc` files (DESIGN.md section 4): the loader checks the
//! header and checksum, and verifies every index, jump target, operand and
//! stack depth before anything runs. A corrupted, truncated or hostile file
//! is `error: invalid bytecode file` (exit 65), never a crash or a panic.
//!
//! (a) every single-byte change of real files is caught (checksum);
//! (b) payload changes with a recomputed checksum reach the decoder and the
//!     verifier: the process must exit 0, 65 or 70 (or run too long: an
//!     infinite loop is a valid program), never die from a signal;
//! (c) every truncation is rejected;
//! (d) hand-assembled modules: a valid one runs, each broken one is rejected,
//!     and type-confused code (valid indices and depths, wrong value kinds)
//!     must not crash the runtime.

mod common;

use common::*;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const HEADER_SIZE: usize = 20;
const INVALID: &str = "error: invalid bytecode file";

/// How a run of `tinyvm run FILE` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// Exit status and the first 2 KB of stderr.
    Exit(i32, String),
    Signal(i32),
    Timeout,
}

impl End {
    fn rejected(&self) -> bool {
        matches!(self, End::Exit(65, err) if err.starts_with(INVALID))
    }
}

/// Runs `tinyvm run FILE` with no stdin, discarding stdout.
fn run_file(path: &Path, limit: Duration) -> End {
    let mut child = Command::new(tinyvm())
        .arg("run")
        .arg(path)
        .env_remove("TINYVM_GC_STRESS")
        .env_remove("TINYVM_STATS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tinyvm");
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            if head.len() < 2048 {
                head.extend_from_slice(&buf[..n.min(2048 - head.len())]);
            }
        }
        String::from_utf8_lossy(&head).into_owned()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let stderr = reader.join().unwrap_or_default();
    match status {
        None => End::Timeout,
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => End::Exit(code, stderr),
            (None, Some(sig)) => End::Signal(sig),
            (None, None) => End::Signal(0),
        },
    }
}

/// Runs `job(i)` for i in 0..count on several threads; results in order.
fn parallel<R: Send>(count: usize, job: impl Fn(usize, usize) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8) * 2;
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = (0..count).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let next = &next;
                let job = &job;
                s.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        done.push((i, job(worker, i)));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).collect()
    });
    for (i, r) in chunks.into_iter().flatten() {
        results[i] = Some(r);
    }
    results.into_iter().map(|r| r.expect("result")).collect()
}

/// Recomputes the header's length and checksum for the payload after it.
fn fix_header(file: &mut [u8]) {
    let len = (file.len() - HEADER_SIZE) as u32;
    file[8..12].copy_from_slice(&len.to_le_bytes());
    let sum = tinyvm_runtime::bytecode::tvmc::checksum(&file[HEADER_SIZE..]);
    file[12..20].copy_from_slice(&sum.to_le_bytes());
}

/// Compiles a program of the repository to `.tvmc` bytes.
fn compile(relative: &str, dir: &Path) -> Vec<u8> {
    let src = repo_root().join(relative);
    let out = dir.join(format!("{}.tvmc", relative.replace('/', "_")));
    let result = run_tinyvm(&["compile", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(result.status, Some(0), "compile {relative}: {}", result.stderr);
    let bytes = std::fs::read(&out).expect("read .tvmc");
    assert!(bytes.len() > HEADER_SIZE && bytes.starts_with(b"TVMC"));
    bytes
}

/// Where failing inputs are kept for reproduction.
fn keep_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tvmc-failures");
    std::fs::create_dir_all(&dir).expect("failure dir");
    dir
}

type Mutation = fn(u8) -> u8;
const MUTATIONS: [(&str, Mutation); 2] = [("xor 0xff", |b| b ^ 0xff), ("+1", |b| b.wrapping_add(1))];

// ---------------------------------------------------------------- (a)

#[test]
fn every_single_byte_change_is_rejected() {
    let dir = scratch();
    let files = ["tests/programs/classes.tvm", "tests/programs/arrays.tvm", "examples/hello.tvm"];
    let originals: Vec<Vec<u8>> = files.iter().map(|f| compile(f, dir.path())).collect();
    // (file, byte, mutation)
    let mut jobs = Vec::new();
    for (fi, bytes) in originals.iter().enumerate() {
        for at in 0..bytes.len() {
            for m in 0..MUTATIONS.len() {
                jobs.push((fi, at, m));
            }
        }
    }
    let started = Instant::now();
    let results = parallel(jobs.len(), |worker, j| {
        let (fi, at, m) = jobs[j];
        let mut bytes = originals[fi].clone();
        bytes[at] = (MUTATIONS[m].1)(bytes[at]);
        let path = dir.path().join(format!("mutant{worker}.tvmc"));
        std::fs::write(&path, &bytes).expect("write mutant");
        let end = run_file(&path, Duration::from_secs(10));
        if !end.rejected() {
            let keep = keep_dir().join(format!("a_{}_{}_{}.tvmc", fi, at, m));
            let _ = std::fs::write(keep, &bytes);
        }
        end
    });
    let failures: Vec<String> = jobs
        .iter()
        .zip(&results)
        .filter(|(_, end)| !end.rejected())
        .map(|(&(fi, at, m), end)| format!("{} byte {} {}: {:?}", files[fi], at, MUTATIONS[m].0, end))
        .collect();
    eprintln!(
        "{} single-byte mutants of {} files in {:.1} s, {} not rejected",
        jobs.len(),
        files.len(),
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mutants not rejected with `{INVALID}` / exit 65:\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

// ---------------------------------------------------------------- (b)

#[test]
fn payload_changes_with_a_valid_checksum_never_crash() {
    let dir = scratch();
    let files = ["tests/programs/classes.tvm", "tests/programs/closures.tvm", "tests/programs/arrays.tvm"];
    let originals: Vec<Vec<u8>> = files.iter().map(|f| compile(f, dir.path())).collect();
    let mut jobs = Vec::new();
    for (fi, bytes) in originals.iter().enumerate() {
        for at in HEADER_SIZE..bytes.len() {
            for m in 0..MUTATIONS.len() {
                jobs.push((fi, at, m));
            }
        }
    }
    let started = Instant::now();
    let results = parallel(jobs.len(), |worker, j| {
        let (fi, at, m) = jobs[j];
        let mut bytes = originals[fi].clone();
        bytes[at] = (MUTATIONS[m].1)(bytes[at]);
        fix_header(&mut bytes);
        let path = dir.path().join(format!("mutant{worker}.tvmc"));
        std::fs::write(&path, &bytes).expect("write mutant");
        let end = run_file(&path, Duration::from_secs(5));
        let acceptable = match &end {
            End::Exit(0, _) | End::Exit(70, _) | End::Timeout => true,
            End::Exit(65, err) => err.starts_with(INVALID),
            _ => false,
        };
        if !acceptable {
            let keep = keep_dir().join(format!(
                "b_{}_{}_{}.tvmc",
                files[fi].rsplit('/').next().unwrap().trim_end_matches(".tvm"),
                at - HEADER_SIZE,
                if m == 0 { "xor" } else { "inc" }
            ));
            let _ = std::fs::write(keep, &bytes);
        }
        (end, acceptable)
    });
    let count = |pred: &dyn Fn(&End) -> bool| results.iter().filter(|(e, _)| pred(e)).count();
    let rejected = count(&|e| e.rejected());
    let ran_ok = count(&|e| matches!(e, End::Exit(0, _)));
    let runtime_error = count(&|e| matches!(e, End::Exit(70, _)));
    let timeouts = count(&|e| matches!(e, End::Timeout));
    let failures: Vec<String> = jobs
        .iter()
        .zip(&results)
        .filter(|(_, (_, ok))| !ok)
        .map(|(&(fi, at, m), (end, _))| {
            format!("{} payload byte {} {}: {:?}", files[fi], at - HEADER_SIZE, MUTATIONS[m].0, end)
        })
        .collect();
    eprintln!(
        "{} checksum-fixed mutants in {:.1} s: {} rejected by the loader/verifier, \
         {} ran to exit 0, {} ended in a runtime error (70), {} timed out, {} crashed \
         or exited otherwise (kept in {})",
        jobs.len(),
        started.elapsed().as_secs_f64(),
        rejected,
        ran_ok,
        runtime_error,
        timeouts,
        failures.len(),
        keep_dir().display()
    );
    // The verifier must catch a good share of the changes.
    assert!(rejected > jobs.len() / 4, "only {rejected} of {} rejected", jobs.len());
    assert!(
        failures.is_empty(),
        "{} mutants crashed or exited with another status:\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

// ---------------------------------------------------------------- (c)

#[test]
fn every_truncation_and_extension_is_rejected() {
    let dir = scratch();
    let files = ["tests/programs/classes.tvm", "examples/hello.tvm"];
    for file in files {
        let bytes = compile(file, dir.path());
        let mut variants: Vec<(String, Vec<u8>)> =
            (0..bytes.len()).map(|n| (format!("first {n} bytes"), bytes[..n].to_vec())).collect();
        let mut longer = bytes.clone();
        longer.push(0);
        variants.push(("one byte appended".into(), longer.clone()));
        // Even with a header that matches the longer payload, the trailing
        // byte is not part of any function.
        fix_header(&mut longer);
        variants.push(("one byte appended, header fixed".into(), longer));
        // A truncated payload with a matching header.
        for cut in [1, 2, 5, 9, 17] {
            let mut short = bytes[..bytes.len() - cut].to_vec();
            fix_header(&mut short);
            variants.push((format!("last {cut} bytes cut, header fixed"), short));
        }
        let results = parallel(variants.len(), |worker, i| {
            let path = dir.path().join(format!("cut{worker}.tvmc"));
            std::fs::write(&path, &variants[i].1).expect("write");
            run_file(&path, Duration::from_secs(10))
        });
        let failures: Vec<String> = variants
            .iter()
            .zip(&results)
            .filter(|(_, end)| !end.rejected())
            .map(|((what, _), end)| format!("{file}, {what}: {end:?}"))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

// ---------------------------------------------------------------- (d)

/// Opcode numbers, from the opcode table.
mod op {
    use tinyvm_runtime::bytecode::Op;
    pub const CONSTANT: u8 = Op::Constant as u8;
    pub const NIL: u8 = Op::Nil as u8;
    pub const POP: u8 = Op::Pop as u8;
    pub const GET_LOCAL: u8 = Op::GetLocal as u8;
    pub const GET_GLOBAL: u8 = Op::GetGlobal as u8;
    pub const DEFINE_GLOBAL: u8 = Op::DefineGlobal as u8;
    pub const GET_PROPERTY: u8 = Op::GetProperty as u8;
    pub const SET_PROPERTY: u8 = Op::SetProperty as u8;
    pub const GET_SUPER: u8 = Op::GetSuper as u8;
    pub const ADD: u8 = Op::Add as u8;
    pub const PRINT: u8 = Op::Print as u8;
    pub const JUMP: u8 = Op::Jump as u8;
    pub const JUMP_IF_FALSE: u8 = Op::JumpIfFalse as u8;
    pub const LOOP: u8 = Op::Loop as u8;
    pub const CALL: u8 = Op::Call as u8;
    pub const INVOKE: u8 = Op::Invoke as u8;
    pub const SUPER_INVOKE: u8 = Op::SuperInvoke as u8;
    pub const CLOSURE: u8 = Op::Closure as u8;
    pub const CLOSE_UPVALUE: u8 = Op::CloseUpvalue as u8;
    pub const GET_UPVALUE: u8 = Op::GetUpvalue as u8;
    pub const RETURN: u8 = Op::Return as u8;
    pub const CLASS: u8 = Op::Class as u8;
    pub const INHERIT: u8 = Op::Inherit as u8;
    pub const METHOD: u8 = Op::Method as u8;
}

#[derive(Clone)]
enum K {
    Num(f64),
    Str(&'static [u8]),
    Fun(u32),
}

#[derive(Clone)]
struct Func {
    name: &'static [u8],
    kind: u8,
    arity: u8,
    upvalues: u32,
    caches: u32,
    code: Vec<u8>,
    constants: Vec<K>,
}

impl Func {
    fn script(code: Vec<u8>, constants: Vec<K>) -> Func {
        Func { name: b"script", kind: 0, arity: 0, upvalues: 0, caches: 0, code, constants }
    }
}

/// Builds code from instructions: an opcode followed by its operands.
#[derive(Default)]
struct Asm(Vec<u8>);

impl Asm {
    fn op(mut self, op: u8) -> Self {
        self.0.push(op);
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn code(self) -> Vec<u8> {
        self.0
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s);
}

/// The payload of a module (format of runtime/src/bytecode/tvmc.rs).
fn payload(source: &[u8], globals: &[&str], functions: &[Func]) -> Vec<u8> {
    let globals: Vec<&[u8]> = globals.iter().map(|g| g.as_bytes()).collect();
    payload_of(source, &globals, functions)
}

/// `payload` with names as bytes (which need not be UTF-8).
fn payload_of(source: &[u8], globals: &[&[u8]], functions: &[Func]) -> Vec<u8> {
    let mut p = Vec::new();
    put_u32(&mut p, 1); // one source file
    put_str(&mut p, source);
    put_u32(&mut p, globals.len() as u32);
    for g in globals {
        put_str(&mut p, g);
    }
    put_u32(&mut p, functions.len() as u32);
    for f in functions {
        put_str(&mut p, f.name);
        put_str(&mut p, f.name);
        p.push(f.kind);
        p.push(f.arity);
        put_u32(&mut p, f.upvalues);
        put_u32(&mut p, f.caches);
        put_u32(&mut p, 1); // declared on line 1
        put_u32(&mut p, 0); // in source file 0
        put_u32(&mut p, f.code.len() as u32);
        p.extend_from_slice(&f.code);
        put_u32(&mut p, 1); // one line-table entry: offset 0 is line 1
        put_u32(&mut p, 0);
        put_u32(&mut p, 1);
        put_u32(&mut p, f.constants.len() as u32);
        for c in &f.constants {
            match c {
                K::Num(n) => {
                    p.push(0);
                    p.extend_from_slice(&n.to_bits().to_le_bytes());
                }
                K::Str(s) => {
                    p.push(1);
                    put_str(&mut p, s);
                }
                K::Fun(i) => {
                    p.push(2);
                    put_u32(&mut p, *i);
                }
            }
        }
        put_u32(&mut p, 0); // no local-variable debug info
    }
    p
}

/// A whole file around a payload.
fn file(payload: &[u8]) -> Vec<u8> {
    let mut out = b"TVMC".to_vec();
    out.extend_from_slice(&tinyvm_runtime::bytecode::tvmc::FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(payload);
    fix_header(&mut out);
    out
}

fn module(globals: &[&str], functions: &[Func]) -> Vec<u8> {
    file(&payload(b"crafted.tvm", globals, functions))
}

fn run_bytes(bytes: &[u8]) -> (End, String) {
    let dir = scratch();
    let path = dir.path().join("crafted.tvmc");
    std::fs::write(&path, bytes).expect("write");
    let end = run_file(&path, Duration::from_secs(10));
    let out = run_tinyvm(&["run", path.to_str().unwrap()]);
    (end, out.stdout)
}

/// `print 40 + 2;` assembled by hand.
fn print_42() -> Asm {
    Asm::default().op(op::CONSTANT).u32(0).op(op::CONSTANT).u32(1).op(op::ADD).op(op::PRINT)
}

#[test]
fn a_hand_assembled_module_runs() {
    // Checks the test's own encoder against the documented format.
    let script = Func::script(print_42().op(op::NIL).op(op::RETURN).code(), vec![K::Num(40.0), K::Num(2.0)]);
    let (end, stdout) = run_bytes(&module(&[], &[script]));
    assert_eq!(end, End::Exit(0, String::new()));
    assert_eq!(stdout, "42\n");

    // A function and a global: `fun f(a) { return a + 2; } print f(40);`
    let f = Func {
        name: b"f",
        kind: 1,
        arity: 1,
        upvalues: 0,
        caches: 0,
        code: Asm::default().op(op::GET_LOCAL).u32(1).op(op::CONSTANT).u32(0).op(op::ADD).op(op::RETURN).code(),
        constants: vec![K::Num(2.0)],
    };
    let script = Func::script(
        Asm::default()
            .op(op::CLOSURE)
            .u32(0)
            .op(op::DEFINE_GLOBAL)
            .u32(0)
            .op(op::GET_GLOBAL)
            .u32(0)
            .op(op::CONSTANT)
            .u32(1)
            .op(op::CALL)
            .u8(1)
            .u32(0)
            .op(op::PRINT)
            .op(op::NIL)
            .op(op::RETURN)
            .code(),
        vec![K::Fun(1), K::Num(40.0)],
    );
    // CALL's inline cache.
    let script = Func { caches: 1, ..script };
    let (end, stdout) = run_bytes(&module(&["f"], &[script, f]));
    assert_eq!(end, End::Exit(0, String::new()));
    assert_eq!(stdout, "42\n");
}

/// `fun g() { return UPVALUE 0; }`: the closure the capture tests make.
fn upvalue_reader() -> Func {
    Func {
        name: b"g",
        kind: 1,
        arity: 0,
        upvalues: 1,
        caches: 0,
        code: Asm::default().op(op::GET_UPVALUE).u32(0).op(op::RETURN).code(),
        constants: vec![],
    }
}

/// A script that captures local slot `slot` in a closure of `g`, then ends
/// with `tail` (and `NIL; RETURN`).
/// (`caches`: inline caches the script's CALLs use).
fn capturing_script(head: Asm, slot: u32, caches: u32, tail: impl FnOnce(Asm) -> Asm) -> Vec<u8> {
    let code = tail(head.op(op::CLOSURE).u32(0).u8(1).u32(slot)).op(op::NIL).op(op::RETURN).code();
    let script = Func { caches, ..Func::script(code, vec![K::Fun(1), K::Num(1.0)]) };
    module(&["g"], &[script, upvalue_reader()])
}

/// The verifier proves that a captured local is closed before its slot
/// leaves the stack: otherwise the upvalue points at a dead slot that the
/// GC does not scan and the next push reuses.
#[test]
fn captured_locals_must_be_closed_before_their_slot_is_popped() {
    let local = || Asm::default().op(op::CONSTANT).u32(1);
    // `{ var a = 1; fun g() { return a; } print g(); }` closed properly.
    let closed = capturing_script(local(), 1, 1, |a| a.op(op::CALL).u8(0).u32(0).op(op::PRINT).op(op::CLOSE_UPVALUE));
    let (end, stdout) = run_bytes(&closed);
    assert_eq!((end, stdout.as_str()), (End::Exit(0, String::new()), "1\n"), "the well-formed module runs");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("captured local popped with POP", capturing_script(local(), 1, 0, |a| a.op(op::POP).op(op::POP))),
        // The captured slot is the callee slot of the CALL that pops it.
        (
            "captured slot popped by a CALL",
            capturing_script(local().op(op::NIL), 2, 1, |a| a.op(op::CALL).u8(1).u32(0).op(op::POP)),
        ),
        // Captured on one path only: after the paths meet, it may be open.
        ("captured on one path, popped where the paths meet", {
            let code = local()
                .op(op::NIL)
                .op(op::JUMP_IF_FALSE)
                .i32(11)
                .op(op::CLOSURE)
                .u32(0)
                .u8(1)
                .u32(1)
                .op(op::POP)
                .op(op::POP)
                .op(op::POP)
                .op(op::NIL)
                .op(op::RETURN)
                .code();
            module(&["g"], &[Func::script(code, vec![K::Fun(1), K::Num(1.0)]), upvalue_reader()])
        }),
    ];
    let mut failures = Vec::new();
    for (what, bytes) in cases {
        let (end, stdout) = run_bytes(&bytes);
        if !end.rejected() || !stdout.is_empty() {
            failures.push(format!("{what}: {end:?}, stdout {stdout:?}"));
        }
    }
    assert!(failures.is_empty(), "not rejected:\n{}", failures.join("\n"));
}

fn script_module(code: Vec<u8>, constants: Vec<K>) -> Vec<u8> {
    module(&["g"], &[Func::script(code, constants)])
}

#[test]
fn hand_assembled_bad_code_is_rejected_before_running() {
    let nums = || vec![K::Num(40.0), K::Num(2.0)];
    let end = |a: Asm| a.op(op::NIL).op(op::RETURN).code();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("stack underflow", script_module(end(print_42().op(op::POP).op(op::POP)), nums())),
        ("falls off the end", script_module(print_42().code(), nums())),
        ("unknown opcode", script_module(end(print_42().op(0xEE)), nums())),
        (
            "truncated operand",
            script_module(print_42().op(op::NIL).op(op::RETURN).op(op::CONSTANT).u8(0).code(), nums()),
        ),
        ("constant out of range", script_module(end(print_42().op(op::CONSTANT).u32(2).op(op::PRINT)), nums())),
        (
            "constant index near u32::MAX",
            script_module(end(print_42().op(op::CONSTANT).u32(u32::MAX).op(op::PRINT)), nums()),
        ),
        ("global out of range", script_module(end(print_42().op(op::GET_GLOBAL).u32(1).op(op::PRINT)), nums())),
        ("local beyond the stack", script_module(end(print_42().op(op::GET_LOCAL).u32(1).op(op::PRINT)), nums())),
        ("jump past the end", script_module(end(print_42().op(op::JUMP).i32(1000)), nums())),
        (
            "jump into an operand",
            script_module(end(Asm::default().op(op::JUMP).i32(1).op(op::CONSTANT).u32(0).op(op::PRINT)), nums()),
        ),
        ("backward jump before the start", script_module(end(print_42().op(op::LOOP).i32(-100)), nums())),
        (
            "property name that is a number",
            script_module(end(Asm::default().op(op::NIL).op(op::GET_PROPERTY).u32(0).u32(0).op(op::POP)), nums()),
        ),
        (
            "cache out of range",
            script_module(
                end(Asm::default().op(op::NIL).op(op::GET_PROPERTY).u32(2).u32(0).op(op::POP)),
                vec![K::Num(1.0), K::Num(2.0), K::Str(b"x")],
            ),
        ),
        ("closure of a number constant", script_module(end(Asm::default().op(op::CLOSURE).u32(0).op(op::POP)), nums())),
        (
            // Both paths reach the PRINT: one with 40 on the stack, one
            // with 40 and 2.
            "stack depths that disagree where paths meet",
            script_module(
                end(Asm::default()
                    .op(op::CONSTANT)
                    .u32(0)
                    .op(op::NIL)
                    .op(op::JUMP_IF_FALSE)
                    .i32(5)
                    .op(op::CONSTANT)
                    .u32(1)
                    .op(op::POP)
                    .op(op::PRINT)),
                nums(),
            ),
        ),
        (
            "call with more arguments than the stack holds",
            script_module(end(Asm::default().op(op::NIL).op(op::CALL).u8(5)), nums()),
        ),
        ("no functions", module(&[], &[])),
        ("function 0 is not a script", module(&[], &[Func { kind: 1, ..Func::script(end(Asm::default()), vec![]) }])),
        (
            "function constant out of range",
            script_module(end(Asm::default().op(op::CLOSURE).u32(0).op(op::POP)), vec![K::Fun(7)]),
        ),
        (
            "function constant naming the script",
            script_module(end(Asm::default().op(op::CLOSURE).u32(0).op(op::POP)), vec![K::Fun(0)]),
        ),
        ("empty code", script_module(vec![], vec![])),
        ("invalid UTF-8 in a name", file(&payload(b"bad\xff.tvm", &[], &[Func::script(end(Asm::default()), vec![])]))),
        (
            "trailing bytes after the last function",
            file(&{
                let mut p = payload(b"x.tvm", &[], &[Func::script(end(Asm::default()), vec![])]);
                p.push(0);
                p
            }),
        ),
        (
            "huge constant count",
            file(&{
                let mut p = payload(b"x.tvm", &[], &[Func::script(end(Asm::default()), vec![])]);
                // The constant count is followed only by the locals count (0).
                let at = p.len() - 8;
                p[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
                p
            }),
        ),
        (
            // 2^24 - 1 caches for 3 bytes of code: allocating them would
            // take gigabytes for a file of a hundred bytes.
            "more caches than the code has room for",
            module(&[], &[Func { caches: (1 << 24) - 1, ..Func::script(end(Asm::default()), vec![]) }]),
        ),
        ("unsupported format version", {
            let mut f = script_module(end(Asm::default()), vec![]);
            f[4] = 1;
            f
        }),
    ];
    let mut failures = Vec::new();
    for (what, bytes) in cases {
        let (end, stdout) = run_bytes(&bytes);
        if !end.rejected() || !stdout.is_empty() {
            failures.push(format!("{what}: {end:?}, stdout {stdout:?}"));
        }
    }
    assert!(failures.is_empty(), "not rejected:\n{}", failures.join("\n"));
}

/// Code whose indices, jumps and stack depths are all valid but which gives
/// an instruction a value of the wrong kind: what a compiler never emits,
/// but a file can hold. Rejecting it (65) or raising a runtime error (70)
/// are both fine; a signal is not.
fn assert_no_crash(what: &str, bytes: Vec<u8>) -> Result<(), String> {
    let (end, _) = run_bytes(&bytes);
    match end {
        End::Exit(65, ref err) if err.starts_with(INVALID) => Ok(()),
        End::Exit(70, _) => Ok(()),
        other => {
            let keep = keep_dir().join(format!("d_{}.tvmc", what.replace(' ', "_")));
            let _ = std::fs::write(&keep, &bytes);
            Err(format!("{what}: {other:?} (file kept as {})", keep.display()))
        }
    }
}

#[test]
fn type_confused_code_does_not_crash() {
    let method = Func {
        name: b"m",
        kind: 2,
        arity: 0,
        upvalues: 0,
        caches: 0,
        code: Asm::default().op(op::NIL).op(op::RETURN).code(),
        constants: vec![],
    };
    let end = |a: Asm| a.op(op::NIL).op(op::RETURN).code();
    // One inline cache for the scripts that CALL.
    let with_method = |code: Vec<u8>, constants: Vec<K>| {
        module(&["g"], &[Func { caches: 1, ..Func::script(code, constants) }, method.clone()])
    };
    let mut failures = Vec::new();
    let mut check = |what: &str, bytes: Vec<u8>| {
        if let Err(e) = assert_no_crash(what, bytes) {
            failures.push(e);
        }
    };

    // METHOD adds a method to the class below it: here nil.
    check(
        "METHOD on nil",
        with_method(
            end(Asm::default().op(op::NIL).op(op::CLOSURE).u32(0).op(op::METHOD).u32(1).op(op::POP)),
            vec![K::Fun(1), K::Str(b"m")],
        ),
    );
    // METHOD on a class, but the "method" is a number.
    check(
        "METHOD with a number",
        with_method(
            end(Asm::default()
                .op(op::CLASS)
                .u32(1)
                .op(op::CONSTANT)
                .u32(2)
                .op(op::METHOD)
                .u32(0)
                .op(op::CALL)
                .u8(0)
                .u32(0)
                .op(op::POP)),
            vec![K::Str(b"init"), K::Str(b"A"), K::Num(1.0)],
        ),
    );
    // INHERIT copies methods into the subclass on top: here nil.
    check(
        "INHERIT into nil",
        with_method(
            end(Asm::default().op(op::CLASS).u32(0).op(op::NIL).op(op::INHERIT).op(op::POP)),
            vec![K::Str(b"A")],
        ),
    );
    // GET_SUPER / SUPER_INVOKE look the method up in the "superclass": nil.
    check(
        "GET_SUPER of nil",
        with_method(
            end(Asm::default().op(op::NIL).op(op::NIL).op(op::GET_SUPER).u32(0).op(op::POP)),
            vec![K::Str(b"m")],
        ),
    );
    check(
        "SUPER_INVOKE of nil",
        with_method(
            end(Asm::default().op(op::NIL).op(op::NIL).op(op::SUPER_INVOKE).u32(0).u8(0).op(op::POP)),
            vec![K::Str(b"m")],
        ),
    );
    // One inline cache shared by a GET_PROPERTY and an INVOKE: the field
    // index the first leaves in the cache must not be called as a method.
    let shared_cache = Func {
        caches: 3,
        ..Func::script(
            end(Asm::default()
                .op(op::CLASS)
                .u32(0)
                .op(op::CALL)
                .u8(0)
                .u32(2)
                .op(op::DEFINE_GLOBAL)
                .u32(0)
                // g.x = 1 (cache 0)
                .op(op::GET_GLOBAL)
                .u32(0)
                .op(op::CONSTANT)
                .u32(2)
                .op(op::SET_PROPERTY)
                .u32(1)
                .u32(0)
                .op(op::POP)
                // g.x (cache 1)
                .op(op::GET_GLOBAL)
                .u32(0)
                .op(op::GET_PROPERTY)
                .u32(1)
                .u32(1)
                .op(op::POP)
                // g.x() (cache 1 again)
                .op(op::GET_GLOBAL)
                .u32(0)
                .op(op::INVOKE)
                .u32(1)
                .u8(0)
                .u32(1)
                .op(op::POP)),
            vec![K::Str(b"A"), K::Str(b"x"), K::Num(1.0)],
        )
    };
    check("cache shared by GET_PROPERTY and INVOKE", module(&["g"], &[shared_cache]));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Names (of the source, a function, a global) that hold NUL bytes or a
/// megabyte, and string constants with NUL, invalid UTF-8 or a megabyte:
/// each module runs in the interpreter and with every function compiled
/// (whose names reach the JIT's DWARF for gdb), and through `load()`;
/// names that are not UTF-8 are rejected.
#[test]
fn odd_names_and_strings_never_crash() {
    let megabyte: &'static [u8] = Box::leak(vec![b'n'; 1 << 20].into_boxed_slice());
    let big_string: &'static [u8] = Box::leak(vec![b'x'; 1 << 20].into_boxed_slice());
    // `fun NAME() { return CONSTANT 0; }  print f();  print len(f());`
    let module_with = |source: &[u8], function: &'static [u8], global: &[u8], constant: &'static [u8]| {
        let f = Func {
            name: function,
            kind: 1,
            arity: 0,
            upvalues: 0,
            caches: 0,
            code: Asm::default().op(op::CONSTANT).u32(0).op(op::RETURN).code(),
            constants: vec![K::Str(constant)],
        };
        let call = |a: Asm, cache: u32| a.op(op::GET_GLOBAL).u32(0).op(op::CALL).u8(0).u32(cache);
        let script = Func {
            caches: 3,
            ..Func::script(
                call(
                    call(Asm::default().op(op::CLOSURE).u32(0).op(op::DEFINE_GLOBAL).u32(0), 0)
                        .op(op::PRINT)
                        .op(op::GET_GLOBAL)
                        .u32(1),
                    1,
                )
                .op(op::CALL)
                .u8(1)
                .u32(2)
                .op(op::PRINT)
                .op(op::NIL)
                .op(op::RETURN)
                .code(),
                vec![K::Fun(1)],
            )
        };
        file(&payload_of(source, &[global, b"len"], &[script, f]))
    };
    let short = b"ok" as &'static [u8];
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("NUL in the source name", module_with(b"a\0b.tvm", b"f", b"f", short), b"ok\n2\n".to_vec()),
        ("NUL in a function name", module_with(b"x.tvm", b"f\0g", b"f", short), b"ok\n2\n".to_vec()),
        ("NUL in a global name", module_with(b"x.tvm", b"f", b"f\0", short), b"ok\n2\n".to_vec()),
        ("NUL in a string", module_with(b"x.tvm", b"f", b"f", b"o\0k"), b"o\0k\n3\n".to_vec()),
        ("invalid UTF-8 in a string", module_with(b"x.tvm", b"f", b"f", b"\xff\xfe"), b"\xff\xfe\n2\n".to_vec()),
        ("a megabyte source name", module_with(megabyte, b"f", b"f", short), b"ok\n2\n".to_vec()),
        ("a megabyte function name", module_with(b"x.tvm", megabyte, b"f", short), b"ok\n2\n".to_vec()),
        ("a megabyte global name", module_with(b"x.tvm", b"f", megabyte, short), b"ok\n2\n".to_vec()),
        ("a megabyte string", module_with(b"x.tvm", b"f", b"f", big_string), {
            let mut out = big_string.to_vec();
            out.extend_from_slice(b"\n1048576\n");
            out
        }),
    ];
    let dir = scratch();
    let mut failures = Vec::new();
    for (what, bytes, expected) in cases {
        let path = dir.path().join("odd.tvmc");
        std::fs::write(&path, &bytes).expect("write");
        let main = dir.path().join("main.tvm");
        std::fs::write(&main, format!("load({:?});\n", path.to_str().unwrap())).expect("write");
        let runs = [
            vec!["run", "--jit=off", path.to_str().unwrap()],
            vec!["run", "--jit=always", path.to_str().unwrap()],
            vec!["run", "--jit=always", main.to_str().unwrap()],
        ];
        for args in runs {
            let out = Command::new(tinyvm()).args(&args).output().expect("run");
            if (out.status.code(), &out.stdout, out.stderr.is_empty()) != (Some(0), &expected, true) {
                let stdout = String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(200)]).into_owned();
                let stderr = String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(300)]).into_owned();
                failures.push(format!("{what} ({args:?}): {:?} {stdout:?} {stderr:?}", out.status));
            }
        }
    }
    for (what, bytes) in [
        ("invalid UTF-8 in the source name", module_with(b"\xff.tvm", b"f", b"f", short)),
        ("invalid UTF-8 in a function name", module_with(b"x.tvm", b"f\xff", b"f", short)),
        ("invalid UTF-8 in a global name", module_with(b"x.tvm", b"f", b"\xfe", short)),
    ] {
        let (end, stdout) = run_bytes(&bytes);
        if !end.rejected() || !stdout.is_empty() {
            failures.push(format!("{what}: {end:?}, stdout {stdout:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
