//! Process signals: SIGUSR1 prints the statistics, SIGUSR2 runs a garbage
//! collection at the next safepoint, and neither can end a program however
//! early it arrives; SIGPIPE as the parent left it.
//!
//! Both user signals are blocked before `main` runs (a constructor in
//! `.init_array`, run by the C library before `main` of `tinyvm` and of
//! built executables alike; `main` blocks them again first thing, in case a
//! linker dropped the constructor), so every thread inherits the mask and
//! an early signal stays pending. A watcher thread takes them with
//! `sigwait`. A second thread costs a short program about 0.2 ms (a fifth
//! of a hello world's run, mostly in the kernel), so the watcher starts
//! only once the program has run for 5 ms (a one-shot SIGALRM asks the
//! running thread to start it at its next safepoint) or when a thread
//! first blocks (sleep, input, join, wait). A signal that arrives earlier
//! stays pending until then; one that arrives during the first 5 ms of a
//! program that ends before its first safepoint after that is not acted on.
//!
//! This module must not touch the heap itself, and it names nothing of the
//! VM: it calls the two functions `watch` is given (print the statistics;
//! ask the running thread to stop at its next safepoint), and the
//! collection SIGUSR2 asks for runs at a safepoint (`take_gc_request`), by
//! the thread that holds the VM lock.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The SIGPIPE disposition was "ignore" when the process started (the
/// parent ignored it). Rust's runtime ignores SIGPIPE in `tinyvm` before
/// `main`, so this is read in the constructor, before that.
static SIGPIPE_IGNORED: AtomicBool = AtomicBool::new(false);

/// Runs before `main` (and before Rust's runtime start-up in `tinyvm`).
#[used]
#[link_section = ".init_array"]
static AT_START: extern "C" fn() = at_start;

extern "C" fn at_start() {
    block_user_signals();
    // SAFETY: sigaction with a null new action only reads the current one
    // into the local struct.
    let ignored = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    };
    SIGPIPE_IGNORED.store(ignored, Ordering::Relaxed);
}

/// Whether the parent left SIGPIPE ignored: a write to a closed pipe is
/// then an error to report (as C programs get EPIPE), not the end.
pub fn sigpipe_ignored_at_start() -> bool {
    SIGPIPE_IGNORED.load(Ordering::Relaxed)
}

fn user_signals() -> libc::sigset_t {
    // SAFETY: plain signal-set manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        set
    }
}

/// Blocks SIGUSR1 and SIGUSR2 in the calling thread; threads created
/// afterwards inherit the mask, so only the watcher ever receives them.
/// (Child processes start with an empty mask: Rust's `Command` resets it.)
pub fn block_user_signals() {
    let set = user_signals();
    // SAFETY: changes the calling thread's mask with a valid set.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Native stack of the watcher: rendering the statistics needs little.
const WATCHER_STACK: usize = 256 * 1024;
/// How long a program runs before the watcher thread starts.
const WATCHER_DELAY_US: libc::suseconds_t = 5_000;

/// The watcher thread exists (or is being started).
static WATCHER_STARTED: AtomicBool = AtomicBool::new(false);
/// The start delay is over: the next safepoint starts the watcher.
static WATCHER_DUE: AtomicBool = AtomicBool::new(false);
/// SIGUSR2 arrived: collect at the next safepoint.
static GC_REQUESTED: AtomicBool = AtomicBool::new(false);

/// What the watcher calls (function addresses; 0 until `watch`).
static PRINT_STATISTICS: AtomicUsize = AtomicUsize::new(0);
static REQUEST_SAFEPOINT: AtomicUsize = AtomicUsize::new(0);

fn call(hook: &AtomicUsize) {
    let address = hook.load(Ordering::Acquire);
    if address != 0 {
        // SAFETY: only `watch` stores here, and only addresses of `fn()`s.
        let f = unsafe { std::mem::transmute::<usize, fn()>(address) };
        f();
    }
}

/// Arranges for the watcher thread (see the module comment), which calls
/// `print_statistics` on SIGUSR1 and `request_safepoint` when the running
/// thread must stop at its next safepoint (to start the watcher, or to
/// collect on SIGUSR2; `request_safepoint` must be async-signal-safe).
/// Call before starting threads.
pub fn watch(print_statistics: fn(), request_safepoint: fn()) {
    PRINT_STATISTICS.store(print_statistics as usize, Ordering::Release);
    REQUEST_SAFEPOINT.store(request_safepoint as usize, Ordering::Release);
    block_user_signals();
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
    call(&REQUEST_SAFEPOINT);
}

/// Starts the watcher if its delay is over (called at safepoints).
pub fn start_watcher_if_due() {
    if WATCHER_DUE.swap(false, Ordering::Relaxed) {
        start_watcher();
    }
}

/// Whether SIGUSR2 asked for a collection since the last call (called at
/// safepoints, which then collect).
pub fn take_gc_request() -> bool {
    GC_REQUESTED.swap(false, Ordering::Relaxed)
}

/// Starts the watcher thread unless it runs already (called before a
/// thread blocks, and when the delay is over). A bare pthread: it only
/// waits for signals.
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

/// The watcher thread: waits for SIGUSR1 and SIGUSR2.
extern "C" fn watcher(_: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: names the calling thread; the name is NUL-terminated.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"tinyvm-signals".as_ptr()) };
    let set = user_signals();
    loop {
        let mut sig = 0;
        // SAFETY: sigwait only reads the set and fills `sig`.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            continue;
        }
        match sig {
            // A panic must not unwind out of an extern "C" function.
            libc::SIGUSR1 => drop(std::panic::catch_unwind(|| call(&PRINT_STATISTICS))),
            libc::SIGUSR2 => {
                GC_REQUESTED.store(true, Ordering::Relaxed);
                call(&REQUEST_SAFEPOINT);
            }
            _ => {}
        }
    }
}
