//! The global VM lock: FIFO hand-off between threads, with time slices.
//!
//! A thread that has waited a whole slice without the lock changing hands
//! sets the safepoint request flag; the holder then yields at its next
//! safepoint (a call or loop back-edge) and queues up behind the waiters.
//! Uncontended, taking and releasing costs one mutex round trip and the
//! request flag is never set.

use super::safepoint;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a waiter lets the holder run before asking it to yield.
pub const SLICE: Duration = Duration::from_millis(5);

struct State {
    held: bool,
    next_ticket: u64,
    serving: u64,
    /// Incremented at every acquisition (to tell whether the lock moved).
    handoffs: u64,
    /// Threads waiting for the lock, in ticket order: a release wakes only
    /// the first, and only the first waits with a time-out (waking them all
    /// made each hand-off and each slice cost O(waiters)).
    waiters: VecDeque<std::thread::Thread>,
}

static STATE: Mutex<State> =
    Mutex::new(State { held: false, next_ticket: 0, serving: 0, handoffs: 0, waiters: VecDeque::new() });

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the VM lock, waiting in FIFO order.
pub fn acquire() {
    let mut s = lock();
    let ticket = s.next_ticket;
    s.next_ticket += 1;
    if s.held || s.serving != ticket {
        // Tickets are handed out and queued under the same lock, so the
        // queue stays in ticket order.
        let me = std::thread::current();
        let my_id = me.id();
        s.waiters.push_back(me);
        while s.held || s.serving != ticket {
            // Only the first waiter times the holder's slice; the others
            // sleep until they move up (a thousand waiters each waking
            // every slice would keep the machine busy with wake-ups).
            let first = s.waiters.front().map(|t| t.id()) == Some(my_id);
            let seen = s.handoffs;
            drop(s);
            let start = Instant::now();
            if first {
                std::thread::park_timeout(SLICE);
            } else {
                std::thread::park();
            }
            s = lock();
            if first && start.elapsed() >= SLICE && s.held && s.handoffs == seen {
                safepoint::request();
            }
        }
        // This thread had the smallest ticket still waiting: it is first.
        s.waiters.pop_front();
        // The next waiter is first now: wake it to time this thread's slice.
        if let Some(next) = s.waiters.front() {
            next.unpark();
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
    if let Some(next) = s.waiters.front() {
        next.unpark();
    }
}

/// Whether some thread is queued for the lock.
pub fn contended() -> bool {
    let s = lock();
    s.next_ticket > s.serving
}
