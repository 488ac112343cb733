//! The JIT: when to compile a function, compiling it with the shared
//! lowering into executable memory, and the JIT statistics.
//!
//! `--jit=always` compiles each function before its first call; `auto`
//! counts calls and loop back-edges per function (`ObjFunction::hotness`)
//! and compiles past `HOT_THRESHOLD`; `off` never compiles. A function the
//! lowering declines stays interpreted. Compiled code lives as long as its
//! function object and is unmapped when the GC frees it.

use super::lower::{lower, FunctionInput};
use super::memory::ExecutableCode;
use crate::bytecode::module::Constant;
use crate::object::ObjFunction;
use crate::vm::{JitMode, Thread, Vm};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Calls plus loop back-edges after which `auto` compiles a function.
pub const HOT_THRESHOLD: u32 = 1000;

/// `jit_state` values.
pub const JIT_NONE: u8 = 0;
pub const JIT_COMPILED: u8 = 1;
pub const JIT_DECLINED: u8 = 2;

static COMPILED: AtomicU64 = AtomicU64::new(0);
static CODE_BYTES: AtomicU64 = AtomicU64::new(0);
static COMPILE_NS: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);
static NATIVE_FUNCTIONS: AtomicU64 = AtomicU64::new(0);
static INTERPRETED_FUNCTIONS: AtomicU64 = AtomicU64::new(0);
static OSR_ENTRIES: AtomicU64 = AtomicU64::new(0);

/// JIT counters for the statistics.
#[derive(Default, Clone, Copy)]
pub struct JitStats {
    pub compiled: u64,
    pub code_bytes: u64,
    pub compile_ns: u64,
    /// Compiled functions whose code was freed again.
    pub freed: u64,
    /// Functions with native code (AOT or JIT) that were loaded.
    pub native_functions: u64,
    /// Functions that ran at least once in the interpreter.
    pub interpreted: u64,
    /// Interpreted frames continued in machine code at a loop header.
    pub osr_entries: u64,
}

impl JitStats {
    pub fn interpreted_functions(&self, _vm: &Vm) -> u64 {
        self.interpreted
    }
}

pub fn stats() -> JitStats {
    JitStats {
        compiled: COMPILED.load(Ordering::Relaxed),
        code_bytes: CODE_BYTES.load(Ordering::Relaxed),
        compile_ns: COMPILE_NS.load(Ordering::Relaxed),
        freed: FREED.load(Ordering::Relaxed),
        native_functions: NATIVE_FUNCTIONS.load(Ordering::Relaxed),
        interpreted: INTERPRETED_FUNCTIONS.load(Ordering::Relaxed),
        osr_entries: OSR_ENTRIES.load(Ordering::Relaxed),
    }
}

