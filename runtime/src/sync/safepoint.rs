//! Safepoints: where a running thread may give the VM lock to another.
//!
//! The interpreter and generated code poll `requested()` (one load of a
//! global flag) at calls and loop back-edges. When set, the thread saves its
//! state (stack top and frame pc are already exact at those points) and
//! calls `park`, which lets the waiting threads run, including a GC.

use super::gil;
use crate::vm::{Thread, Vm};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when a thread has waited a full slice for the VM lock.
pub static REQUEST: AtomicBool = AtomicBool::new(false);

#[inline(always)]
pub fn requested() -> bool {
    !cfg!(feature = "no-safepoint-polls") && REQUEST.load(Ordering::Relaxed)
}

pub fn request() {
    REQUEST.store(true, Ordering::Relaxed);
}

/// Yields the VM lock to the threads waiting for it, then takes it back.
#[cold]
pub fn park(vm: &mut Vm, th: &mut Thread) {
    REQUEST.store(false, Ordering::Relaxed);
    if gil::contended() {
        super::blocking(vm, th, || ());
    }
}
