//! Running out of memory: the heap limit (`TINYVM_HEAP_MAX`), fallible
//! allocation, and the process allocator's last resort.
//!
//! Where a program can grow memory without bound (arrays, strings,
//! instances and their fields, every heap object), the runtime allocates
//! fallibly: past the heap limit, or when the system refuses memory, it
//! raises the runtime error `Out of memory.` where the program stands
//! (message, trace, exit 70), as for any other runtime error.
//!
//! Allocations deep inside Rust's standard library (hash map growth,
//! formatting) cannot fail gracefully. For those, the global allocator
//! (`Allocator`, a thin wrapper around `System`) ends the process itself
//! when the system refuses memory, instead of Rust's abort (SIGABRT, exit
//! 134, buffered output lost): it writes out buffered stdout if it can do
//! so without blocking, writes `Out of memory.` to stderr and exits 70,
//! never allocating on the way. Fallible allocations run inside
//! `fallible`, which makes the allocator hand the failure back instead.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The runtime error's message.
pub const MESSAGE: &str = "Out of memory.";

/// The environment variable that sets the heap limit.
pub const HEAP_MAX_VAR: &str = "TINYVM_HEAP_MAX";

/// `System`, except that a refused allocation ends the process (see the
/// module comment) unless the calling thread is inside `fallible`.
pub struct Allocator;

#[global_allocator]
static GLOBAL: Allocator = Allocator;

thread_local! {
    /// Set while this thread makes allocations whose failure the caller handles.
    static FALLIBLE: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every method forwards to `System` with its own arguments, so
// `System`'s guarantees hold unchanged; a null result (the allocation
// failed) is either returned, as `GlobalAlloc` allows, or the process ends.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `layout` are `System`'s.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            return refused();
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            return refused();
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `dealloc`; the caller's guarantees for `new_size` are `System`'s.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            // The old block is still allocated and unchanged.
            return refused();
        }
        p
    }
}

/// The system refused an allocation: null for a `fallible` caller, else
/// the end of the process.
#[cold]
#[inline(never)]
fn refused() -> *mut u8 {
    // `try_with` cannot fail for a constant-initialized `Cell` (it has no
    // destructor), and reading it does not allocate.
    if FALLIBLE.try_with(Cell::get).unwrap_or(false) {
        return std::ptr::null_mut();
    }
    die()
}

/// Ends the process for an allocation that cannot fail gracefully:
/// buffered stdout (unless some thread, this one included, is in the
/// middle of writing to it), `Out of memory.` on stderr, exit 70.
/// Allocates nothing and never blocks.
pub fn die() -> ! {
    crate::output::flush_stdout_without_blocking();
    let line = b"Out of memory.\n";
    // SAFETY: writing a static buffer, then ending the process without
    // running anything else (no destructors, no atexit handlers, which might
    // allocate); both have no memory-safety preconditions.
    unsafe {
        libc::write(2, line.as_ptr() as *const libc::c_void, line.len());
        libc::_exit(crate::output::EXIT_RUNTIME)
    }
}

/// Runs `f`, whose allocations report failure to their callers (null from
/// `alloc`, `Err` from `Vec::try_reserve`) instead of ending the process.
#[inline]
pub fn fallible<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            FALLIBLE.set(self.0);
        }
    }
    let _restore = Restore(FALLIBLE.replace(true));
    f()
}

/// The system (or the heap limit) has no memory for an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoMemory;

/// Makes room for `additional` more elements in `v`, or returns `Err`
/// when the system has no memory for them.
#[inline]
pub fn try_reserve<T>(v: &mut Vec<T>, additional: usize) -> Result<(), NoMemory> {
    if v.capacity() - v.len() >= additional {
        return Ok(());
    }
    fallible(|| v.try_reserve(additional)).map_err(|_| NoMemory)
}

/// `try_reserve` for exactly `additional` more elements.
#[inline]
pub fn try_reserve_exact<T>(v: &mut Vec<T>, additional: usize) -> Result<(), NoMemory> {
    if v.capacity() - v.len() >= additional {
        return Ok(());
    }
    fallible(|| v.try_reserve_exact(additional)).map_err(|_| NoMemory)
}

/// The heap limit that `TINYVM_HEAP_MAX` sets: `None` when it is unset or
/// empty. A value that is not a size is an error, whose message (starting
/// `error: TINYVM_HEAP_MAX:`) the caller prints before exiting 70.
pub fn heap_limit_from_env() -> Result<Option<usize>, String> {
    let Some(value) = std::env::var_os(HEAP_MAX_VAR) else {
        return Ok(None);
    };
    if value.is_empty() {
        return Ok(None);
    }
    let text = value.to_string_lossy();
    parse_size(&text).map(Some).map_err(|why| format!("error: {HEAP_MAX_VAR}: {why}\n"))
}

/// Parses a size in bytes with an optional binary suffix: `K` (KiB), `M`
/// (MiB) or `G` (GiB), in either case, as in `-Xmx64m`. It must be positive.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let (digits, unit): (&str, u64) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (&text[..text.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&text[..text.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid size '{text}': expected a number of bytes, optionally followed by K, M or G (such as 64M)"
        ));
    }
    let too_large = || format!("size '{text}' is too large");
    let n: u64 = digits.parse().map_err(|_| too_large())?;
    let bytes = n.checked_mul(unit).and_then(|b| usize::try_from(b).ok()).ok_or_else(too_large)?;
    if bytes == 0 {
        return Err(format!("size '{text}' leaves no room for the heap (it must be at least 1)"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        for bad in ["", "M", "-1", "1.5M", " 1M", "1M ", "1MB", "x", "0x10"] {
            assert!(parse_size(bad).unwrap_err().starts_with("invalid size"), "{bad:?}");
        }
        assert!(parse_size("0").unwrap_err().contains("no room"));
        assert!(parse_size("0K").unwrap_err().contains("no room"));
        assert!(parse_size("99999999999999999999").unwrap_err().contains("too large"));
        assert!(parse_size("99999999999G").unwrap_err().contains("too large"));
    }

    #[test]
    fn fallible_reservations_report_failure() {
        let mut v: Vec<u64> = Vec::new();
        assert!(try_reserve(&mut v, usize::MAX / 16).is_err(), "capacity overflow");
        // 128 TB: more than a process's address space, so the system refuses
        // it; the allocator must return the failure, not end the process.
        assert!(try_reserve(&mut v, 1 << 44).is_err(), "refused by the system");
        assert!(try_reserve_exact(&mut v, 10).is_ok());
        assert!(v.capacity() >= 10);
        assert!(!FALLIBLE.with(Cell::get), "the flag is restored");
    }
}
