//! Maps: hash tables from values to values that keep insertion order.
//!
//! This module owns the table's layout and its rules: what a key is
//! (`normalize_key`), the hash and the probe (`home_slot`, `ObjMap::find`),
//! insertion, removal, rebuilding, and the iteration interface. Allocation
//! and accounting of the buffers go through the heap (`heap::new_map`,
//! `heap::map_set`, `heap::map_remove`), which calls the functions here.
//!
//! The design is CPython's compact dict: `entries` holds the (key, value)
//! pairs in insertion order; `index` is an open-addressing table (linear
//! probing) of `u32` positions into `entries`, twice as many slots as there
//! are entries, so it is at most half full and every probe ends at an
//! `EMPTY_SLOT`. Removing a pair leaves it in place with the key
//! `TOMBSTONE` (its index slot keeps pointing at it, so probe chains stay
//! intact, and no lookup key ever equals the tombstone); a rebuild drops
//! tombstones, when the entries are full or when tombstones outnumber live
//! pairs three to one. Both buffers are one allocation of `buffer_bytes`.
//!
//! Keys are compared by their bits after `normalize_key` (`-0` is `0`; NaN
//! is no key): strings are interned, so their bits are their content, and
//! every other object is its identity.
//!
//! Generated code looks keys up inline (`codegen/lower/map_index.rs`): the
//! hash, the probe and the layout offsets it reads (`object::layout::MAP_*`)
//! are defined once here, and that lowering mirrors them.
//!
//! # Iteration interface
//!
//! `key_at(map, &mut cursor)` returns the next live key at or after
//! `cursor` (a position in insertion order, starting at 0) and moves the
//! cursor past it; `None` at the end. `ObjMap::version` increases whenever
//! the *key set* changes (a new key, a removal; never a value update), and
//! only such changes rebuild the table, so a cursor stays valid exactly as
//! long as `version` is what it was when the iteration started: a loop
//! over the keys checks it at each step (`Map changed during iteration.`).

use super::Obj;
use crate::value::{ObjKind, Value};

/// One key-value pair. A removed pair keeps its place with the key
/// `TOMBSTONE` (and a nil value) until the table is rebuilt.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: Value,
    pub value: Value,
}

/// The key of a removed entry: the "undefined global" marker, which no
/// program value can be, so no lookup key ever equals it.
pub const TOMBSTONE: Value = Value::UNDEFINED;
/// An index slot that points at no entry.
pub const EMPTY_SLOT: u32 = u32::MAX;
/// Fibonacci hashing: the key's bits times 2^64 / φ, top bits kept.
pub const HASH_MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
/// The fewest entries a table with a buffer has (a power of two).
pub const MIN_CAPACITY: usize = 8;
/// The most entries (positions must stay below `EMPTY_SLOT`, and the
/// index, twice as large, must fit `u32` slots).
pub const MAX_CAPACITY: usize = 1 << 31;

/// The index of every map without a buffer: two empty slots (so that
/// `mask` and `shift` follow the same rule as for real tables). Never
/// written: a map gets a buffer before its first insertion.
static EMPTY_INDEX: [u32; 2] = [EMPTY_SLOT; 2];

#[repr(C)]
pub struct ObjMap {
    pub obj: Obj,
    /// `cap` entries, of which the first `used` are written (live or tombstones).
    pub entries: *mut Entry,
    /// `mask + 1` slots: `EMPTY_SLOT` or a position in `entries`.
    pub index: *mut u32,
    /// Index slots minus one (a power of two minus one).
    pub mask: usize,
    /// 64 minus log2 of the index slots: `home_slot` keeps that many top bits.
    pub shift: u32,
    _pad: u32,
    /// Entries written so far (the next insertion's position).
    pub used: usize,
    /// Entries the buffer has room for (0: no buffer yet).
    pub cap: usize,
    /// Live entries (the map's length).
    pub live: usize,
    /// Increases whenever the key set changes (see the module comment).
    pub version: u64,
}

