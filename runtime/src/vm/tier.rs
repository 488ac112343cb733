//! How the VM reaches the compiler tiers: the one narrow interface (`Tier`)
//! and the VM's side of tiering (when a function is hot).
//!
//! The VM owns the policy's inputs: the `--jit` mode, the per-function
//! hotness counter (calls plus loop back-edges seen by the interpreter),
//! the threshold, and what a function's machine code is to the VM (its
//! entries, `ObjFunction::native_entry` and `fast_entry`, and its OSR
//! entries). A tier (the JIT, installed at start-up by `program.rs`) owns
//! how code is made and kept: the VM calls `Tier::compile` at the two
//! points that need it, a call of a hot function and a hot loop back-edge,
//! and `Tier::optimize_native` when the loader installs ahead-of-time code
//! (see `install_native` for why then); the code a tier leaves in
//! `ObjFunction::machine_code` is freed with the function (its `Drop`).
//! Nothing here names the compiler.

use super::{JitMode, Thread, Vm};
use crate::object::ObjFunction;
use crate::value::Value;
use std::sync::atomic::{AtomicU64, Ordering};

/// Calls plus loop back-edges after which `--jit=auto` compiles a function.
pub const HOT_THRESHOLD: u32 = 1000;

/// `ObjFunction::tier_state`: not compiled yet (it may be).
pub const TIER_NONE: u8 = 0;
/// Compiled (or being compiled), or given machine code ahead of time.
pub const TIER_COMPILED: u8 = 1;
/// The tier declined it: it stays interpreted.
pub const TIER_DECLINED: u8 = 2;

/// The signature of an OSR entry: called while the function's interpreted
/// frame is the top frame, it continues that frame in machine code at the
/// loop header and returns when the function does (frame popped, result in
/// base[0]); a non-zero status means a runtime error is pending.
pub type OsrEntry = unsafe extern "sysv64" fn(*mut Vm, *mut Thread, *mut Value) -> u64;

/// A compiler tier, as the VM sees it.
pub trait Tier: Sync {
    /// Compiles `function` now: on success sets its entries (and OSR
    /// entries) and `tier_state` to `TIER_COMPILED`, else `TIER_DECLINED`.
    fn compile(&self, vm: &mut Vm, th: &mut Thread, function: *mut ObjFunction);

    /// `function` was just given ahead-of-time (baseline) machine code, by
    /// `install_native`: the tier may replace its entries (and add OSR
    /// entries) with better code made from it, keeping that code in
    /// `ObjFunction::machine_code`. By default it keeps the baseline code.
    fn optimize_native(&self, vm: &mut Vm, function: *mut ObjFunction) {
        let _ = (vm, function);
    }

    /// The tier's counters, for `TINYVM_STATS`.
    fn stats(&self) -> TierStats;
}

/// A tier's counters.
#[derive(Default, Clone, Debug)]
pub struct TierStats {
    pub compiled: u64,
    pub code_bytes: u64,
    pub compile_ns: u64,
    /// Compiled functions whose code was freed again.
    pub freed: u64,
    /// The optimizing tier's counters, when it is on.
    pub opt: Option<OptStats>,
}

/// The optimizing tier's counters.
#[derive(Default, Clone, Debug)]
pub struct OptStats {
    pub compiled: u64,
    pub declined: u64,
    pub compile_ns: u64,
    pub code_bytes: u64,
    /// Deoptimizations, by reason (its name, the count).
    pub deopts: Vec<(&'static str, u64)>,
    /// Functions sent back to baseline code after repeated deopts.
    pub invalidated: u64,
    /// Each compilation's time in ns and its function's bytecode bytes
    /// (compiled and declined alike).
    pub samples: Vec<(u64, u32)>,
}

/// No tier: every function stays interpreted (the VM's default until
/// `program.rs` installs the JIT).
pub struct NoTier;

impl Tier for NoTier {
    fn compile(&self, _: &mut Vm, _: &mut Thread, function: *mut ObjFunction) {
        // SAFETY: the function is live (it is being called).
        unsafe { (*function).tier_state = TIER_DECLINED };
    }

