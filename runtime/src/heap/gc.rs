//! Precise stop-the-world mark-sweep collection.
//!
//! Roots: every VM thread's value stack up to its synced top and its open
//! upvalues, the globals, `Vm::temp_roots` and the permanent strings. The
//! collector runs on the thread that holds the global VM lock; every other
//! thread is parked at a safepoint (its stack top saved) or blocked outside
//! the heap, so all stacks are stable while it runs.

use super::free_object;
use super::pool::prefetch;
use crate::object::*;
use crate::value::Value;
use crate::vm::{Thread, Vm};
use std::time::Instant;

/// How many references the marker holds back while their headers are
/// being prefetched (a power of two).
const MARK_AHEAD: usize = 8;

struct Marker {
    gray: Vec<*mut Obj>,
    /// References seen but not yet checked: each waits here for
    /// MARK_AHEAD further references while its header is prefetched, so
    /// that reading its mark bit doesn't stall on a cache miss.
    ahead: [*mut Obj; MARK_AHEAD],
    ahead_pos: usize,
}

impl Marker {
    fn new() -> Marker {
        Marker { gray: Vec::with_capacity(256), ahead: [std::ptr::null_mut(); MARK_AHEAD], ahead_pos: 0 }
    }

    #[inline]
    fn value(&mut self, v: Value) {
        if v.is_obj() {
            self.object(v.as_obj());
        }
    }

    #[inline]
    fn object<T>(&mut self, p: *mut T) {
        let obj = p as *mut Obj;
        if obj.is_null() {
            return;
        }
        prefetch(obj);
        let due = std::mem::replace(&mut self.ahead[self.ahead_pos], obj);
        self.ahead_pos = (self.ahead_pos + 1) % MARK_AHEAD;
        if !due.is_null() {
            self.mark(due);
        }
    }

    #[inline]
    fn mark(&mut self, obj: *mut Obj) {
        // SAFETY: every pointer handed to the marker comes from a root or a
        // live object's field, so it points at a live object header.
        unsafe {
            if (*obj).marked {
                return;
            }
            (*obj).marked = true;
        }
        self.gray.push(obj);
    }

    /// Checks every held-back reference; returns whether there were any.
    fn flush_ahead(&mut self) -> bool {
        let mut any = false;
        for i in 0..MARK_AHEAD {
            let obj = std::mem::replace(&mut self.ahead[i], std::ptr::null_mut());
            if !obj.is_null() {
                self.mark(obj);
                any = true;
            }
        }
        any
    }

    fn values(&mut self, start: *const Value, end: *const Value) {
        let mut p = start;
        while p < end {
            // SAFETY: [start, end) is an initialized region of a value stack or buffer.
            self.value(unsafe { *p });
            // SAFETY: stays within [start, end].
            p = unsafe { p.add(1) };
        }
    }

    fn drain(&mut self) {
        loop {
            while let Some(obj) = self.gray.pop() {
                // SAFETY: gray objects are live and marked (see `mark`).
                unsafe { self.blacken(obj) };
            }
            if !self.flush_ahead() {
                return;
            }
        }
    }

