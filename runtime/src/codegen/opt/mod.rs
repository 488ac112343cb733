//! The optimizing tier: hot functions are compiled to type-specialized
//! machine code with numbers unboxed in XMM registers, receivers' shapes
//! and callees taken from the inline caches, guarded, deoptimizing to the
//! interpreter.
//!
//! Pipeline: `build`, `build_call` and `build_heap` (bytecode -> SSA IR with explicit guards) ->
//! `passes` (constant folding, redundant guards, field-load fusion, dead
//! code) -> `regalloc` (linear scan) -> `emit`, `emit_compare` and `emit_heap` (x86-64) -> `ExecutableCode::install`; `deopt`
//! is the runtime side of a failed guard. This file owns the switches
//! (`TINYVM_OPT`, `TINYVM_DEOPT_STRESS`, `TINYVM_OPT_DEBUG`), the driver and
//! the statistics. It is on by default (`TINYVM_OPT=0` turns it off) and
//! optimizes from baseline code, which stays for OSR and for invalidation:
//! the JIT (`codegen::jit`) calls `compile` right after making a function's
//! baseline code, and a built executable's ahead-of-time code asks for it
//! when a function is hot (`lower/tier_up.rs`, `jit::optimize_hot`). The
//! optimized code embeds absolute
//! addresses (helpers, its own records), made at run time, so it works in
//! position-independent and static-PIE executables alike.

pub mod build;
mod build_call;
mod build_heap;
pub mod deopt;
pub mod emit;
mod emit_compare;
mod emit_heap;
pub mod ir;
pub mod passes;
pub mod regalloc;

use super::executable_memory::ExecutableCode;
use crate::bytecode::module::Constant;
use crate::object::{Intrinsic, Obj, ObjFunction, CACHE_WAYS};
use deopt::{DeoptRecord, Shared};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// The switches, read once from the environment (or set once by
/// `set_options`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OptOptions {
    /// On unless `TINYVM_OPT=0`: hot functions get optimized code
    /// (`TINYVM_OPT=1`, or unset, the default).
    pub enabled: bool,
    /// `TINYVM_OPT=eager`: functions are compiled at their first call.
    pub eager: bool,
    /// `TINYVM_DEOPT_STRESS=1`: every guard fails the first time it runs.
    pub stress: bool,
    /// `TINYVM_OPT_DEBUG`: says what is compiled or declined, and why.
    pub debug: bool,
}

static OPTIONS: OnceLock<OptOptions> = OnceLock::new();

pub fn options() -> &'static OptOptions {
    OPTIONS.get_or_init(|| {
        let opt = std::env::var("TINYVM_OPT").unwrap_or_default();
        OptOptions {
            enabled: opt != "0",
            eager: opt == "eager",
            stress: std::env::var("TINYVM_DEOPT_STRESS").is_ok_and(|v| v == "1"),
            debug: std::env::var("TINYVM_OPT_DEBUG").is_ok(),
        }
    })
}

/// Sets the switches instead of the environment, before anything reads
/// them; for test harnesses that run programs in forked children
/// (`tinyvm::forked`), where the variables cannot be set per child.
/// Fails with the switches in force when they were already read or set
/// (also when they equal `options`). Like the variables, `eager` only
/// takes effect with `JitMode::Always` (what `tinyvm run` picks for it).
pub fn set_options(options: OptOptions) -> Result<(), OptOptions> {
    OPTIONS.set(options).map_err(|_| *OPTIONS.get().expect("set"))
}

/// Spill slots beyond which a function is declined (native stack per frame).
const MAX_SPILL_SLOTS: u32 = 64;

/// A function's optimized code and the state its guards share.
pub struct OptCode {
    pub code: ExecutableCode,
    /// OSR entries into the optimized code: (loop header, entry).
    pub osr_entries: Vec<(u32, *const u8)>,
    _shared: Box<Shared>,
    _records: Box<[DeoptRecord]>,
}

