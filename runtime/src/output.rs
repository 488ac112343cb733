//! Program output: a buffered stdout shared by all threads, and stderr.
//!
//! Stdout is block-buffered when it is a pipe or file and line-buffered on a
//! terminal. Everything that writes to stderr, reads stdin or ends the
//! process flushes stdout first, so no output is lost or reordered.
//!
//! Output that cannot be written is not dropped silently: a closed pipe
//! ends the process with SIGPIPE, as it ends a C program (so
//! `tinyvm run prog | head` stops), or, when the parent ignored SIGPIPE
//! (as a C program then gets EPIPE), with `error: cannot write to standard
//! output: Broken pipe` and exit 74; any other write error on stdout (a
//! full disk, a closed descriptor) is reported when the process ends,
//! which then exits 74 instead of 0 (`finish`).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;

struct OutBuf {
    bytes: Vec<u8>,
    /// `None` until the first write decides (isatty).
    line_buffered: Option<bool>,
}

static STDOUT: Mutex<OutBuf> = Mutex::new(OutBuf { bytes: Vec::new(), line_buffered: None });

const FLUSH_AT: usize = 1 << 16;

/// The errno of the first failed write to stdout (0: none).
static STDOUT_ERROR: AtomicI32 = AtomicI32::new(0);

/// Exit statuses (sysexits): a compile error or invalid bytecode file
/// (EX_DATAERR), a runtime error (EX_SOFTWARE), an I/O error (EX_IOERR).
pub const EXIT_COMPILE: i32 = 65;
pub const EXIT_RUNTIME: i32 = 70;
pub const EXIT_IO: i32 = 74;
/// The fuel budget ran out (`TINYVM_FUEL`; EX_TEMPFAIL, used by nothing else).
pub const EXIT_FUEL: i32 = 75;

/// Exit status when stdout could not be written.
const EXIT_OUTPUT_ERROR: i32 = EXIT_IO;

fn write_fd(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid readable buffer of the given length.
        let n = unsafe { libc::write(fd, bytes.as_ptr() as *const libc::c_void, bytes.len()) };
        if n < 0 {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
            match errno {
                libc::EINTR => continue,
                libc::EPIPE if fd == 1 && !crate::signals::sigpipe_ignored_at_start() => die_of_sigpipe(),
                libc::EPIPE if fd == 1 => broken_pipe(),
                _ if fd == 1 => {
                    let _ = STDOUT_ERROR.compare_exchange(0, errno, Ordering::Relaxed, Ordering::Relaxed);
                }
                _ => {}
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// A closed pipe while the parent ignores SIGPIPE: as a C program that
/// checks its writes, report it and end (exit 74) rather than run on with
/// nowhere for the output to go. Called with the stdout buffer locked, so
/// it writes and exits without going through it.
fn broken_pipe() -> ! {
    write_fd(2, b"error: cannot write to standard output: Broken pipe\n");
    std::process::exit(EXIT_OUTPUT_ERROR)
}

/// Ends the process the way a write to a closed pipe ends a C program
/// (Rust's runtime ignores SIGPIPE, so `tinyvm` sees EPIPE instead).
fn die_of_sigpipe() -> ! {
    // SAFETY: restoring the default action and raising the signal have no
    // memory-safety preconditions; the default action ends the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(128 + libc::SIGPIPE)
}

/// Flushes stdout and returns the exit status to end with: `status`, or
/// 74 after printing an error when stdout could not be written and the
/// program would otherwise have succeeded. The entry points (`tinyvm`'s
/// main, `program::run_executable`, `exit`) call it once, last.
pub fn finish(status: i32) -> i32 {
    flush_stdout();
    let errno = STDOUT_ERROR.swap(0, Ordering::Relaxed);
    if errno == 0 {
        return status;
    }
    let text = io_error_text(&std::io::Error::from_raw_os_error(errno));
    write_fd(2, format!("error: cannot write to standard output: {text}\n").as_bytes());
    if status == 0 {
        EXIT_OUTPUT_ERROR
    } else {
        status
    }
}

fn lock() -> std::sync::MutexGuard<'static, OutBuf> {
    STDOUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Appends to stdout.
pub fn write_stdout(bytes: &[u8]) {
    let mut out = lock();
    let line_buffered = *out.line_buffered.get_or_insert_with(|| {
        // SAFETY: isatty only inspects the descriptor.
        unsafe { libc::isatty(1) == 1 }
    });
    if bytes.len() >= FLUSH_AT {
        // Written as it is rather than copied into the buffer first: a
        // huge write then needs no memory.
        write_fd(1, &out.bytes);
        out.bytes.clear();
        write_fd(1, bytes);
        return;
    }
    out.bytes.extend_from_slice(bytes);
    if out.bytes.len() >= FLUSH_AT || (line_buffered && bytes.contains(&b'\n')) {
        write_fd(1, &out.bytes);
        out.bytes.clear();
    }
}

/// Writes out everything buffered for stdout.
pub fn flush_stdout() {
    let mut out = lock();
    if !out.bytes.is_empty() {
        write_fd(1, &out.bytes);
        out.bytes.clear();
    }
}

/// Writes out buffered stdout unless another thread holds the buffer;
/// never blocks and allocates nothing (for ending the process when memory
/// has run out, see `heap::oom::die`).
pub fn flush_stdout_without_blocking() {
    let mut out = match STDOUT.try_lock() {
        Ok(out) => out,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if !out.bytes.is_empty() {
        write_fd(1, &out.bytes);
        out.bytes.clear();
    }
}

/// Writes to stderr (unbuffered) after flushing stdout.
pub fn write_stderr(bytes: &[u8]) {
    flush_stdout();
    write_fd(2, bytes);
}

/// Whether `exit` skips the C library's exit handlers (see `exit_without_cleanup`).
static RAW_EXIT: AtomicBool = AtomicBool::new(false);

/// Makes `exit` end the process with `_exit(2)` once stdout is flushed. For
/// a forked child that runs a program (`tinyvm::forked`, test support):
/// the handlers its parent registered with `atexit` (libFuzzer's, which
/// report a fuzz target that exits as a crash) must not run in it.
pub fn exit_without_cleanup() {
    RAW_EXIT.store(true, Ordering::Relaxed);
}

/// Flushes stdout and ends the process with `code` (see `finish`).
pub fn exit(code: i32) -> ! {
    let status = finish(code);
    if RAW_EXIT.load(Ordering::Relaxed) {
        // SAFETY: _exit has no preconditions; the output is flushed.
        unsafe { libc::_exit(status) }
    }
    std::process::exit(status)
}

/// An I/O error as a short phrase ("No such file or directory").
pub fn io_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