    fn stats(&self) -> TierStats {
        TierStats::default()
    }
}

static NATIVE_FUNCTIONS: AtomicU64 = AtomicU64::new(0);
static INTERPRETED_FUNCTIONS: AtomicU64 = AtomicU64::new(0);
static OSR_ENTRIES: AtomicU64 = AtomicU64::new(0);

/// (functions given machine code ahead of time, functions that ran at
/// least once in the interpreter, interpreted frames continued in machine
/// code at a loop header), for the statistics.
pub fn function_counts() -> (u64, u64, u64) {
    (
        NATIVE_FUNCTIONS.load(Ordering::Relaxed),
        INTERPRETED_FUNCTIONS.load(Ordering::Relaxed),
        OSR_ENTRIES.load(Ordering::Relaxed),
    )
}

/// Records that an interpreted frame of `function` starts.
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

/// Gives `function` ahead-of-time machine code (built executables), whose
/// fast entry is `fast_entry_offset` bytes into it, then lets the tier
/// optimize it (`Tier::optimize_native`) unless `Options::optimize` is off.
///
/// Why at install, before the program runs: ahead-of-time code keeps no
/// hotness counter, and calls between compiled functions go straight to
/// the callee's fast entry without the runtime, so installation is the one
/// point where the VM sees every such function. Entries swapped then are
/// the ones every call site and inline cache reads, and the script's own
/// loops run optimized from the start. The cost is one attempt per function
/// at start-up; the optimizing tier declines functions outside its subset
/// while building their IR, before it allocates code.
pub fn install_native(vm: &mut Vm, function: *mut ObjFunction, entry: *const u8, fast_entry_offset: usize) {
    // SAFETY: the function is live (the loader holds it) and the entry is
    // code generated for it, with the fast entry at that offset.
    unsafe {
        (*function).native_entry = entry;
        (*function).fast_entry = entry.add(fast_entry_offset);
        (*function).tier_state = TIER_COMPILED;
    }
    NATIVE_FUNCTIONS.fetch_add(1, Ordering::Relaxed);
    if vm.options.optimize {
        let tier = vm.tier;
        tier.optimize_native(vm, function);
    }
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
            JitMode::Always => (*function).tier_state == TIER_NONE,
            JitMode::Auto => {
                (*function).hotness = (*function).hotness.saturating_add(1);
                (*function).hotness >= HOT_THRESHOLD && (*function).tier_state == TIER_NONE
            }
        }
    }
}

/// A call of `function` is about to start: compiles it first when the mode
/// says so. (Calls from compiled code count here.)
pub fn on_call(vm: &mut Vm, th: &mut Thread, function: *mut ObjFunction) {
    // SAFETY: as in `wants`.
    let (state, hot) = unsafe {
        (*function).hotness = (*function).hotness.saturating_add(1);
        ((*function).tier_state, (*function).hotness >= HOT_THRESHOLD)
    };
    if state != TIER_NONE {
        return;
    }
    let compile_now = match vm.options.jit {
        JitMode::Off => false,
        JitMode::Always => true,
        JitMode::Auto => hot,
    };
    if compile_now {
        let tier = vm.tier;
        tier.compile(vm, th, function);
    }
}

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
    // A frame that left optimized code at a poll stays interpreted (see
    // `Thread::no_osr_frame`).
    if th.frames_top.wrapping_sub(1) == th.no_osr_frame {
        return None;
    }
    // SAFETY: the running function is live.
    if unsafe { (*function).tier_state } == TIER_NONE {
        let tier = vm.tier;
        tier.compile(vm, th, function);
    }
    // SAFETY: as above; the entries point into the function's own code,
    // generated with the `OsrEntry` signature.
    unsafe {
        let entry = (*function).osr_entries.iter().find(|&&(h, _)| h == header)?.1;
        OSR_ENTRIES.fetch_add(1, Ordering::Relaxed);
        Some(std::mem::transmute::<*const u8, OsrEntry>(entry))
    }
}
