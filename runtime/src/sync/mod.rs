//! Threads and monitors: the global VM lock, safepoints, thread lifecycle,
//! monitors with wait/notify, and deadlock detection.
//!
//! Program threads are OS threads. Only the holder of the VM lock (`gil`)
//! touches the heap or runs program code; it releases the lock at safepoints
//! when another thread has waited too long, and around every blocking
//! operation (`blocking`). Lock order: VM lock, then the scheduler lock
//! (`scheduler::SYNC`); a thread never waits for the VM lock while holding
//! the scheduler lock.

pub mod gil;
pub mod monitor;
pub mod safepoint;
pub mod scheduler;
pub mod threads;

use crate::vm::{Thread, Vm};

/// Runs `f` (which must not touch the heap) with the VM lock released, so
/// other threads (and the GC) can run meanwhile. The caller's stack top and
/// frame must be saved, as at any safepoint.
pub fn blocking<R>(vm: &mut Vm, th: &mut Thread, f: impl FnOnce() -> R) -> R {
    let _ = (&vm, &th);
    crate::signals::start_watcher();
    gil::release();
    let result = f();
    gil::acquire();
    result
}
