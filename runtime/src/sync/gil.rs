//! The global VM lock: FIFO hand-off between threads, with time slices.
//!
//! A thread that has waited a whole slice without the lock changing hands
//! sets the safepoint request flag; the holder then yields at its next
//! safepoint (a call or loop back-edge) and queues up behind the waiters.
//! Uncontended, taking and releasing costs one mutex round trip and the
//! request flag is never set.

use super::safepoint;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a waiter lets the holder run before asking it to yield.
pub const SLICE: Duration = Duration::from_millis(5);

struct State {
    held: bool,
    next_ticket: u64,
    serving: u64,
    /// Incremented at every acquisition (to tell whether the lock moved).
    handoffs: u64,
}

static STATE: Mutex<State> = Mutex::new(State { held: false, next_ticket: 0, serving: 0, handoffs: 0 });
static CHANGED: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the VM lock, waiting in FIFO order.
pub fn acquire() {
    let mut s = lock();
    let ticket = s.next_ticket;
    s.next_ticket += 1;
    while s.held || s.serving != ticket {
        let seen = s.handoffs;
        let (guard, timeout) = CHANGED.wait_timeout(s, SLICE).unwrap_or_else(|p| p.into_inner());
        s = guard;
        if timeout.timed_out() && s.held && s.handoffs == seen {
            safepoint::request();
        }
    }
    s.held = true;
    s.serving += 1;
    s.handoffs += 1;
}

/// Gives the VM lock up.
pub fn release() {
    let mut s = lock();
    s.held = false;
    drop(s);
    CHANGED.notify_all();
}

/// Whether some thread is queued for the lock.
pub fn contended() -> bool {
    let s = lock();
    s.next_ticket > s.serving
}
