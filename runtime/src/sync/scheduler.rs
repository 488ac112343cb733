//! Thread bookkeeping for blocking: who is live, who is blocked on what, and
//! deadlock detection.
//!
//! All blocking in the language (monitor entry, `wait`, `join`, the end of
//! the main script waiting for other threads) goes through `block`, and all
//! waking through `wake`, under one mutex, so the count of blocked threads is
//! exact: a woken thread stops counting as blocked the moment it is woken,
//! not when it next runs. When every live thread is blocked, nothing can
//! ever wake them: that is reported as a deadlock and the process exits 70.

use super::gil;
use crate::vm::error::capture_trace;
use crate::vm::Thread;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};

/// Why a thread is blocked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BlockState {
    Running,
    /// Waiting to enter the monitor of the object at this address.
    Monitor(usize),
    /// In `wait` on the object at this address.
    Waiting(usize),
    /// In `join` of the thread with this id.
    Joining(u64),
    /// The main script ended and waits for the other threads.
    AwaitingThreads,
}

pub struct Slot {
    pub thread: *mut Thread,
    pub wake: Arc<Condvar>,
    pub state: BlockState,
}

/// The scheduler state, guarded by `SYNC`.
#[derive(Default)]
pub struct Sched {
    pub threads: HashMap<u64, Slot>,
    pub monitors: HashMap<usize, super::monitor::Monitor>,
    pub blocked: usize,
    /// A spawned thread ended with a runtime error.
    pub failed: bool,
    /// Threads started so far, the main one included.
    pub started: u64,
}

// SAFETY: the raw `Thread` pointers in slots are only dereferenced by the
// holder of the VM lock, which serializes all access to thread state.
unsafe impl Send for Sched {}

pub static SYNC: LazyLock<Mutex<Sched>> = LazyLock::new(|| Mutex::new(Sched::default()));

pub fn lock() -> MutexGuard<'static, Sched> {
    SYNC.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sched {
    pub fn register(&mut self, id: u64, thread: *mut Thread) {
        self.threads.insert(id, Slot { thread, wake: Arc::new(Condvar::new()), state: BlockState::Running });
        self.started += 1;
    }

    /// Marks thread `id` runnable again and wakes it.
    pub fn wake(&mut self, id: u64) {
        if let Some(slot) = self.threads.get_mut(&id) {
            if slot.state != BlockState::Running {
                slot.state = BlockState::Running;
                self.blocked -= 1;
                slot.wake.notify_one();
            }
        }
    }

    /// Changes why thread `id` is blocked (it stays blocked).
    pub fn set_blocked_state(&mut self, id: u64, state: BlockState) {
        if let Some(slot) = self.threads.get_mut(&id) {
            slot.state = state;
        }
    }

    /// Reports a deadlock and exits if every live thread is blocked.
    /// The caller holds the VM lock, so every thread's frames are stable.
    pub fn check_deadlock(&self) {
        if self.threads.is_empty() || self.blocked < self.threads.len() {
            return;
        }
        let mut text = String::from("Deadlock: all threads are blocked.\n");
        let mut ids: Vec<_> = self.threads.keys().copied().collect();
        ids.sort();
        for id in ids {
            let slot = &self.threads[&id];
            let what = match slot.state {
                BlockState::Running => "running".to_string(),
                BlockState::Monitor(_) => "waiting to enter a monitor".to_string(),
                BlockState::Waiting(_) => "in wait()".to_string(),
                BlockState::Joining(t) => format!("in join() of <thread {}>", t),
                BlockState::AwaitingThreads => "at the end of the script, waiting for other threads".to_string(),
            };
            text.push_str(&format!("<thread {}> {}:\n", id, what));
            // SAFETY: registered threads are alive, and blocked threads do
            // not change their frames while this thread holds the VM lock.
            for line in capture_trace(unsafe { &*slot.thread }) {
                text.push_str(&format!("    {}\n", line));
            }
        }
        crate::output::write_stderr(text.as_bytes());
        crate::output::exit(70);
    }
}

/// Blocks thread `id` for `state` until another thread wakes it. The caller
/// holds the VM lock and the scheduler guard; returns with both held again.
pub fn block(mut guard: MutexGuard<'static, Sched>, id: u64, state: BlockState) -> MutexGuard<'static, Sched> {
    let wake = {
        let Some(slot) = guard.threads.get_mut(&id) else {
            return guard;
        };
        slot.state = state;
        slot.wake.clone()
    };
    guard.blocked += 1;
    guard.check_deadlock();
    crate::signals::start_watcher();
    gil::release();
    while guard.threads.get(&id).map(|s| s.state) != Some(BlockState::Running) {
        guard = wake.wait(guard).unwrap_or_else(|p| p.into_inner());
    }
    drop(guard);
    gil::acquire();
    lock()
}
