//! The JIT: the `Tier` the VM calls when a function is hot (`vm::tier`
//! decides when), compiling it with the shared lowering into executable
//! memory, registering it with gdb (and in perf's map when asked), and the
//! JIT's statistics. A function the lowering declines stays interpreted.
//! Compiled code lives as long as its function object: it is a `JitCode`
//! the function owns, freed with it. It also optimizes a built executable's
//! ahead-of-time code when the loader installs it (`optimize_native`),
//! keeping the optimized code in an `OptimizedNative` the function owns.

use super::executable_memory::ExecutableCode;
use super::gdb_jit::Registration;
use super::lower::{lower, FunctionInput};
use crate::bytecode::module::Constant;
use crate::object::{CompiledCode, ObjFunction};
use crate::vm::tier::{Tier, TierStats, TIER_COMPILED, TIER_DECLINED};
use crate::vm::{Thread, Vm};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The JIT tier (`program.rs` installs it in the VM).
pub struct Jit;

pub static JIT: Jit = Jit;

static COMPILED: AtomicU64 = AtomicU64::new(0);
static CODE_BYTES: AtomicU64 = AtomicU64::new(0);
static COMPILE_NS: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

impl Tier for Jit {
    fn compile(&self, vm: &mut Vm, th: &mut Thread, function: *mut ObjFunction) {
        compile(vm, th, function)
    }

    fn optimize_native(&self, _vm: &mut Vm, function: *mut ObjFunction) {
        if !super::opt::options().enabled {
            return;
        }
        // SAFETY: the loader holds the function (rooted) and just gave it
        // its ahead-of-time code; it is only mutated under the VM lock.
        let f = unsafe { &mut *function };
        // Its code counts its calls and back-edges (`lower/tier_up.rs`) and
        // asks when hot, when its caches know the shapes and callees it meets.
        f.opt_countdown = AOT_HOT_CALLS;
    }

    fn stats(&self) -> TierStats {
        TierStats {
            compiled: COMPILED.load(Ordering::Relaxed),
            code_bytes: CODE_BYTES.load(Ordering::Relaxed),
            compile_ns: COMPILE_NS.load(Ordering::Relaxed),
            freed: FREED.load(Ordering::Relaxed),
            opt: super::opt::options().enabled.then(super::opt::stats),
        }
    }
}

/// A function's JIT-compiled code and its gdb registration, freed (and
/// unregistered) when the function is.
struct JitCode {
    _code: ExecutableCode,
    _gdb: Option<Registration>,
    /// The optimized code, when the optimizing tier took the function
    /// (the baseline code stays for OSR and for when it is invalidated).
    _opt: Option<super::opt::OptCode>,
}

impl CompiledCode for JitCode {}

/// The optimized code of a function whose baseline code was compiled ahead
/// of time (and lives in the executable).
struct OptimizedNative {
    _opt: super::opt::OptCode,
}

impl CompiledCode for OptimizedNative {}

/// Whether `f` is top-level code (it runs once) without a loop: optimized
/// code would win nothing there, and the first compilation of a process
/// pays the assembler's one-time set-up (about half a millisecond, all of
/// hello world's start-up again).
/// Calls plus back-edges after which ahead-of-time code is optimized.
const AOT_HOT_CALLS: u32 = 1000;

/// Optimizes a function that has ahead-of-time code.
fn optimize_aot(vm: &Vm, f: &mut ObjFunction) {
    // Ahead-of-time code has no OSR entries (its frames never start in the
    // interpreter): invalidation leaves the function without.
    let intrinsic = |g: u32| intrinsic_of_global(vm, g);
    if let Ok(opt) = super::opt::compile(f, f.native_entry, f.osr_entries.clone(), &intrinsic) {
        super::perf_map::record(opt.code.entry, opt.code.code_len, &f.proto.name);
        use_optimized(f, &opt);
        f.machine_code = Some(Box::new(OptimizedNative { _opt: opt }));
    }
}

/// `Helper::TierUp`: the ahead-of-time code of `function` ran out of its
/// call count; it is optimized once (a later wrap-around is ignored).
pub fn optimize_hot(vm: &mut Vm, function: *mut ObjFunction) {
    // SAFETY: the function is live (its frame is running) and only
    // mutated under the VM lock.
    let f = unsafe { &mut *function };
    if f.machine_code.is_some() || !super::opt::options().enabled || f.fast_entry.is_null() {
        return;
    }
    optimize_aot(vm, f);
}

/// The optimized code's OSR entry for the loop at `header` of `function`,
/// or null (not optimized, or no entry there).
pub fn optimized_loop_entry(function: *mut ObjFunction, header: u32) -> *const u8 {
    // SAFETY: as in `optimize_hot`.
    let f = unsafe { &*function };
    if f.machine_code.is_none() {
        return std::ptr::null();
    }
    f.osr_entries.iter().find(|&&(h, _)| h == header).map_or(std::ptr::null(), |&(_, entry)| entry)
}

