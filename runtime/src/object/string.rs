//! Strings: immutable byte strings stored inline after the header.
//!
//! All strings are interned (see `heap::intern`), so two strings with the
//! same bytes are the same object and equality is pointer comparison.

use super::Obj;

#[repr(C)]
pub struct ObjString {
    pub obj: Obj,
    pub len: usize,
    // `len` bytes follow.
}

impl ObjString {
    /// The allocation size of a string with `len` bytes.
    pub fn alloc_size(len: usize) -> usize {
        std::mem::size_of::<ObjString>() + len
    }

    /// The bytes of the string.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: strings are allocated with `alloc_size(len)` bytes and the
        // `len` content bytes follow the struct (see `heap::alloc_string`).
        unsafe { std::slice::from_raw_parts((self as *const ObjString).add(1) as *const u8, self.len) }
    }

    /// The bytes as text, with invalid UTF-8 replaced (for messages).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }

    pub fn hash(&self) -> u32 {
        self.obj.hash
    }
}

/// The hash a string keeps in its header (for the intern table): foldhash,
/// with a fixed seed so that it does not change between runs.
pub fn hash_bytes(bytes: &[u8]) -> u32 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x7469_6e79_766d).hash_one(bytes) as u32
}

/// Borrows a string object's bytes through a raw pointer.
///
/// # Safety
/// `s` must point to a live string object, and the returned slice must not
/// outlive it (the GC must not run while it is held).
pub unsafe fn string_bytes<'a>(s: *const ObjString) -> &'a [u8] {
    // SAFETY: guaranteed by the caller.
    unsafe { (*s).bytes() }
}
