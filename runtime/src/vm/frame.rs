//! Per-thread execution state: the value stack and the call frames.
//!
//! This is the one frame layout shared by the interpreter, the JIT and native
//! executables. A call's frame points at its slots in the value stack (slot 0
//! holds the callee or `this`, then the arguments, locals and temporaries).
//! `pc` is the bytecode offset just past the instruction being executed (or
//! the call in progress), so `pc - 1` always lies inside that instruction and
//! gives its source line. `Thread` is `#[repr(C)]`: generated code reads and
//! writes the fields listed in `layout`.

use crate::object::{ObjClosure, ObjUpvalue};
use crate::value::Value;
use crate::vm::RuntimeError;

/// Maximum call depth of a thread: deeper recursion is `Stack overflow.`.
pub const FRAME_LIMIT: usize = 1 << 16;
/// Value stack size of a thread, in slots (reserved, committed on use).
pub const STACK_SLOTS: usize = 1 << 22;

#[repr(C)]
#[derive(Copy, Clone)]
pub struct Frame {
    pub closure: *mut ObjClosure,
    pub base: *mut Value,
    pub pc: u32,
    pub flags: u32,
}

#[repr(C)]
pub struct Thread {
    /// Top of the value stack; exact whenever the GC or a helper may look at it.
    pub sp: *mut Value,
    /// The next free frame (the current frame is `frames_top - 1`).
    pub frames_top: *mut Frame,
    pub frames_limit: *mut Frame,
    pub stack_limit: *mut Value,
    pub stack_base: *mut Value,
    pub frames_base: *mut Frame,
    /// Open upvalues, sorted by the stack slot they point to (highest first).
    pub open_upvalues: *mut ObjUpvalue,
    /// Lowest native stack address calls may reach (`Stack overflow.` below it).
    pub native_stack_limit: usize,
    /// Statistics counters of this thread.
    pub instructions: u64,
    pub calls: u64,
    /// The thread's number (`<thread N>`; the main script is 1).
    pub id: u64,
    /// The pending runtime error while a `Trap` unwinds.
    pub error: Option<Box<RuntimeError>>,
    /// Extra GC roots owned by this thread.
    pub roots: Vec<Value>,
    /// The frame that a poll in optimized code sent to the interpreter
    /// (`opt::deopt`), which then finishes it without OSR: entering the
    /// optimized code again at the next back-edge would nest one more
    /// native activation per poll, and with frequent polls (fuel, a thread
    /// waiting for the VM lock) end in `Stack overflow.`. Null if none.
    pub no_osr_frame: *mut Frame,
    stack: StackMapping,
    frames: Vec<Frame>,
}

/// Offsets of `Thread` and `Frame` fields used by generated code.
pub mod layout {
    use super::*;
    use std::mem::offset_of;
    pub const THREAD_SP: usize = offset_of!(Thread, sp);
    pub const THREAD_FRAMES_TOP: usize = offset_of!(Thread, frames_top);
    pub const THREAD_FRAMES_LIMIT: usize = offset_of!(Thread, frames_limit);
    pub const THREAD_STACK_LIMIT: usize = offset_of!(Thread, stack_limit);
    pub const THREAD_OPEN_UPVALUES: usize = offset_of!(Thread, open_upvalues);
    pub const THREAD_NATIVE_STACK_LIMIT: usize = offset_of!(Thread, native_stack_limit);
    pub const THREAD_CALLS: usize = offset_of!(Thread, calls);
    pub const FRAME_CLOSURE: usize = offset_of!(Frame, closure);
    pub const FRAME_BASE: usize = offset_of!(Frame, base);
    pub const FRAME_PC: usize = offset_of!(Frame, pc);
    pub const FRAME_SIZE: usize = std::mem::size_of::<Frame>();
}

/// An anonymous memory mapping for the value stack (pages committed on touch).
struct StackMapping {
    ptr: *mut Value,
    bytes: usize,
}

impl StackMapping {
    fn new(slots: usize) -> StackMapping {
        let bytes = slots * std::mem::size_of::<Value>();
        // SAFETY: an anonymous private mapping with no address hint has no
        // preconditions; the result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            crate::output::write_stderr(b"error: cannot reserve memory for a thread's value stack\n");
            crate::output::exit(70);
        }
        StackMapping { ptr: ptr as *mut Value, bytes }
    }
}

impl Drop for StackMapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`bytes` describe a mapping created in `new` that no
        // one uses any more (its thread has finished).
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.bytes) };
    }
}

