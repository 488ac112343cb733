//! Run-time statistics: `TINYVM_STATS=1` prints them at exit, SIGUSR1 prints
//! them while the program runs.
//!
//! Counters live where they are cheapest to bump (per thread, in the heap,
//! in the JIT) and are summed when printed. The SIGUSR1 watcher thread takes
//! the VM lock before reading them, so it sees a consistent state.

use crate::sync::gil;
use crate::vm::{Thread, Vm};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

static THREADS_STARTED: AtomicU64 = AtomicU64::new(1);
/// Counters of threads that have ended.
static ENDED_INSTRUCTIONS: AtomicU64 = AtomicU64::new(0);
static ENDED_CALLS: AtomicU64 = AtomicU64::new(0);
/// The VM, for the SIGUSR1 watcher.
static VM: AtomicPtr<Vm> = AtomicPtr::new(std::ptr::null_mut());

pub fn thread_started() {
    THREADS_STARTED.fetch_add(1, Ordering::Relaxed);
}

/// Adds an ending thread's counters to the totals.
pub fn absorb_thread(_vm: &mut Vm, th: &mut Thread) {
    ENDED_INSTRUCTIONS.fetch_add(th.instructions, Ordering::Relaxed);
    ENDED_CALLS.fetch_add(th.calls, Ordering::Relaxed);
}

/// The statistics text. The caller holds the VM lock.
pub fn render(vm: &Vm) -> String {
    let mut instructions = ENDED_INSTRUCTIONS.load(Ordering::Relaxed);
    let mut calls = ENDED_CALLS.load(Ordering::Relaxed);
    for &t in &vm.threads {
        // SAFETY: registered threads are alive; the caller holds the VM lock.
        let t = unsafe { &*t };
        instructions += t.instructions;
        calls += t.calls;
    }
    let gc = &vm.heap.stats;
    let jit = crate::codegen::jit::stats();
    let mut text = String::from("-- tinyvm statistics --\n");
    let mut line = |k: &str, v: String| text.push_str(&format!("{:<28}{}\n", k, v));
    line("instructions interpreted", instructions.to_string());
    line("calls", calls.to_string());
    line("threads", THREADS_STARTED.load(Ordering::Relaxed).to_string());
    line("gc cycles", gc.cycles.to_string());
    line("bytes allocated", gc.bytes_allocated_total.to_string());
    line("bytes freed", gc.bytes_freed_total.to_string());
    line("heap bytes in use", vm.heap.bytes_allocated.to_string());
    line("longest gc pause", format!("{:.3} ms", gc.longest_pause_ns as f64 / 1e6));
    line("total gc pause", format!("{:.3} ms", gc.total_pause_ns as f64 / 1e6));
    line("functions native", jit.native_functions.to_string());
    line("functions interpreted", jit.interpreted_functions(vm).to_string());
    line("jit compilations", jit.compiled.to_string());
    line("jit osr entries", jit.osr_entries.to_string());
    line("jit code bytes", jit.code_bytes.to_string());
    line("jit code freed", format!("{} functions", jit.freed));
    line("jit compile time", format!("{:.3} ms", jit.compile_ns as f64 / 1e6));
    text
}

/// Prints the statistics at exit when `TINYVM_STATS=1`.
pub fn report_if_enabled(vm: &mut Vm, th: &mut Thread) {
    if vm.options.stats {
        let _ = th;
        crate::output::write_stderr(render(vm).as_bytes());
    }
}

/// Blocks SIGUSR1 in the calling thread; threads created afterwards inherit
/// the mask. Called first thing, so only the watcher ever receives it.
pub fn block_sigusr1() {
    // SAFETY: plain signal-set manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Native stack of the SIGUSR1 watcher: rendering the statistics needs little.
const WATCHER_STACK: usize = 256 * 1024;
/// How long a program runs before the watcher thread starts (see
/// `watch_sigusr1`).
const WATCHER_DELAY_US: libc::suseconds_t = 5_000;

/// The watcher thread exists (or is being started).
static WATCHER_STARTED: AtomicBool = AtomicBool::new(false);
/// The start delay is over: the next safepoint starts the watcher.
static WATCHER_DUE: AtomicBool = AtomicBool::new(false);

/// Blocks SIGUSR1 in every thread and arranges for a watcher thread that
/// prints the statistics each time the signal arrives. Call before
/// starting threads.
///
/// A second thread costs a short program about 0.2 ms (a fifth of a hello
/// world's run, mostly in the kernel), so the watcher starts only once the
/// program has run for 5 ms (a one-shot SIGALRM asks the running thread to
/// start it at its next safepoint) or when a thread first blocks (sleep,
/// input, join, wait). A SIGUSR1 that arrives earlier stays pending until
/// then, since every thread blocks it; one that arrives during the first
/// 5 ms of a program that ends before its first safepoint after that is
/// not reported.
pub fn watch_sigusr1(vm: *mut Vm) {
    VM.store(vm, Ordering::Release);
    block_sigusr1();
    // SAFETY: installs a handler that only stores to atomics (which is
    // async-signal-safe), and arms a one-shot timer.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_watcher_delay as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()) != 0 {
            start_watcher();
            return;
        }
        let delay = libc::itimerval {
            it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 },
            it_value: libc::timeval { tv_sec: 0, tv_usec: WATCHER_DELAY_US },
        };
        if libc::setitimer(libc::ITIMER_REAL, &delay, std::ptr::null_mut()) != 0 {
            start_watcher();
        }
    }
}

/// SIGALRM handler: the watcher is due.
extern "C" fn on_watcher_delay(_: libc::c_int) {
    WATCHER_DUE.store(true, Ordering::Relaxed);
    crate::sync::safepoint::request();
}

/// Starts the watcher if its delay is over (called at safepoints).
pub fn start_watcher_if_due() {
    if WATCHER_DUE.swap(false, Ordering::Relaxed) {
        start_watcher();
    }
}

/// Starts the watcher thread unless it runs already (called before a
/// thread blocks, and when the delay is over). A bare pthread: it only
/// waits for the signal.
pub fn start_watcher() {
    if WATCHER_STARTED.swap(true, Ordering::Relaxed) {
        return;
    }
    // SAFETY: plain pthread calls on a local attribute object; the thread
    // runs `watcher`, which takes no argument and never returns.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_attr_init(&mut attr) != 0 {
            return;
        }
        libc::pthread_attr_setstacksize(&mut attr, WATCHER_STACK);
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let mut thread: libc::pthread_t = std::mem::zeroed();
        libc::pthread_create(&mut thread, &attr, watcher, std::ptr::null_mut());
        libc::pthread_attr_destroy(&mut attr);
    }
}

/// The watcher thread: waits for SIGUSR1 and prints the statistics.
extern "C" fn watcher(_: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: names the calling thread; the name is NUL-terminated.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"tinyvm-stats".as_ptr()) };
    loop {
        // SAFETY: sigwait only fills `sig`.
        let sig = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            let mut sig = 0;
            libc::sigwait(&set, &mut sig);
            sig
        };
        if sig == libc::SIGUSR1 {
            // A panic must not unwind out of an extern "C" function.
            let _ = std::panic::catch_unwind(print_statistics);
        }
    }
}

fn print_statistics() {
    gil::acquire();
    let vm = VM.load(Ordering::Acquire);
    if !vm.is_null() {
        // SAFETY: the VM lives until the process exits, and holding the VM
        // lock keeps every other thread parked.
        let text = render(unsafe { &*vm });
        crate::output::write_stderr(text.as_bytes());
    }
    gil::release();
}