    /// Marks everything `obj` refers to.
    ///
    /// # Safety
    /// `obj` must be a live object.
    unsafe fn blacken(&mut self, obj: *mut Obj) {
        // SAFETY: `obj` is live, its kind tells its layout, and the fields
        // read below are initialized for every live object of that kind.
        unsafe {
            match (*obj).kind {
                ObjKind::String | ObjKind::Native => {}
                ObjKind::Function => {
                    let f = &*(obj as *mut ObjFunction);
                    self.object(f.name);
                    for &v in &f.constant_values {
                        self.value(v);
                    }
                    for c in &f.cache_storage {
                        self.object(c.key);
                        self.object(c.next_shape);
                    }
                    for &root in &f.code_roots {
                        self.object(root);
                    }
                }
                ObjKind::Closure => {
                    let c = obj as *mut ObjClosure;
                    self.object((*c).function);
                    let upvalues = ObjClosure::upvalues(c);
                    for i in 0..(*c).upvalue_count as usize {
                        self.object(*upvalues.add(i));
                    }
                }
                ObjKind::Upvalue => self.value((*(obj as *mut ObjUpvalue)).closed),
                ObjKind::Class => {
                    let c = &*(obj as *mut ObjClass);
                    self.object(c.name);
                    self.object(c.root_shape);
                    self.value(c.initializer);
                    for (&k, &v) in &c.methods {
                        self.object(k);
                        self.value(v);
                    }
                }
                ObjKind::Instance => {
                    let i = &*(obj as *mut ObjInstance);
                    self.object(i.class);
                    self.object(i.shape);
                    let count = (*i.shape).field_count as usize;
                    self.values(i.fields, i.fields.add(count));
                }
                ObjKind::BoundMethod => {
                    let b = &*(obj as *mut ObjBoundMethod);
                    self.value(b.receiver);
                    self.object(b.method);
                }
                ObjKind::Array => {
                    let a = &*(obj as *mut ObjArray);
                    self.values(a.ptr, a.ptr.add(a.len));
                }
                ObjKind::Shape => {
                    let s = &*(obj as *mut ObjShape);
                    self.object(s.class);
                    self.object(s.parent);
                    self.object(s.key);
                    for &(k, child) in &s.transitions {
                        self.object(k);
                        self.object(child);
                    }
                }
                ObjKind::Map => {
                    // Keys and values, tombstones included (they are not objects).
                    let m = &*(obj as *mut ObjMap);
                    let entries = m.entries.cast::<Value>();
                    self.values(entries, entries.add(2 * m.used));
                }
                ObjKind::Thread => {
                    let t = &*(obj as *mut ObjThread);
                    self.value(t.shared.result());
                }
            }
        }
    }

    fn thread(&mut self, th: &Thread) {
        self.values(th.stack_base, th.sp);
        for frame in th.active_frames() {
            self.object(frame.closure);
        }
        let mut up = th.open_upvalues;
        while !up.is_null() {
            self.object(up);
            // SAFETY: the open-upvalue list holds live upvalues.
            up = unsafe { (*up).next_open };
        }
        for &v in &th.roots {
            self.value(v);
        }
    }
}

/// Collects garbage. `current` is the calling thread (its stack is a root).
pub fn collect(vm: &mut Vm, current: &mut Thread) {
    let start = Instant::now();
    let before = vm.heap.bytes_allocated;
    let mut marker = Marker::new();
    marker.thread(current);
    let current_ptr = current as *mut Thread;
    for &t in vm.threads.iter() {
        if t != current_ptr {
            // SAFETY: registered threads stay allocated until unregistered,
            // and they are parked (not running) while this thread holds the VM lock.
            marker.thread(unsafe { &*t });
        }
    }
    marker.values(vm.globals.values.as_ptr(), vm.globals.values.as_ptr().wrapping_add(vm.globals.values.len()));
    for &name in &vm.globals.names {
        marker.object(name);
    }
    for &v in &vm.temp_roots {
        marker.value(v);
    }
    for &s in &vm.permanent_strings {
        marker.object(s);
    }
    marker.drain();

    vm.strings.remove_unmarked();
    sweep(vm);

    vm.heap.after_collection();
    let pause = start.elapsed().as_nanos() as u64;
    let stats = &mut vm.heap.stats;
    stats.cycles += 1;
    stats.total_pause_ns += pause;
    stats.longest_pause_ns = stats.longest_pause_ns.max(pause);
    let _ = before;
}

fn sweep(vm: &mut Vm) {
    let mut previous: *mut Obj = std::ptr::null_mut();
    let mut obj = vm.heap.objects;
    let mut freed = 0usize;
    let mut dead_monitors = Vec::new();
    while !obj.is_null() {
        // SAFETY: the list links live objects; unmarked ones are unreachable
        // from every root, so freeing them cannot leave a dangling reference
        // that the program can still reach.
        unsafe {
            let next = (*obj).next;
            if (*obj).marked {
                (*obj).marked = false;
                previous = obj;
            } else {
                if previous.is_null() {
                    vm.heap.objects = next;
                } else {
                    (*previous).next = next;
                }
                freed += free_object(&mut vm.heap.pools, obj, &mut dead_monitors);
            }
            obj = next;
        }
    }
    vm.heap.unaccount(freed);
    if !dead_monitors.is_empty() {
        (vm.heap.forget_monitors)(&dead_monitors);
    }
}
