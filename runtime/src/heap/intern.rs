//! The string intern table: one object per distinct byte string.
//!
//! An open-addressing hash set of string pointers (linear probing, tombstones),
//! as in clox's `tableFindString`. It is weak: the GC removes strings that
//! nothing else marked (`remove_unmarked`) before it sweeps them.

use super::oom::NoMemory;
use crate::object::ObjString;

const TOMBSTONE: usize = 1;

pub struct Interner {
    slots: Vec<*mut ObjString>,
    /// Live entries plus tombstones.
    used: usize,
    live: usize,
}

impl Default for Interner {
    fn default() -> Self {
        Interner { slots: vec![std::ptr::null_mut(); 256], used: 0, live: 0 }
    }
}

fn is_entry(p: *mut ObjString) -> bool {
    p as usize > TOMBSTONE
}

impl Interner {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Finds the interned string with these bytes.
    pub fn find(&self, bytes: &[u8], hash: u32) -> Option<*mut ObjString> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let p = self.slots[i];
            if p.is_null() {
                return None;
            }
            if is_entry(p) {
                // SAFETY: entries are live strings (dead ones are removed
                // before the sweep frees them).
                let s = unsafe { &*p };
                if s.hash() == hash && s.bytes() == bytes {
                    return Some(p);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Makes sure that the next `insert` does not grow the table; `Err`
    /// when the system has no memory for a larger one.
    #[inline]
    pub fn reserve_one(&mut self) -> Result<(), NoMemory> {
        if (self.used + 1) * 4 > self.slots.len() * 3 {
            return self.rehash(if self.live * 2 > self.slots.len() / 2 {
                self.slots.len() * 2
            } else {
                self.slots.len()
            });
        }
        Ok(())
    }

    /// Adds a string known not to be present (after `reserve_one`).
    pub fn insert(&mut self, s: *mut ObjString) {
        if self.reserve_one().is_err() {
            // Only a caller that skipped `reserve_one` gets here.
            super::oom::die();
        }
        // SAFETY: `s` is a freshly allocated, initialized string.
        let hash = unsafe { (*s).hash() };
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while is_entry(self.slots[i]) {
            i = (i + 1) & mask;
        }
        if self.slots[i].is_null() {
            self.used += 1;
        }
        self.slots[i] = s;
        self.live += 1;
    }

    #[cold]
    #[inline(never)]
    fn rehash(&mut self, capacity: usize) -> Result<(), NoMemory> {
        let mut slots = Vec::new();
        super::oom::try_reserve_exact(&mut slots, capacity)?;
        slots.resize(capacity, std::ptr::null_mut());
        let old = std::mem::replace(&mut self.slots, slots);
        self.used = 0;
        self.live = 0;
        for p in old {
            if is_entry(p) {
                self.insert(p);
            }
        }
        Ok(())
    }

    /// Drops every string whose mark bit is clear (called during GC).
    pub fn remove_unmarked(&mut self) {
        for slot in self.slots.iter_mut() {
            // SAFETY: entries are live until this very sweep frees them.
            if is_entry(*slot) && unsafe { !(**slot).obj.marked } {
                *slot = TOMBSTONE as *mut ObjString;
                self.live -= 1;
            }
        }
    }
}
