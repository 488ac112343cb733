//! Monitors: reentrant locks with Java's wait/notify on any heap object.
//!
//! A monitor exists from an object's first `lock`, `wait` or `notify` until
//! the object is collected (`forget`). Ownership is handed directly to the
//! next thread in the entry queue on release, and `wait` saves and restores
//! the recursion count, as in Java. Blocking goes through the scheduler so
//! deadlocks are detected.

use super::scheduler::{block, lock, BlockState};
use crate::value::Value;
use crate::vm::error::raise;
use crate::vm::{Thread, Trap, Vm};
use std::collections::VecDeque;

#[derive(Default)]
pub struct Monitor {
    /// Owning thread id, 0 when free.
    pub owner: u64,
    pub count: u32,
    /// Threads waiting to enter, with the count to restore.
    pub entry: VecDeque<(u64, u32)>,
    /// Threads in `wait`, with the count to restore.
    pub waiters: VecDeque<(u64, u32)>,
}

const NOT_OWNER: &str = "Current thread does not own the monitor.";

fn key_of(th: &mut Thread, v: Value) -> Result<usize, Trap> {
    if !v.is_obj() {
        return Err(raise(th, "Can only lock objects."));
    }
    let obj = v.as_obj();
    // SAFETY: `v` is on the caller's stack, so the object is live; the flag
    // is written under the VM lock.
    unsafe { (*obj).has_monitor = true };
    Ok(obj as usize)
}

/// Enters the monitor of the object on top of the stack, then pops it.
pub fn enter_from_stack(vm: &mut Vm, th: &mut Thread) -> Result<(), Trap> {
    let key = key_of(th, th.peek(0))?;
    enter(vm, th, key);
    th.pop();
    Ok(())
}

/// Enters the monitor `key`, blocking while another thread owns it.
pub fn enter(_vm: &mut Vm, th: &mut Thread, key: usize) {
    let me = th.id;
    let mut s = lock();
    let m = s.monitors.entry(key).or_default();
    if m.owner == 0 {
        m.owner = me;
        m.count = 1;
    } else if m.owner == me {
        m.count += 1;
    } else {
        m.entry.push_back((me, 1));
        drop(block(s, me, BlockState::Monitor(key)));
    }
}

/// Pops an object and leaves its monitor.
pub fn exit_from_stack(_vm: &mut Vm, th: &mut Thread) -> Result<(), Trap> {
    let v = th.peek(0);
    if !v.is_obj() {
        return Err(raise(th, "Can only lock objects."));
    }
    let key = v.as_obj() as usize;
    let mut s = lock();
    let owned = s.monitors.get(&key).map(|m| m.owner == th.id).unwrap_or(false);
    if !owned {
        drop(s);
        return Err(raise(th, NOT_OWNER));
    }
    let m = s.monitors.get_mut(&key).expect("checked above");
    m.count -= 1;
    if m.count == 0 {
        hand_off(&mut s, key);
    }
    drop(s);
    th.pop();
    Ok(())
}

/// Gives a free monitor to the first thread waiting to enter it.
fn hand_off(s: &mut super::scheduler::Sched, key: usize) {
    let Some(m) = s.monitors.get_mut(&key) else {
        return;
    };
    match m.entry.pop_front() {
        Some((next, count)) => {
            m.owner = next;
            m.count = count;
            s.wake(next);
        }
        None => {
            m.owner = 0;
            m.count = 0;
        }
    }
}

/// Releases every monitor thread `id` still owns (when it ends).
pub fn release_all(s: &mut super::scheduler::Sched, id: u64) {
    let owned: Vec<usize> = s.monitors.iter().filter(|(_, m)| m.owner == id).map(|(&k, _)| k).collect();
    for key in owned {
        hand_off(s, key);
    }
}

/// Drops the monitors of collected objects (the heap calls it after a sweep).
pub fn forget(objects: &[usize]) {
    let mut s = lock();
    for key in objects {
        s.monitors.remove(key);
    }
}

fn owned_key(th: &mut Thread, v: Value) -> Result<usize, Trap> {
    let key = v.is_obj().then(|| v.as_obj() as usize);
    let owns = key.is_some_and(|k| lock().monitors.get(&k).is_some_and(|m| m.owner == th.id));
    match key {
        Some(k) if owns => Ok(k),
        _ => Err(raise(th, NOT_OWNER)),
    }
}

/// `wait(o)`: releases o's monitor, sleeps until notified, re-enters it.
pub fn wait_native(_vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let key = owned_key(th, args[0])?;
    let me = th.id;
    let mut s = lock();
    let count = s.monitors.get(&key).map(|m| m.count).unwrap_or(1);
    hand_off(&mut s, key);
    if let Some(m) = s.monitors.get_mut(&key) {
        m.waiters.push_back((me, count));
    }
    drop(block(s, me, BlockState::Waiting(key)));
    Ok(Value::NIL)
}

fn notify(th: &mut Thread, v: Value, all: bool) -> Result<Value, Trap> {
    let key = owned_key(th, v)?;
    let mut s = lock();
    let moved: Vec<(u64, u32)> = match s.monitors.get_mut(&key) {
        Some(m) if all => m.waiters.drain(..).collect(),
        Some(m) => m.waiters.pop_front().into_iter().collect(),
        None => Vec::new(),
    };
    for (id, count) in moved {
        s.set_blocked_state(id, BlockState::Monitor(key));
        if let Some(m) = s.monitors.get_mut(&key) {
            m.entry.push_back((id, count));
        }
    }
    Ok(Value::NIL)
}

pub fn notify_native(_vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    notify(th, args[0], false)
}

pub fn notify_all_native(_vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    notify(th, args[0], true)
}