/// Points `f`'s entries at its optimized code `opt`.
fn use_optimized(f: &mut ObjFunction, opt: &super::opt::OptCode) {
    f.native_entry = opt.code.entry;
    // SAFETY: the fast entry lies inside the installed code.
    f.fast_entry = unsafe { opt.code.entry.add(super::abi::FAST_ENTRY_OFFSET) };
    // Loop headers the optimized code has no entry for keep the baseline's.
    for &(header, entry) in &opt.osr_entries {
        match f.osr_entries.iter_mut().find(|(h, _)| *h == header) {
            Some(existing) => existing.1 = entry,
            None => f.osr_entries.push((header, entry)),
        }
    }
}

impl Drop for JitCode {
    fn drop(&mut self) {
        FREED.fetch_add(1, Ordering::Relaxed);
    }
}

fn debug_enabled() -> bool {
    std::env::var("TINYVM_JIT_DEBUG").is_ok()
}

/// The operation of the native that global `g` names (a hint for both
/// tiers: generated code checks the callee).
fn intrinsic_of_global(vm: &Vm, g: u32) -> crate::object::Intrinsic {
    match vm.globals.names.get(g as usize) {
        // SAFETY: global names are live strings (the GC marks them).
        Some(&name) => crate::natives::intrinsic_named(unsafe { (*name).bytes() }),
        None => crate::object::Intrinsic::None,
    }
}

/// The lowering's view of a loaded function (whose global operands are
/// the program's slots, named in `vm.globals`).
fn with_input<R>(vm: &Vm, function: &ObjFunction, f: impl FnOnce(&FunctionInput) -> R) -> R {
    let capture_count = |k: u32| {
        let v = function.constant_values[k as usize];
        // SAFETY: verified code only uses function constants in CLOSURE.
        unsafe { (*(v.as_obj() as *mut ObjFunction)).upvalue_count }
    };
    let number_constant = |k: u32| match function.proto.constants.get(k as usize) {
        Some(Constant::Number(n)) => Some(*n),
        _ => None,
    };
    let intrinsic_of_global = |g: u32| intrinsic_of_global(vm, g);
    let input = FunctionInput {
        code: &function.proto.code,
        arity: function.arity,
        max_stack: function.max_stack,
        capture_count: &capture_count,
        number_constant: &number_constant,
        inline_trivial_methods: true,
        count_calls: false,
        intrinsic_of_global: &intrinsic_of_global,
    };
    f(&input)
}

/// Compiles `function` now; on failure it stays interpreted for good.
pub fn compile(vm: &mut Vm, _th: &mut Thread, function: *mut ObjFunction) {
    let start = Instant::now();
    // SAFETY: the function is live and only mutated under the VM lock.
    let f = unsafe { &mut *function };
    f.tier_state = TIER_DECLINED;
    let lowered = match with_input(vm, f, lower) {
        Ok(l) => l,
        Err(e) => {
            if debug_enabled() {
                eprintln!("jit: {} declined: {}", f.proto.name, e.0);
            }
            return;
        }
    };
    let code = match ExecutableCode::install(&lowered) {
        Ok(c) => c,
        Err(e) => {
            if debug_enabled() {
                eprintln!("jit: {} not installed: {}", f.proto.name, e);
            }
            return;
        }
    };
    if debug_enabled() {
        eprintln!("jit: compiled {} ({} bytes)", f.proto.name, lowered.code.len());
    }
    f.native_entry = code.entry;
    // SAFETY: the fast entry and OSR offsets lie inside the installed code.
    unsafe {
        f.fast_entry = code.entry.add(super::abi::FAST_ENTRY_OFFSET);
        f.osr_entries = lowered.osr_entries.iter().map(|&(header, at)| (header, code.entry.add(at as usize))).collect();
    }
    CODE_BYTES.fetch_add(code.code_len as u64, Ordering::Relaxed);
    super::perf_map::record(code.entry, code.code_len, &f.proto.name);
    let gdb = super::gdb_jit::register(&f.proto, &lowered, code.entry, f.source_name());
    let opt = if super::opt::options().enabled && vm.options.optimize {
        let intrinsic = |g: u32| intrinsic_of_global(vm, g);
        super::opt::compile(f, code.entry, f.osr_entries.clone(), &intrinsic).ok()
    } else {
        None
    };
    if let Some(opt) = &opt {
        super::perf_map::record(opt.code.entry, opt.code.code_len, &f.proto.name);
        use_optimized(f, opt);
    }
    f.machine_code = Some(Box::new(JitCode { _code: code, _gdb: gdb, _opt: opt }));
    f.tier_state = TIER_COMPILED;
    COMPILED.fetch_add(1, Ordering::Relaxed);
    COMPILE_NS.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
}