/// The key that `v` stands for: numbers by value, so `-0` becomes `0`;
/// every other value by its bits. `None` for NaN, which is no key. Generated
/// code mirrors this (`codegen/lower/map_index.rs`).
#[inline(always)]
pub fn normalize_key(v: Value) -> Option<Value> {
    if v.is_number() {
        let n = v.as_number();
        if n.is_nan() {
            return None;
        }
        if n == 0.0 {
            return Some(Value::number(0.0));
        }
    }
    Some(v)
}

/// The index slot where the probe for `key` (normalized) starts: the top
/// bits of its bits times `HASH_MULTIPLIER`. The one definition of the
/// hash; generated code mirrors it (`codegen/lower/map_index.rs`).
#[inline(always)]
pub fn home_slot(key: Value, shift: u32) -> usize {
    (key.0.wrapping_mul(HASH_MULTIPLIER) >> shift) as usize
}

/// Bytes of the one buffer of a table with room for `cap` entries: the
/// entries, then `2 * cap` index slots.
pub fn buffer_bytes(cap: usize) -> usize {
    cap * (std::mem::size_of::<Entry>() + 2 * std::mem::size_of::<u32>())
}

fn buffer_layout(cap: usize) -> Option<std::alloc::Layout> {
    std::alloc::Layout::from_size_align(buffer_bytes(cap), std::mem::align_of::<Entry>()).ok()
}

/// Allocates the buffer for `cap` entries (`cap` at least `MIN_CAPACITY`);
/// `None` when the system refuses the memory (the heap calls this under
/// `heap::oom::fallible`, so that a refusal is reported, not an abort).
pub fn alloc_buffer(cap: usize) -> Option<*mut Entry> {
    debug_assert!((MIN_CAPACITY..=MAX_CAPACITY).contains(&cap));
    let layout = buffer_layout(cap)?;
    // SAFETY: the layout's size is non-zero (cap > 0).
    let p = unsafe { std::alloc::alloc(layout) } as *mut Entry;
    (!p.is_null()).then_some(p)
}

/// The capacity a rebuild gives a table with `live` entries: at least
/// twice that, so that as many insertions as there are entries come before
/// the next rebuild (amortized O(1)).
pub fn target_capacity(live: usize) -> usize {
    live.saturating_mul(2).next_power_of_two().max(MIN_CAPACITY)
}

impl ObjMap {
    /// An empty map (no buffer until the first insertion).
    pub fn new() -> ObjMap {
        ObjMap {
            obj: Obj::new(ObjKind::Map),
            entries: std::ptr::NonNull::dangling().as_ptr(),
            index: EMPTY_INDEX.as_ptr() as *mut u32,
            mask: EMPTY_INDEX.len() - 1,
            shift: 64 - EMPTY_INDEX.len().trailing_zeros(),
            _pad: 0,
            used: 0,
            cap: 0,
            live: 0,
            version: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The written entries, tombstones included, in insertion order.
    pub fn entries(&self) -> &[Entry] {
        // SAFETY: the first `used` entries of the buffer are initialized
        // (a map without a buffer has `used == 0` and a dangling, aligned pointer).
        unsafe { std::slice::from_raw_parts(self.entries, self.used) }
    }

    /// The live entries, in insertion order.
    pub fn live_entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries().iter().filter(|e| e.key != TOMBSTONE)
    }

    /// The position in `entries` of `key` (normalized), if present. The
    /// one definition of the probe: from `home_slot`, the next slot (with
    /// wrap-around) until the slot points at the key or is empty.
    /// Generated code mirrors it (`codegen/lower/map_index.rs`).
    #[inline]
    pub fn find(&self, key: Value) -> Option<usize> {
        let mut slot = home_slot(key, self.shift);
        loop {
            // SAFETY: `slot <= mask` (home_slot keeps log2(mask + 1) bits),
            // and index slots hold EMPTY_SLOT or positions below `used`.
            unsafe {
                let position = *self.index.add(slot);
                if position == EMPTY_SLOT {
                    return None;
                }
                if (*self.entries.add(position as usize)).key == key {
                    return Some(position as usize);
                }
            }
            slot = (slot + 1) & self.mask;
        }
    }

    /// The value of `key` (normalized), if present.
    #[inline]
    pub fn get(&self, key: Value) -> Option<Value> {
        // SAFETY: `find` returns positions of written entries.
        self.find(key).map(|p| unsafe { (*self.entries.add(p)).value })
    }

    /// Replaces the value of `key` (normalized) when present; false when absent.
    #[inline]
    pub fn set_existing(&mut self, key: Value, value: Value) -> bool {
        match self.find(key) {
            Some(p) => {
                // SAFETY: `find` returns positions of written entries.
                unsafe { (*self.entries.add(p)).value = value };
                true
            }
            None => false,
        }
    }

    /// Whether an insertion needs a rebuild first.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.used == self.cap
    }

