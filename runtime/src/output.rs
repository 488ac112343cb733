//! Program output: a buffered stdout shared by all threads, and stderr.
//!
//! Stdout is block-buffered when it is a pipe or file and line-buffered on a
//! terminal. Everything that writes to stderr, reads stdin or ends the
//! process flushes stdout first, so no output is lost or reordered.

use std::sync::Mutex;

struct OutBuf {
    bytes: Vec<u8>,
    /// `None` until the first write decides (isatty).
    line_buffered: Option<bool>,
}

static STDOUT: Mutex<OutBuf> = Mutex::new(OutBuf { bytes: Vec::new(), line_buffered: None });

const FLUSH_AT: usize = 1 << 16;

fn write_fd(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid readable buffer of the given length.
        let n = unsafe { libc::write(fd, bytes.as_ptr() as *const libc::c_void, bytes.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
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

/// Writes to stderr (unbuffered) after flushing stdout.
pub fn write_stderr(bytes: &[u8]) {
    flush_stdout();
    write_fd(2, bytes);
}

/// Flushes stdout and ends the process with `code`.
pub fn exit(code: i32) -> ! {
    flush_stdout();
    std::process::exit(code)
}

/// An I/O error as a short phrase ("No such file or directory").
pub fn io_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
