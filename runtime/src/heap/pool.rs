//! Size-class pools for small objects: the GC's allocator.
//!
//! Objects up to `MAX_SMALL` bytes come from per-size-class free lists,
//! refilled by carving 64 KB chunks; the sweep returns dead objects to
//! their list instead of to the system allocator, so allocation and freeing
//! are a few instructions. Larger objects use the system allocator. Pools
//! are only used under the VM lock. Chunks are kept for the life of the VM.
//! When the system has no memory for a chunk or a large object, `alloc`
//! returns null and the heap decides what to do (`heap::alloc_object`).

use super::oom::fallible;
use std::alloc::{alloc, dealloc, Layout};

const GRANULE: usize = 16;
/// log2(GRANULE): the class of `size` bytes is `(size - 1) >> GRANULE_SHIFT`.
pub const GRANULE_SHIFT: u32 = GRANULE.trailing_zeros();
/// The largest size served from the pools.
pub const MAX_SMALL: usize = 256;
const CLASSES: usize = MAX_SMALL / GRANULE;
const CHUNK: usize = 64 * 1024;

struct FreeNode {
    next: *mut FreeNode,
}

pub struct Pools {
    free: [*mut FreeNode; CLASSES],
    /// Unused tail of the current chunk.
    bump: *mut u8,
    bump_left: usize,
    chunks: Vec<*mut u8>,
}

impl Default for Pools {
    fn default() -> Self {
        Pools { free: [std::ptr::null_mut(); CLASSES], bump: std::ptr::null_mut(), bump_left: 0, chunks: Vec::new() }
    }
}

/// Offset of the free-list heads (one per class) in `Pools`, for the
/// inline allocation in generated code (`codegen/lower/alloc.rs`).
pub const FREE_LISTS: usize = std::mem::offset_of!(Pools, free);

/// The size class of `size` bytes (generated code computes the same).
fn class_of(size: usize) -> Option<usize> {
    (size <= MAX_SMALL).then(|| (size.max(1) - 1) >> GRANULE_SHIFT)
}

/// `None` when `size` is too large for any allocation.
fn large_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size, 8).ok()
}

impl Pools {
    /// Memory for an object of `size` bytes (8-byte aligned, uninitialized),
    /// or null when the system has none.
    #[inline(always)]
    pub fn alloc(&mut self, size: usize) -> *mut u8 {
        let Some(class) = class_of(size) else {
            return alloc_large(size);
        };
        let p = self.pop(size);
        if !p.is_null() {
            return p;
        }
        self.carve((class + 1) * GRANULE)
    }

    /// `alloc`'s fast path: memory from the free list of `size`'s class,
    /// or null when that list is empty or `size` is large.
    #[inline(always)]
    pub fn pop(&mut self, size: usize) -> *mut u8 {
        let Some(class) = class_of(size) else {
            return std::ptr::null_mut();
        };
        let head = self.free[class];
        if head.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: free-list nodes are dead objects of this class owned by the pool.
        let next = unsafe { (*head).next };
        self.free[class] = next;
        // The next allocation of this class reads `next`: start loading
        // it now rather than stall on it then.
        prefetch(next);
        head as *mut u8
    }

    #[cold]
    #[inline(never)]
    fn carve(&mut self, bytes: usize) -> *mut u8 {
        if self.bump_left < bytes {
            let Some(layout) = large_layout(CHUNK) else {
                return std::ptr::null_mut();
            };
            if super::oom::try_reserve(&mut self.chunks, 1).is_err() {
                return std::ptr::null_mut();
            }
            // SAFETY: a non-zero-sized layout.
            let chunk = fallible(|| unsafe { alloc(layout) });
            if chunk.is_null() {
                return chunk;
            }
            self.chunks.push(chunk);
            self.bump = chunk;
            self.bump_left = CHUNK;
        }
        let p = self.bump;
        // SAFETY: `bytes <= bump_left`, so this stays inside the chunk.
        self.bump = unsafe { self.bump.add(bytes) };
        self.bump_left -= bytes;
        p
    }

    /// Returns an object's memory.
    ///
    /// # Safety
    /// `p` must come from `alloc(size)` with the same size and be dead.
    #[inline(always)]
    pub unsafe fn free(&mut self, p: *mut u8, size: usize) {
        match class_of(size) {
            Some(class) => {
                let node = p as *mut FreeNode;
                // SAFETY: the object is dead and at least 16 bytes long.
                unsafe { (*node).next = self.free[class] };
                self.free[class] = node;
            }
            // SAFETY: large objects come from the system allocator with this layout.
            None => unsafe { free_large(p, size) },
        }
    }
}

/// Hints the CPU to start loading the cache line at `p`.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cold]
#[inline(never)]
fn alloc_large(size: usize) -> *mut u8 {
    let Some(layout) = large_layout(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the size is larger than MAX_SMALL, so non-zero.
    fallible(|| unsafe { alloc(layout) })
}

/// # Safety
/// `p` must come from `alloc_large(size)`.
#[cold]
#[inline(never)]
unsafe fn free_large(p: *mut u8, size: usize) {
    // `alloc_large` allocated `p` with this layout, so it exists.
    if let Some(layout) = large_layout(size) {
        // SAFETY: per the contract, `p` was allocated with this layout.
        unsafe { dealloc(p, layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_freed_memory_of_the_same_class() {
        let mut pools = Pools::default();
        let a = pools.alloc(40);
        let b = pools.alloc(48);
        assert_ne!(a, b);
        // SAFETY: a came from alloc(40) and is not used again.
        unsafe { pools.free(a, 40) };
        assert_eq!(pools.alloc(33), a, "33..48 bytes share a class");
        let big = pools.alloc(1000);
        // SAFETY: big came from alloc(1000).
        unsafe { pools.free(big, 1000) };
    }

    #[test]
    fn memory_the_system_refuses_is_null() {
        let mut pools = Pools::default();
        assert!(pools.alloc(1 << 47).is_null(), "more than a process's address space");
        assert!(pools.alloc(usize::MAX - 7).is_null(), "more than any allocation can have");
    }
}