/// Native stack kept free below the limit for runtime code (helpers, GC,
/// natives) called from the deepest allowed frame.
const NATIVE_STACK_MARGIN: usize = 256 * 1024;

/// The native stack limit of the calling OS thread (0 when unknown).
pub fn native_stack_limit() -> usize {
    main_thread_stack_limit().unwrap_or_else(thread_stack_limit)
}

/// The main thread's limit from RLIMIT_STACK below the current stack
/// pointer: conservative by the little stack already in use, and much
/// cheaper at startup than `pthread_getattr_np`, which parses
/// /proc/self/maps for the main thread. None off the main thread or when
/// the limit is unlimited or implausible.
fn main_thread_stack_limit() -> Option<usize> {
    let limit = main_thread_stack_bytes()?;
    if limit > 1 << 32 || limit <= 2 * NATIVE_STACK_MARGIN {
        return None;
    }
    let marker = 0u8;
    let here = &marker as *const u8 as usize;
    Some(here.checked_sub(limit)? + NATIVE_STACK_MARGIN)
}

/// The main thread's stack size limit (RLIMIT_STACK), None when called off
/// the main thread or when it is unlimited.
pub fn main_thread_stack_bytes() -> Option<usize> {
    // SAFETY: getpid/gettid/getrlimit have no preconditions; getrlimit only
    // writes the local struct.
    unsafe {
        if libc::getpid() != libc::gettid() {
            return None;
        }
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_STACK, &mut limit) != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
            return None;
        }
        Some(limit.rlim_cur as usize)
    }
}

fn thread_stack_limit() -> usize {
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread, which
    // is destroyed after reading the stack bounds out of it.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 0;
        }
        let mut low: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut low, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if !ok || size <= 2 * NATIVE_STACK_MARGIN {
            return 0;
        }
        low as usize + NATIVE_STACK_MARGIN
    }
}

impl Thread {
    /// Whether the native stack is too deep for another call.
    #[inline(always)]
    pub fn native_stack_exhausted(&self) -> bool {
        let marker = 0u8;
        (&marker as *const u8 as usize) < self.native_stack_limit
    }

    pub fn new(id: u64) -> Box<Thread> {
        let stack = StackMapping::new(STACK_SLOTS);
        let mut frames: Vec<Frame> = Vec::with_capacity(FRAME_LIMIT);
        let frames_base = frames.as_mut_ptr();
        Box::new(Thread {
            sp: stack.ptr,
            frames_top: frames_base,
            // SAFETY: both limits are one past the end of their allocations.
            frames_limit: unsafe { frames_base.add(FRAME_LIMIT) },
            // SAFETY: as above.
            stack_limit: unsafe { stack.ptr.add(STACK_SLOTS) },
            stack_base: stack.ptr,
            frames_base,
            open_upvalues: std::ptr::null_mut(),
            native_stack_limit: native_stack_limit(),
            instructions: 0,
            calls: 0,
            id,
            error: None,
            roots: Vec::new(),
            no_osr_frame: std::ptr::null_mut(),
            stack,
            frames,
        })
    }

    /// Number of active frames.
    pub fn depth(&self) -> usize {
        // SAFETY: frames_top and frames_base point into the same allocation.
        unsafe { self.frames_top.offset_from(self.frames_base) as usize }
    }

    /// The active frames, outermost first.
    pub fn active_frames(&self) -> &[Frame] {
        // SAFETY: [frames_base, frames_top) holds initialized frames.
        unsafe { std::slice::from_raw_parts(self.frames_base, self.depth()) }
    }

    /// Pushes a value (used outside the interpreter loop).
    pub fn push(&mut self, v: Value) {
        // SAFETY: callers stay within the stack's capacity (checked at calls).
        unsafe {
            *self.sp = v;
            self.sp = self.sp.add(1);
        }
    }

    pub fn pop(&mut self) -> Value {
        // SAFETY: callers only pop what they pushed.
        unsafe {
            self.sp = self.sp.sub(1);
            *self.sp
        }
    }

    /// The value `distance` slots below the top.
    pub fn peek(&self, distance: usize) -> Value {
        // SAFETY: callers only peek at values they pushed.
        unsafe { *self.sp.sub(distance + 1) }
    }

    /// Address of `frames` for debugging tools that never move it.
    pub fn frame_capacity(&self) -> usize {
        self.frames.capacity()
    }
}
