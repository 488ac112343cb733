//! Deoptimization: what happens when a guard of optimized code fails.
//!
//! Owns the runtime side: the per-guard records the stubs pass, the
//! per-function state shared by all guards (failure count, the redirect
//! word, the stress flags), and `tvm_opt_deopt`, which finishes rebuilding
//! the interpreter frame (the stub already wrote the guard's numbers into
//! their slots), continues it in the interpreter and hands its status back
//! to the stub, which returns it as the optimized code would have. After
//! `DEOPT_LIMIT` failures of speculation the function is invalidated: its
//! entries go back to the baseline code and the redirect word sends every
//! caller that cached the optimized entry there too, so no deopt loop.
//! It must not decide what is speculated nor emit code.

use super::ir::Reason;
use crate::object::ObjFunction;
use crate::vm::{interp, Thread, Vm};
use std::sync::atomic::{AtomicU64, Ordering};

/// Failed speculations after which a function stays baseline.
pub const DEOPT_LIMIT: u32 = 4;

/// What the optimized code of one function shares among its guards.
pub struct Shared {
    pub function: *mut ObjFunction,
    /// 0 while the optimized code is valid, else the baseline fast entry
    /// (the optimized fast entry jumps there).
    pub redirect: u64,
    /// Baseline code's System V entry.
    pub baseline_entry: *const u8,
    /// Baseline code's OSR entries.
    pub baseline_osr: Vec<(u32, *const u8)>,
    /// Failed speculations so far (touched only under the VM lock).
    pub failures: u32,
    /// Deopt-stress mode: per guard, 1 once it failed (its code tests it).
    pub stress: Vec<u8>,
}

/// One guard, as its stub passes it.
pub struct DeoptRecord {
    /// The bytecode offset of the instruction to resume at.
    pub pc: u32,
    /// Slots on the stack there.
    pub depth: u32,
    pub reason: Reason,
    pub index: u32,
    pub shared: *mut Shared,
}

static DEOPTS: [AtomicU64; Reason::COUNT] = [const { AtomicU64::new(0) }; Reason::COUNT];
static INVALIDATED: AtomicU64 = AtomicU64::new(0);

/// (deopts by reason, functions sent back to baseline code).
pub fn counts() -> ([u64; Reason::COUNT], u64) {
    (std::array::from_fn(|i| DEOPTS[i].load(Ordering::Relaxed)), INVALIDATED.load(Ordering::Relaxed))
}

/// Called by a guard's stub with the guard's numbers already in their
/// slots and the optimized frame on top: continues that frame in the
/// interpreter at the guarded instruction; returns the status the
/// optimized code returns (0: the frame returned, 1: an error is pending).
///
/// # Safety
/// Only optimized code calls it, with the VM and thread it runs on and
/// one of its own records.
#[no_mangle]
pub unsafe extern "sysv64" fn tvm_opt_deopt(vm: *mut Vm, th: *mut Thread, record: *const DeoptRecord) -> u64 {
    // SAFETY: the caller's contract: live VM and thread of the calling
    // thread, a record (and its shared state) owned by the running code,
    // whose frame is the top frame; the stub wrote every slot below
    // `depth` that the interpreter will read.
    unsafe {
        let (vm, th, record) = (&mut *vm, &mut *th, &*record);
        let shared = &mut *record.shared;
        DEOPTS[record.reason as usize].fetch_add(1, Ordering::Relaxed);
        if let Some(flag) = shared.stress.get_mut(record.index as usize) {
            *flag = 1;
        }
        if record.reason.counts() {
            shared.failures += 1;
            if shared.failures == DEOPT_LIMIT {
                invalidate(shared);
            }
        }
        let frame = th.frames_top.sub(1);
        (*frame).pc = record.pc;
        th.sp = (*frame).base.add(record.depth as usize);
        if record.reason != Reason::Poll {
            return interp::run(vm, th).is_err() as u64;
        }
        // A poll: the interpreter finishes the frame without OSR, else every
        // later poll would nest another optimized activation on the native
        // stack (`Thread::no_osr_frame`). Calls it makes may still OSR.
        let outer = std::mem::replace(&mut th.no_osr_frame, frame);
        let status = interp::run(vm, th).is_err() as u64;
        th.no_osr_frame = outer;
        status
    }
}

/// Sends the function back to its baseline code for good.
fn invalidate(shared: &mut Shared) {
    INVALIDATED.fetch_add(1, Ordering::Relaxed);
    let fast = shared.baseline_entry.wrapping_add(crate::codegen::abi::FAST_ENTRY_OFFSET);
    shared.redirect = fast as u64;
    // SAFETY: the function owns this code and is live while it runs.
    unsafe {
        (*shared.function).native_entry = shared.baseline_entry;
        (*shared.function).fast_entry = fast;
        (*shared.function).osr_entries = shared.baseline_osr.clone();
    }
}