// SAFETY: the raw pointers point into this object's own boxes and to the
// function that owns it; they are only used under the VM lock.
unsafe impl Send for OptCode {}

static COMPILED: AtomicU64 = AtomicU64::new(0);
static DECLINED: AtomicU64 = AtomicU64::new(0);
static COMPILE_NS: AtomicU64 = AtomicU64::new(0);
static CODE_BYTES: AtomicU64 = AtomicU64::new(0);
/// Each compilation's (ns, bytecode bytes), for the statistics' medians
/// and p99s; pushed after the compilation, under no other lock.
static SAMPLES: Mutex<Vec<(u64, u32)>> = Mutex::new(Vec::new());

/// The tier's counters, for `TINYVM_STATS`.
pub fn stats() -> crate::vm::tier::OptStats {
    let (deopts, invalidated) = deopt::counts();
    crate::vm::tier::OptStats {
        compiled: COMPILED.load(Ordering::Relaxed),
        declined: DECLINED.load(Ordering::Relaxed),
        compile_ns: COMPILE_NS.load(Ordering::Relaxed),
        code_bytes: CODE_BYTES.load(Ordering::Relaxed),
        deopts: ir::Reason::NAMES.into_iter().zip(deopts).collect(),
        samples: SAMPLES.lock().map(|s| s.clone()).unwrap_or_default(),
        invalidated,
    }
}

/// The IR of `function` after the passes (also for tests and debugging).
pub fn function_ir(function: &ObjFunction, intrinsic_of_global: &dyn Fn(u32) -> Intrinsic) -> Result<ir::Func, String> {
    let capture_count = |k: u32| {
        let v = function.constant_values[k as usize];
        // SAFETY: verified code only uses function constants in CLOSURE.
        unsafe { (*(v.as_obj() as *mut ObjFunction)).upvalue_count }
    };
    let number_constant = |k: u32| match function.proto.constants.get(k as usize) {
        Some(Constant::Number(n)) => Some(*n),
        _ => None,
    };
    let known = |c: u32| {
        let ways = function.cache_storage.get(c as usize * CACHE_WAYS..(c as usize + 1) * CACHE_WAYS)?;
        let (first, rest) = ways.split_first()?;
        if first.key.is_null() || rest.iter().any(|w| !w.key.is_null()) {
            return None; // no feedback yet, or more than one shape seen
        }
        Some(ir::Known { shape: first.key as u64, value: first.value, next_shape: first.next_shape as u64 })
    };
    let input = build::BuildInput {
        code: &function.proto.code,
        arity: function.arity,
        capture_count: &capture_count,
        number_constant: &number_constant,
        known: &known,
        intrinsic_of_global,
    };
    let mut func = build::build(&input)?;
    passes::optimize(&mut func);
    if !options().eager && !func.speculates() {
        // (Eager mode still takes it, so that the tests run these paths.)
        return Err("nothing to speculate on".into());
    }
    Ok(func)
}

/// Optimizes `function`, whose baseline code starts at `baseline_entry`
/// and has the OSR entries `baseline_osr`.
/// `intrinsic_of_global` names the operation of the native a global
/// names (`natives::intrinsic_named`).
pub fn compile(
    function: &mut ObjFunction,
    baseline_entry: *const u8,
    baseline_osr: Vec<(u32, *const u8)>,
    intrinsic_of_global: &dyn Fn(u32) -> Intrinsic,
) -> Result<OptCode, String> {
    let start = Instant::now();
    let result = compile_now(function, baseline_entry, baseline_osr, intrinsic_of_global);
    let ns = start.elapsed().as_nanos() as u64;
    COMPILE_NS.fetch_add(ns, Ordering::Relaxed);
    if let Ok(mut samples) = SAMPLES.lock() {
        samples.push((ns, function.proto.code.len() as u32));
    }
    match &result {
        Ok(code) => {
            COMPILED.fetch_add(1, Ordering::Relaxed);
            CODE_BYTES.fetch_add(code.code.code_len as u64, Ordering::Relaxed);
            if options().debug {
                eprintln!("opt: compiled {} ({} bytes)", function.proto.name, code.code.code_len);
            }
        }
        Err(why) => {
            DECLINED.fetch_add(1, Ordering::Relaxed);
            if options().debug {
                eprintln!("opt: {} declined: {}", function.proto.name, why);
            }
        }
    }
    result
}