    /// Appends `key` (normalized, absent) with `value`. The table must not be full.
    pub fn insert_new(&mut self, key: Value, value: Value) {
        debug_assert!(!self.is_full() && self.find(key).is_none() && key != TOMBSTONE);
        // SAFETY: the table has a buffer with room at `used`, and the index
        // is at most half full, so the probe finds an empty slot.
        unsafe {
            self.place(key, self.used as u32);
            self.entries.add(self.used).write(Entry { key, value });
        }
        self.used += 1;
        self.live += 1;
        self.version += 1;
    }

    /// Points the first empty slot of `key`'s probe at `position`.
    ///
    /// # Safety
    /// The index must have an empty slot (it is at most half full).
    unsafe fn place(&mut self, key: Value, position: u32) {
        let mut slot = home_slot(key, self.shift);
        // SAFETY: slots stay within the index (see `find`).
        unsafe {
            while *self.index.add(slot) != EMPTY_SLOT {
                slot = (slot + 1) & self.mask;
            }
            *self.index.add(slot) = position;
        }
    }

    /// Removes `key` (normalized) and returns its value, if present. The
    /// entry becomes a tombstone; the order of the others is kept.
    pub fn remove(&mut self, key: Value) -> Option<Value> {
        let p = self.find(key)?;
        // SAFETY: `find` returns positions of written entries.
        let entry = unsafe { &mut *self.entries.add(p) };
        let value = entry.value;
        *entry = Entry { key: TOMBSTONE, value: Value::NIL };
        self.live -= 1;
        self.version += 1;
        Some(value)
    }

    /// Whether tombstones outnumber live entries three to one (a removal
    /// then rebuilds the table, smaller).
    pub fn tombstones_dominate(&self) -> bool {
        self.live * 4 < self.used
    }

    /// Drops the tombstones in place (the capacity stays).
    pub fn compact_in_place(&mut self) {
        if self.cap == 0 {
            return;
        }
        // SAFETY: the map's own buffer, with room for `cap` entries; the
        // live entries only move to lower positions.
        unsafe { self.rebuild(self.entries, self.cap) };
    }

    /// Moves the live entries into `buffer` (from `alloc_buffer(cap)`, with
    /// room for them) and returns the old buffer's size in bytes (0 if none).
    ///
    /// # Safety
    /// `buffer` must come from `alloc_buffer(cap)` with `cap >= live`; the
    /// map owns it from now on.
    pub unsafe fn replace_buffer(&mut self, buffer: *mut Entry, cap: usize) -> usize {
        debug_assert!(cap >= self.live);
        let (old, old_cap) = (self.entries, self.cap);
        let old_used = self.used;
        // SAFETY: the new buffer has room for `cap` entries; copying reads
        // the old buffer, which is still allocated.
        unsafe {
            let mut n = 0;
            for i in 0..old_used {
                let e = *old.add(i);
                if e.key != TOMBSTONE {
                    buffer.add(n).write(e);
                    n += 1;
                }
            }
            self.used = n;
            self.entries = buffer;
            self.rebuild(buffer, cap);
            free_buffer(old, old_cap)
        }
    }