/// Records that an interpreted frame of `function` starts (for the statistics).
#[inline(always)]
pub fn note_interpreted(function: *mut ObjFunction) {
    // SAFETY: the function is live (its closure is being called).
    unsafe {
        if !(*function).ran_interpreted {
            (*function).ran_interpreted = true;
            INTERPRETED_FUNCTIONS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Records a function that was given ahead-of-time native code.
pub fn note_native_function() {
    NATIVE_FUNCTIONS.fetch_add(1, Ordering::Relaxed);
}

/// Whether the interpreter's inline call path must defer to
/// `call::call_closure` because this call may compile `function`.
#[inline(always)]
pub fn wants(vm: &Vm, function: *mut ObjFunction) -> bool {
    // SAFETY: the function is live (its closure is being called); the
    // counter is only touched under the VM lock.
    unsafe {
        match vm.options.jit {
            JitMode::Off => false,
            JitMode::Always => (*function).jit_state == JIT_NONE,
            JitMode::Auto => {
                (*function).hotness = (*function).hotness.saturating_add(1);
                (*function).hotness >= HOT_THRESHOLD && (*function).jit_state == JIT_NONE
            }
        }
    }
}

/// An interpreted call of `function` is about to start: compiles it first
/// when the mode says so.
pub fn note_call(vm: &mut Vm, th: &mut Thread, function: *mut ObjFunction) {
    // SAFETY: as in `wants`. (Calls from compiled code count here.)
    let (state, hot) = unsafe {
        (*function).hotness = (*function).hotness.saturating_add(1);
        ((*function).jit_state, (*function).hotness >= HOT_THRESHOLD)
    };
    if state != JIT_NONE {
        return;
    }
    let compile_now = match vm.options.jit {
        JitMode::Off => false,
        JitMode::Always => true,
        JitMode::Auto => hot,
    };
    if compile_now {
        compile(vm, th, function);
    }
}

/// The signature of an OSR entry (see `lower::osr_entry`).
pub type OsrEntry = unsafe extern "sysv64" fn(*mut Vm, *mut Thread, *mut crate::value::Value) -> u64;

/// A loop back-edge to `header` in an interpreted frame of `function`:
/// when the function is (or now becomes) hot and compiled, the OSR entry
/// that continues the frame in machine code at that loop header.
#[inline(always)]
pub fn on_back_edge(vm: &mut Vm, th: &mut Thread, function: *mut ObjFunction, header: u32) -> Option<OsrEntry> {
    if vm.options.jit != JitMode::Auto {
        return None;
    }
    // SAFETY: the running function is live.
    let hot = unsafe {
        (*function).hotness = (*function).hotness.saturating_add(1);
        (*function).hotness >= HOT_THRESHOLD
    };
    if hot {
        osr_entry(vm, th, function, header)
    } else {
        None
    }
}

#[cold]
fn osr_entry(vm: &mut Vm, th: &mut Thread, function: *mut ObjFunction, header: u32) -> Option<OsrEntry> {
    // SAFETY: the running function is live.
    if unsafe { (*function).jit_state } == JIT_NONE {
        compile(vm, th, function);
    }
    // SAFETY: as above; the entries point into the function's own code.
    unsafe {
        let entry = (*function).osr_entries.iter().find(|&&(h, _)| h == header)?.1;
        OSR_ENTRIES.fetch_add(1, Ordering::Relaxed);
        Some(std::mem::transmute::<*const u8, OsrEntry>(entry))
    }
}

/// The lowering's view of a loaded function.
fn with_input<R>(function: &ObjFunction, f: impl FnOnce(&FunctionInput) -> R) -> R {
    let capture_count = |k: u32| {
        let v = function.constant_values[k as usize];
        // SAFETY: verified code only uses function constants in CLOSURE.
        unsafe { (*(v.as_obj() as *mut ObjFunction)).upvalue_count }
    };
    let number_constant = |k: u32| match function.proto.constants.get(k as usize) {
        Some(Constant::Number(n)) => Some(*n),
        _ => None,
    };
    let input = FunctionInput {
        code: &function.proto.code,
        arity: function.arity,
        max_stack: function.max_stack,
        capture_count: &capture_count,
        number_constant: &number_constant,
        inline_trivial_methods: true,
    };
    f(&input)
}

/// Compiles `function` now; on failure it stays interpreted for good.
pub fn compile(_vm: &mut Vm, _th: &mut Thread, function: *mut ObjFunction) {
    let start = Instant::now();
    // SAFETY: the function is live and only mutated under the VM lock.
    let f = unsafe { &mut *function };
    f.jit_state = JIT_DECLINED;
    let lowered = match with_input(f, lower) {
        Ok(l) => l,
        Err(e) => {
            if std::env::var("TINYVM_JIT_DEBUG").is_ok() {
                eprintln!("jit: {} declined: {}", f.proto.name, e.0);
            }
            return;
        }
    };
    let code = match ExecutableCode::install(&lowered) {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("TINYVM_JIT_DEBUG").is_ok() {
                eprintln!("jit: {} not installed: {}", f.proto.name, e);
            }
            return;
        }
    };
    if std::env::var("TINYVM_JIT_DEBUG").is_ok() {
        eprintln!("jit: compiled {} ({} bytes)", f.proto.name, lowered.code.len());
    }
    f.native_entry = code.entry;
    // SAFETY: OSR offsets lie inside the installed code.
    f.osr_entries =
        lowered.osr_entries.iter().map(|&(header, at)| (header, unsafe { code.entry.add(at as usize) })).collect();
    CODE_BYTES.fetch_add(code.code_len as u64, Ordering::Relaxed);
    f.gdb_registration = crate::codegen::gdb_jit::register(&f.proto, &lowered, code.entry, &f.module.source_name);
    f.jit_code = Some(code);
    f.jit_state = JIT_COMPILED;
    COMPILED.fetch_add(1, Ordering::Relaxed);
    COMPILE_NS.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

/// Frees the machine code of a collected function.
pub fn release_function_code(function: *mut ObjFunction) {
    // SAFETY: called by the sweep on a dead function.
    let f = unsafe { &mut *function };
    f.gdb_registration = None;
    if f.jit_code.take().is_some() {
        FREED.fetch_add(1, Ordering::Relaxed);
    }
}
