//! Arrays: growable vectors of values with a C-visible pointer and length.

use super::Obj;
use crate::value::Value;
use std::mem::ManuallyDrop;

#[repr(C)]
pub struct ObjArray {
    pub obj: Obj,
    pub ptr: *mut Value,
    pub len: usize,
    pub cap: usize,
}

impl ObjArray {
    /// Runs `f` on the items as a `Vec`, keeping pointer, length and capacity in sync.
    pub fn with_vec<R>(&mut self, f: impl FnOnce(&mut Vec<Value>) -> R) -> R {
        // SAFETY: ptr/len/cap always come from a `Vec<Value>` that this array
        // owns (see `from_vec` and the write-back below).
        let mut v = ManuallyDrop::new(unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) });
        let result = f(&mut v);
        self.ptr = v.as_mut_ptr();
        self.len = v.len();
        self.cap = v.capacity();
        result
    }

    pub fn items(&self) -> &[Value] {
        // SAFETY: ptr/len describe the initialized part of the owned buffer.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Frees the item buffer (called by the sweep).
    pub fn free_items(&mut self) {
        // SAFETY: see `with_vec`; the array is dead, so nothing reads it again.
        drop(unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) });
        self.ptr = std::ptr::null_mut();
        self.len = 0;
        self.cap = 0;
    }
}
