//! The string intern table: one object per distinct byte string.
//!
//! A `hashbrown::HashTable` of string pointers, keyed by the hash each
//! string keeps in its header. It is weak: the GC removes strings that
//! nothing else marked (`remove_unmarked`) before it sweeps them.

use super::oom::{fallible, NoMemory};
use crate::object::ObjString;
use hashbrown::HashTable;

#[derive(Default)]
pub struct Interner {
    table: HashTable<*mut ObjString>,
}

/// A string's 32-bit hash spread over 64 bits: the table takes buckets
/// from the low bits and its per-slot tags from the top seven.
fn spread(hash: u32) -> u64 {
    (hash as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The table hash of an interned string (from what its header holds).
fn hash_of(s: &*mut ObjString) -> u64 {
    // SAFETY: entries are live strings (dead ones are removed before the
    // sweep frees them).
    spread(unsafe { (**s).hash() })
}

impl Interner {
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Finds the interned string with these bytes.
    pub fn find(&self, bytes: &[u8], hash: u32) -> Option<*mut ObjString> {
        // SAFETY: as in `hash_of`.
        let eq = |s: &*mut ObjString| unsafe { (**s).hash() == hash && (**s).bytes() == bytes };
        self.table.find(spread(hash), eq).copied()
    }

    /// Makes sure that the next `insert` does not grow the table; `Err`
    /// when the system has no memory for a larger one.
    #[inline]
    pub fn reserve_one(&mut self) -> Result<(), NoMemory> {
        fallible(|| self.table.try_reserve(1, hash_of)).map_err(|_| NoMemory)
    }

    /// Adds a string known not to be present (after `reserve_one`, so that
    /// this never allocates).
    pub fn insert(&mut self, s: *mut ObjString) {
        if self.reserve_one().is_err() {
            // Only a caller that skipped `reserve_one` gets here.
            super::oom::die();
        }
        self.table.insert_unique(hash_of(&s), s, hash_of);
    }

    /// Drops every string whose mark bit is clear (called during GC).
    pub fn remove_unmarked(&mut self) {
        // SAFETY: entries are live until this very sweep frees them.
        self.table.retain(|s| unsafe { (**s).obj.marked });
    }
}
