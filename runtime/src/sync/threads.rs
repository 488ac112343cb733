//! Program threads: `spawn`, `join`, a thread's life, and the end of the program.
//!
//! `spawn f(args)` copies the callee and arguments to a new thread's value
//! stack, registers it (its stack is a GC root from then on) and starts an
//! OS thread that takes the VM lock and makes the call. A runtime error ends
//! only that thread (the process exits 70 once all threads are done).

use super::scheduler::{block, lock, BlockState};
use super::{gil, monitor};
use crate::heap::new_thread_object;
use crate::object::{Obj, ObjKind, ObjThread, ThreadShared};
use crate::value::Value;
use crate::vm::error::{raise, report};
use crate::vm::{call, Thread, Trap, Vm};
use std::sync::Arc;

/// Native stack reserved for every spawned program thread (committed on use).
pub const THREAD_STACK_BYTES: usize = 64 << 20;

/// Threads alive at once, the main thread included. Each takes about six
/// memory mappings (native stack, value stack, signal stack and their
/// guards); past Linux's default limit of 65530 mappings the C library
/// cannot even set up a new thread, so `spawn` stops well before that with
/// a runtime error.
pub const MAX_LIVE_THREADS: usize = 4096;

/// Raw pointers moved into a new OS thread.
struct Start {
    vm: *mut Vm,
    thread: *mut Thread,
    shared: Arc<ThreadShared>,
}

// SAFETY: the VM and the new thread's state are only used by the new OS
// thread while it holds the VM lock, which serializes them with every other thread.
unsafe impl Send for Start {}

/// `spawn`: the callee and `argc` arguments are on top of the stack; they are
/// replaced with the new thread value.
pub fn spawn(vm: &mut Vm, th: &mut Thread, argc: usize) -> Result<(), Trap> {
    if vm.threads.len() >= MAX_LIVE_THREADS {
        let message =
            format!("Cannot start a thread: {} threads are running, the most there can be.", vm.threads.len());
        return Err(raise(th, &message));
    }
    let id = {
        let s = lock();
        s.started + 1
    };
    let shared = Arc::new(ThreadShared::new(id));
    // Allocated first, so that running out of memory leaves nothing to undo
    // (the callee and arguments stay on this thread's stack meanwhile).
    let object = new_thread_object(vm, th, id, shared.clone())?;
    let child = Box::into_raw(Thread::new(id));
    // SAFETY: the child was just created and is not shared yet; the callee
    // and arguments are argc + 1 values below the parent's top.
    unsafe {
        for i in (0..=argc).rev() {
            (*child).push(th.peek(i));
        }
    }
    vm.threads.push(child);
    lock().register(id, child);
    for _ in 0..=argc {
        th.pop();
    }
    th.push(Value::object(object as *mut Obj));
    let start = Start { vm: vm as *mut Vm, thread: child, shared };
    let spawned = std::thread::Builder::new()
        .name(format!("tinyvm-{}", id))
        .stack_size(THREAD_STACK_BYTES)
        .spawn(move || thread_main(start));
    if spawned.is_err() {
        let mut s = lock();
        s.threads.remove(&id);
        drop(s);
        vm.threads.retain(|&t| t != child);
        // SAFETY: the OS thread did not start, so nothing else refers to `child`.
        drop(unsafe { Box::from_raw(child) });
        return Err(raise(th, "Cannot start a thread: the system refused to create it."));
    }
    vm.thread_counts.started += 1;
    Ok(())
}

fn thread_main(start: Start) {
    gil::acquire();
    // SAFETY: the VM outlives every program thread (the process ends only
    // after they finish or exits), and the child state is owned by this
    // OS thread from here on.
    let (vm, th) = unsafe { (&mut *start.vm, &mut *start.thread) };
    th.native_stack_limit = crate::vm::frame::native_stack_limit();
    let base = th.stack_base;
    // SAFETY: the callee and arguments are at the bottom of the new stack.
    let argc = unsafe { th.sp.offset_from(base) as usize - 1 };
    let result = match call::call_from_native(vm, th, base, argc) {
        // SAFETY: the call's result is in slot 0.
        Ok(()) => unsafe { *base },
        Err(Trap) => {
            if let Some(error) = th.error.take() {
                report(&error, th.id, &vm.options);
            }
            lock().failed = true;
            Value::NIL
        }
    };
    // A runtime error unwinds without returning from the frames, so their
    // captured locals are still open upvalues into this thread's stack,
    // which is freed below: close them, as returning would have.
    crate::vm::upvalue::close_from(th, th.stack_base);
    start.shared.finish(result);
    vm.thread_counts.ended_instructions += th.instructions;
    vm.thread_counts.ended_calls += th.calls;
    end_thread(vm, th);
    gil::release();
    // SAFETY: the thread is unregistered; no one refers to its state now.
    drop(unsafe { Box::from_raw(start.thread) });
}

/// Unregisters a finished thread: releases its monitors, wakes its joiners
/// and the main thread, and checks whether the rest are now deadlocked.
fn end_thread(vm: &mut Vm, th: &mut Thread) {
    let me = th.id;
    let ptr = th as *mut Thread;
    vm.threads.retain(|&t| t != ptr);
    let mut s = lock();
    monitor::release_all(&mut s, me);
    s.threads.remove(&me);
    let waiting: Vec<u64> = s
        .threads
        .iter()
        .filter(|(_, slot)| slot.state == BlockState::Joining(me) || slot.state == BlockState::AwaitingThreads)
        .map(|(&id, _)| id)
        .collect();
    for id in waiting {
        s.wake(id);
    }
    s.check_deadlock();
}

/// `join(t)`: waits for thread `t` and returns its result.
pub fn join_native(_vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let Some(t) = args[0].as_kind::<ObjThread>(ObjKind::Thread) else {
        return Err(raise(th, "join() expects a thread."));
    };
    // SAFETY: the thread object is an argument on the stack.
    let shared = unsafe { (*t).shared.clone() };
    if shared.id == th.id {
        return Err(raise(th, "A thread cannot join itself."));
    }
    let mut s = lock();
    while !shared.finished() {
        s = block(s, th.id, BlockState::Joining(shared.id));
    }
    drop(s);
    Ok(shared.result())
}

/// At the end of the main script: waits until every other thread has ended.
/// Returns whether any thread failed with a runtime error.
pub fn await_all(th: &mut Thread) -> bool {
    let mut s = lock();
    while s.threads.len() > 1 {
        s = block(s, th.id, BlockState::AwaitingThreads);
    }
    s.failed
}