fn compile_now(
    function: &mut ObjFunction,
    baseline_entry: *const u8,
    baseline_osr: Vec<(u32, *const u8)>,
    intrinsic_of_global: &dyn Fn(u32) -> Intrinsic,
) -> Result<OptCode, String> {
    let func = function_ir(function, intrinsic_of_global)?;
    let alloc = regalloc::allocate(&func);
    if std::env::var("TINYVM_OPT_DEBUG").is_ok_and(|v| v == "ir") {
        eprintln!("opt: IR of {}:\n{}locations: {:?}", function.proto.name, func.listing(), alloc.locs);
    }
    if alloc.spill_slots > MAX_SPILL_SLOTS {
        return Err(format!("{} spill slots", alloc.spill_slots));
    }
    // The shapes the code compares with must outlive it (their classes,
    // and so the methods it calls, live as long as they do).
    for inst in func.blocks.iter().flat_map(|b| &b.insts) {
        if let ir::Inst::GetField { known: Some(k), .. }
        | ir::Inst::SetField { known: Some(k), .. }
        | ir::Inst::Invoke { known: Some(k), .. } = inst
        {
            for shape in [k.shape, k.next_shape] {
                let shape = shape as *mut Obj;
                if !shape.is_null() && !function.code_roots.contains(&shape) {
                    function.code_roots.push(shape);
                }
            }
        }
    }
    let guards = func.deopts.len();
    let mut shared = Box::new(Shared {
        function: function as *mut ObjFunction,
        redirect: 0,
        baseline_entry,
        baseline_osr,
        failures: 0,
        stress: if options().stress { vec![0; guards] } else { Vec::new() },
    });
    let shared_ptr: *mut Shared = &mut *shared;
    let records: Box<[DeoptRecord]> = func
        .deopts
        .iter()
        .enumerate()
        .map(|(i, d)| DeoptRecord { pc: d.pc, depth: d.depth, reason: d.reason, index: i as u32, shared: shared_ptr })
        .collect();
    let addresses = emit::Addresses {
        redirect: &shared.redirect as *const u64 as u64,
        records: records.iter().map(|r| r as *const DeoptRecord as u64).collect(),
        stress: options().stress.then(|| shared.stress.iter().map(|f| f as *const u8 as u64).collect()),
        deopt: deopt::tvm_opt_deopt as *const () as u64,
        call: super::helpers::tvm_rt_call as *const () as u64,
        caches: function.caches as u64,
        stack_overflow: super::helpers::tvm_rt_stack_overflow as *const () as u64,
        function: function as *mut ObjFunction as u64,
    };
    let input =
        emit::EmitInput { func: &func, alloc: &alloc, max_stack: function.max_stack, arity: function.arity, addresses };
    let lowered = emit::emit(&input).map_err(|e| e.0)?;
    if let Ok(dir) = std::env::var("TINYVM_OPT_DUMP") {
        // The raw code, for `objdump -D -b binary -mi386:x86-64`.
        let _ = std::fs::write(format!("{}/{}.bin", dir, function.proto.name), &lowered.code);
    }
    let code = ExecutableCode::install(&lowered)?;
    let osr_entries = lowered
        .osr_entries
        .iter()
        // SAFETY: the offsets lie inside the installed code.
        .map(|&(header, at)| (header, unsafe { code.entry.add(at as usize) }))
        .collect();
    Ok(OptCode { code, osr_entries, _shared: shared, _records: records })
}
