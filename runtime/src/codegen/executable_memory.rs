//! Executable memory for JIT-compiled functions (W^X).
//!
//! Each function gets its own mapping: written while read-write, then
//! switched to read+execute with `mprotect`, never both at once. Calls to
//! runtime helpers go through stubs placed after the code (`jmp [rip]` and
//! the helper's absolute address), since helpers may be more than 2 GB away.
//! The mapping is released when the owning function is collected.

use super::lower::LoweredFunction;
use std::collections::BTreeMap;

/// Rotates the cache line where the next function's code starts.
static NEXT_COLOR: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Size of one helper stub: `jmp qword ptr [rip+0]` (6 bytes), the address (8), padding.
const STUB_SIZE: usize = 16;

pub struct ExecutableCode {
    ptr: *mut u8,
    len: usize,
    /// Start of the function's code (at the beginning of the mapping).
    pub entry: *const u8,
    pub code_len: usize,
}

// SAFETY: the mapping is immutable (read+execute) once created and owned
// by one function object; it is only unmapped by the GC under the VM lock.
unsafe impl Send for ExecutableCode {}

impl ExecutableCode {
    /// Copies `lowered` into fresh executable memory and links its helper calls.
    pub fn install(lowered: &LoweredFunction) -> Result<ExecutableCode, String> {
        let mut stubs: BTreeMap<super::helpers::Helper, usize> = BTreeMap::new();
        for call in &lowered.helper_calls {
            let next = stubs.len();
            stubs.entry(call.helper).or_insert(next);
        }
        let code_len = lowered.code.len();
        // Start each function at a different cache line of its page: with
        // every function at offset 0, all of them would compete for the same
        // instruction-cache and branch-predictor sets (measured: twice the
        // run time of the same code in a built executable).
        let start = (NEXT_COLOR.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 64) * 64;
        let stub_base = start + ((code_len + 15) & !15);
        let total = stub_base + stubs.len() * STUB_SIZE;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        let len = total.div_ceil(page) * page;
        // SAFETY: an anonymous private read-write mapping; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err("cannot map memory for compiled code".into());
        }
        let ptr = ptr as *mut u8;
        // SAFETY: the mapping is `len >= total` bytes and writable; every
        // write below stays within [ptr, ptr + total).
        unsafe {
            std::ptr::copy_nonoverlapping(lowered.code.as_ptr(), ptr.add(start), code_len);
            for (&helper, &index) in &stubs {
                let stub = ptr.add(stub_base + index * STUB_SIZE);
                let jmp = [0xFF, 0x25, 0, 0, 0, 0];
                std::ptr::copy_nonoverlapping(jmp.as_ptr(), stub, jmp.len());
                (stub.add(6) as *mut u64).write_unaligned(helper.address() as u64);
            }
            for call in &lowered.helper_calls {
                let field = ptr.add(start + call.offset as usize);
                let stub = ptr.add(stub_base + stubs[&call.helper] * STUB_SIZE);
                let rel = stub as i64 - (field as i64 + 4);
                (field as *mut i32).write_unaligned(rel as i32);
            }
            if libc::mprotect(ptr as *mut libc::c_void, len, libc::PROT_READ | libc::PROT_EXEC) != 0 {
                libc::munmap(ptr as *mut libc::c_void, len);
                return Err("cannot make compiled code executable".into());
            }
        }
        // SAFETY: `start` is within the mapping.
        let entry = unsafe { ptr.add(start) };
        Ok(ExecutableCode { ptr, len, entry, code_len })
    }

    /// Bytes of memory held.
    pub fn mapped_len(&self) -> usize {
        self.len
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        // SAFETY: the mapping was created in `install`; the function that
        // owned it is dead, so no frame can be executing this code.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}