    /// Compacts the first `used` entries of `entries` (the current buffer,
    /// or one the live entries were already copied to) and rebuilds the
    /// index for `cap` entries.
    ///
    /// # Safety
    /// `entries` must have room for `cap` entries, followed by `2 * cap`
    /// index slots, and hold `used` written entries.
    unsafe fn rebuild(&mut self, entries: *mut Entry, cap: usize) {
        // SAFETY: guaranteed by the caller; `n <= i`, so moving entry `i`
        // to `n` never overwrites one not yet read.
        unsafe {
            let mut n = 0;
            for i in 0..self.used {
                let e = *entries.add(i);
                if e.key != TOMBSTONE {
                    entries.add(n).write(e);
                    n += 1;
                }
            }
            let slots = 2 * cap;
            self.entries = entries;
            self.index = entries.add(cap) as *mut u32;
            std::slice::from_raw_parts_mut(self.index, slots).fill(EMPTY_SLOT);
            self.mask = slots - 1;
            self.shift = 64 - slots.trailing_zeros();
            self.cap = cap;
            self.used = n;
            self.live = n;
            for i in 0..n {
                self.place((*entries.add(i)).key, i as u32);
            }
        }
    }

    /// Frees the buffer (called by the sweep) and returns its size in bytes.
    pub fn free_buffer(&mut self) -> usize {
        // SAFETY: the map owns its buffer; it is dead, so nothing reads it again.
        let bytes = unsafe { free_buffer(self.entries, self.cap) };
        self.cap = 0;
        self.used = 0;
        self.live = 0;
        bytes
    }
}

impl Default for ObjMap {
    fn default() -> Self {
        ObjMap::new()
    }
}

/// Frees a buffer from `alloc_buffer(cap)` (nothing when `cap` is 0);
/// returns its size.
///
/// # Safety
/// `entries` must come from `alloc_buffer(cap)` and not be used again.
unsafe fn free_buffer(entries: *mut Entry, cap: usize) -> usize {
    if cap == 0 {
        return 0;
    }
    if let Some(layout) = buffer_layout(cap) {
        // SAFETY: guaranteed by the caller: allocated with this layout.
        unsafe { std::alloc::dealloc(entries as *mut u8, layout) };
    }
    buffer_bytes(cap)
}

