//! Safepoints: where a running thread may give the VM lock to another.
//!
//! Generated code polls the VM's `poll` flag (one load at a fixed offset of
//! `Vm`, which it holds in a register), the interpreter a global twin of it,
//! at calls and loop back-edges. When set, the
//! thread saves its state (stack top and frame pc are already exact at
//! those points) and calls `park`, which lets the waiting threads run,
//! including a GC.
//!
//! Fuel (`Options::fuel`, `TINYVM_FUEL`) uses the same flags: with a budget
//! set, they stay set, so that every poll of either tier reaches `park`,
//! which counts it and sets them again. Without one the polls cost what they
//! always cost.

use super::gil;
use crate::vm::{Thread, Vm};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Stands in for the flag until a VM exists.
static IDLE: AtomicBool = AtomicBool::new(false);
/// The running VM's `poll` flag (one VM per process).
static FLAG: AtomicPtr<AtomicBool> = AtomicPtr::new(&IDLE as *const AtomicBool as *mut AtomicBool);

/// Makes `request` set this VM's flag.
pub fn install(vm: &Vm) {
    FLAG.store(&vm.poll as *const AtomicBool as *mut AtomicBool, Ordering::Release);
}

/// The same request for the interpreter, as a global: polling it needs no
/// register for the VM's address in the interpreter loop (callgrind, fib(30)
/// with --jit=off: polls cost 3.6% more instructions reading `vm.poll`,
/// 1.2% reading this).
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether the interpreter should park (see `request`).
#[inline(always)]
pub fn requested() -> bool {
    !cfg!(feature = "no-safepoint-polls") && REQUESTED.load(Ordering::Relaxed)
}

/// Asks the running thread to yield at its next safepoint.
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
    // SAFETY: FLAG points at IDLE or at the VM's flag, and the VM lives
    // until the process exits.
    unsafe { (*FLAG.load(Ordering::Acquire)).store(true, Ordering::Relaxed) };
}

/// Yields the VM lock to the threads waiting for it, then takes it back.
#[cold]
pub fn park(vm: &mut Vm, th: &mut Thread) {
    REQUESTED.store(false, Ordering::Relaxed);
    vm.poll.store(false, Ordering::Relaxed);
    if let Some(left) = vm.fuel_left {
        burn_fuel(vm, left);
    }
    crate::signals::start_watcher_if_due();
    if crate::signals::take_gc_request() {
        crate::heap::gc::collect(vm, th);
    }
    if gil::contended() {
        super::blocking(vm, th, || ());
    }
}

/// Counts one poll against the fuel budget (`left` polls remain): ends the
/// program when none remains, else keeps the flags set for the next poll.
/// Runs under the VM lock, so the count is exact across threads.
#[cold]
fn burn_fuel(vm: &mut Vm, left: u64) {
    if left == 0 {
        crate::output::write_stderr(b"error: fuel exhausted\n");
        crate::output::exit(crate::output::EXIT_FUEL);
    }
    vm.fuel_left = Some(left - 1);
    request();
}