/// The iteration interface (see the module comment): the next live key at
/// or after `*cursor` in insertion order, moving the cursor past it.
pub fn key_at(map: &ObjMap, cursor: &mut usize) -> Option<Value> {
    let entries = map.entries();
    while let Some(e) = entries.get(*cursor) {
        *cursor += 1;
        if e.key != TOMBSTONE {
            return Some(e.key);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grows `m` as `heap::map_set` does, without a VM.
    fn set(m: &mut ObjMap, key: Value, value: Value) {
        if m.set_existing(key, value) {
            return;
        }
        if m.is_full() {
            let cap = target_capacity(m.live);
            if cap == m.cap {
                m.compact_in_place();
            } else {
                let buffer = alloc_buffer(cap).expect("memory");
                // SAFETY: a fresh buffer of `cap >= live` entries.
                unsafe { m.replace_buffer(buffer, cap) };
            }
        }
        m.insert_new(key, value);
    }

    fn remove(m: &mut ObjMap, key: Value) -> Option<Value> {
        let v = m.remove(key)?;
        if m.tombstones_dominate() {
            let cap = target_capacity(m.live);
            if cap == m.cap {
                m.compact_in_place();
            } else {
                let buffer = alloc_buffer(cap).expect("memory");
                // SAFETY: as in `set`.
                unsafe { m.replace_buffer(buffer, cap) };
            }
        }
        Some(v)
    }

    fn n(x: f64) -> Value {
        Value::number(x)
    }

    fn keys(m: &ObjMap) -> Vec<f64> {
        let mut cursor = 0;
        std::iter::from_fn(|| key_at(m, &mut cursor)).map(Value::as_number).collect()
    }

    #[test]
    fn keys_normalize() {
        assert_eq!(normalize_key(n(-0.0)), Some(n(0.0)));
        assert_eq!(normalize_key(n(f64::NAN)), None);
        assert_eq!(normalize_key(n(1.5)), Some(n(1.5)));
        assert_eq!(normalize_key(Value::NIL), Some(Value::NIL));
    }

    #[test]
    fn growth_keeps_every_key_and_the_order() {
        let mut m = ObjMap::new();
        assert_eq!(m.get(n(1.0)), None, "an empty map has no keys");
        for i in 0..10_000 {
            set(&mut m, n(i as f64), n((i * 2) as f64));
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.cap, 16384);
        for i in 0..10_000 {
            assert_eq!(m.get(n(i as f64)), Some(n((i * 2) as f64)));
        }
        assert_eq!(m.get(n(10_000.0)), None);
        assert_eq!(keys(&m), (0..10_000).map(|i| i as f64).collect::<Vec<_>>());
        m.free_buffer();
    }

    #[test]
    fn removal_keeps_the_order_of_the_rest_and_shrinks() {
        let mut m = ObjMap::new();
        for i in 0..1000 {
            set(&mut m, n(i as f64), n(i as f64));
        }
        let version = m.version;
        set(&mut m, n(7.0), n(70.0));
        assert_eq!(m.version, version, "a value update keeps the key set");
        // Remove every key but the multiples of 7, in a scrambled order.
        for i in (0..1000).rev() {
            if i % 7 != 0 {
                assert_eq!(remove(&mut m, n(i as f64)), Some(n(i as f64)));
            }
        }
        for i in 0..1000 {
            if i % 7 != 0 {
                assert_eq!(remove(&mut m, n(i as f64)), None, "removed twice");
            }
        }
        let expected: Vec<f64> = (0..1000).filter(|i| i % 7 == 0).map(|i| i as f64).collect();
        assert_eq!(keys(&m), expected);
        assert_eq!(m.len(), expected.len());
        assert!(m.version > version);
        assert_eq!(m.cap, 512, "the table shrank from 1024");
        // A re-inserted key goes to the end.
        set(&mut m, n(3.0), Value::TRUE);
        assert_eq!(keys(&m).last(), Some(&3.0));
        assert_eq!(remove(&mut m, n(3.0)), Some(Value::TRUE));
        assert_eq!(remove(&mut m, n(3.0)), None);
        for &k in &expected {
            assert_eq!(m.get(n(k)), Some(n(if k == 7.0 { 70.0 } else { k })));
        }
        m.free_buffer();
    }

    #[test]
    fn churn_stays_small_and_ordered() {
        // Insert one, remove the oldest: tombstones are dropped as they pile up.
        let mut m = ObjMap::new();
        for i in 0..100_000 {
            set(&mut m, n(i as f64), Value::NIL);
            if i >= 3 {
                assert_eq!(remove(&mut m, n((i - 3) as f64)), Some(Value::NIL));
            }
            assert!(m.cap <= MIN_CAPACITY, "capacity {} at {}", m.cap, i);
        }
        assert_eq!(keys(&m), vec![99_997.0, 99_998.0, 99_999.0]);
        m.free_buffer();
    }

    #[test]
    fn the_cursor_skips_tombstones() {
        let mut m = ObjMap::new();
        for i in 0..6 {
            set(&mut m, n(i as f64), Value::NIL);
        }
        m.remove(n(0.0));
        m.remove(n(2.0));
        let mut cursor = 0;
        assert_eq!(key_at(&m, &mut cursor), Some(n(1.0)));
        assert_eq!(cursor, 2);
        assert_eq!(key_at(&m, &mut cursor), Some(n(3.0)));
        assert_eq!(cursor, 4);
        cursor = 6;
        assert_eq!(key_at(&m, &mut cursor), None);
        m.free_buffer();
    }
}
