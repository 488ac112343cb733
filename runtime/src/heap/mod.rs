//! The garbage-collected heap: allocation, accounting and object constructors.
//!
//! Every object is allocated here and linked into one list that the sweep
//! walks (`gc.rs`). Allocation may collect first, so callers keep every value
//! they still need reachable from a root (the thread's value stack or
//! `Vm::temp_roots`) across any call into this module. This module must not
//! run program code.
//!
//! The heap has a limit (`TINYVM_HEAP_MAX`, none by default) on the bytes
//! it accounts: objects and the buffers they own. A collection becomes due
//! at `next_gc`, which never exceeds the limit, so the one test of the
//! allocation fast paths (`bytes_allocated + size > next_gc`, here and in
//! generated code) also guards the limit; the slow path collects and raises
//! `Out of memory.` when the heap would still pass the limit (`reserve`).
//! When the system itself refuses memory, the allocation collects and tries
//! once more before raising (`retry_after_collecting`).

pub mod gc;
pub mod intern;
pub mod oom;
pub mod pool;

use crate::object::class::PtrMap;
use crate::object::*;
use crate::value::Value;
use crate::vm::error::raise;
use crate::vm::{Thread, Trap, Vm};
use std::alloc::{alloc, dealloc, Layout};

const MIN_NEXT_GC: usize = 1 << 20;
/// After a collection, the next one starts when the heap reaches this many
/// times the bytes that survived. Every collection marks all live data and
/// sweeps every object, so a larger factor trades memory for fewer passes
/// over the live data: 3 rather than 2 cut binary_trees' total GC time by
/// about 30% and raised its peak RSS from 12 to 17 MB.
const HEAP_GROWTH: usize = 3;

/// Collector statistics (reported by `TINYVM_STATS=1`).
#[derive(Default, Clone, Copy)]
pub struct GcStats {
    pub cycles: u64,
    pub bytes_allocated_total: u64,
    pub bytes_freed_total: u64,
    pub longest_pause_ns: u64,
    pub total_pause_ns: u64,
}

pub struct Heap {
    /// Head of the list of all objects.
    pub objects: *mut Obj,
    /// Bytes currently allocated (objects and their buffers).
    pub bytes_allocated: usize,
    /// Collect when `bytes_allocated` passes this. Never above `limit`.
    pub next_gc: usize,
    /// The most bytes the heap may account (`TINYVM_HEAP_MAX`).
    pub limit: usize,
    /// `TINYVM_GC_STRESS=1`: collect before every allocation (`next_gc`
    /// then stays 0, so every allocation finds a collection due).
    stress: bool,
    pub stats: GcStats,
    /// Where objects' memory comes from.
    pub pools: pool::Pools,
    /// Told the addresses of dead objects that had monitors, after each
    /// sweep (the monitor table is `sync`'s, above the heap, which
    /// installs this at start-up; until then there are no monitors).
    pub forget_monitors: fn(&[usize]),
}

impl Default for Heap {
    fn default() -> Self {
        Heap {
            objects: std::ptr::null_mut(),
            bytes_allocated: 0,
            next_gc: MIN_NEXT_GC,
            limit: usize::MAX,
            stress: false,
            stats: GcStats::default(),
            pools: pool::Pools::default(),
            forget_monitors: |_| {},
        }
    }
}

impl Heap {
    /// Records `bytes` of buffer growth owned by an object.
    pub fn account(&mut self, bytes: usize) {
        self.bytes_allocated += bytes;
        self.stats.bytes_allocated_total += bytes as u64;
    }

    /// Records `bytes` of buffer shrinkage or release.
    pub fn unaccount(&mut self, bytes: usize) {
        self.bytes_allocated = self.bytes_allocated.saturating_sub(bytes);
        self.stats.bytes_freed_total += bytes as u64;
    }

    pub fn after_collection(&mut self) {
        self.next_gc =
            if self.stress { 0 } else { (self.bytes_allocated * HEAP_GROWTH).max(MIN_NEXT_GC).min(self.limit) };
    }

    /// Sets the heap limit (`None`: no limit beyond what the system gives).
    pub fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit.unwrap_or(usize::MAX);
        self.after_collection();
    }

    pub fn set_stress(&mut self, stress: bool) {
        self.stress = stress;
        self.after_collection();
    }
}

/// Offsets (from the `Vm`) of the heap fields that generated code's inline
/// allocation (`codegen/lower/alloc.rs`) reads and updates as
/// `alloc_object` does.
pub mod layout {
    use super::*;
    use std::mem::offset_of;

    const HEAP: usize = offset_of!(Vm, heap);
    pub const HEAP_OBJECTS: usize = HEAP + offset_of!(Heap, objects);
    pub const HEAP_BYTES_ALLOCATED: usize = HEAP + offset_of!(Heap, bytes_allocated);
    pub const HEAP_NEXT_GC: usize = HEAP + offset_of!(Heap, next_gc);
    pub const HEAP_ALLOCATED_TOTAL: usize = HEAP + offset_of!(Heap, stats) + offset_of!(GcStats, bytes_allocated_total);
    pub const HEAP_FREE_LISTS: usize = HEAP + offset_of!(Heap, pools) + pool::FREE_LISTS;
    pub const GRANULE_SHIFT: u32 = pool::GRANULE_SHIFT;
    /// The most inline fields an instance from the pools can have.
    pub const MAX_POOLED_FIELDS: u32 =
        ((pool::MAX_SMALL - std::mem::size_of::<ObjInstance>()) / std::mem::size_of::<Value>()) as u32;
}

/// The layout of a buffer of `size` bytes (a multiple of 8).
fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size, 8).ok()
}

/// Raises the runtime error `Out of memory.` (the current frame's `pc`
/// and the stack top must be up to date, as for every runtime error).
#[cold]
#[inline(never)]
pub fn out_of_memory(th: &mut Thread) -> Trap {
    raise(th, oom::MESSAGE)
}

/// Makes room for `bytes` more accounted heap bytes: collects first when a
/// collection is due, and raises `Out of memory.` when even after it the
/// heap would pass its limit. May collect, so everything the caller still
/// needs must be reachable from roots.
#[inline(always)]
pub fn reserve(vm: &mut Vm, th: &mut Thread, bytes: usize) -> Result<(), Trap> {
    // `next_gc` never exceeds the limit: this one test covers both. Under
    // GC stress `next_gc` is 0, so every allocation collects.
    if vm.heap.bytes_allocated + bytes > vm.heap.next_gc {
        return collect_for(vm, th, bytes);
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn collect_for(vm: &mut Vm, th: &mut Thread, bytes: usize) -> Result<(), Trap> {
    gc::collect(vm, th);
    if vm.heap.bytes_allocated.saturating_add(bytes) > vm.heap.limit {
        return Err(out_of_memory(th));
    }
    Ok(())
}

/// After the system refused the memory that `attempt` asks for: collects
/// (dead objects' memory goes back to the pools and the system) and tries
/// once more, else raises `Out of memory.`. The caller's values must be
/// reachable from roots, as for any allocation.
#[cold]
#[inline(never)]
pub fn retry_after_collecting<R>(
    vm: &mut Vm,
    th: &mut Thread,
    attempt: impl FnOnce(&mut Vm) -> Option<R>,
) -> Result<R, Trap> {
    gc::collect(vm, th);
    attempt(vm).ok_or_else(|| out_of_memory(th))
}

/// Allocates `size` bytes for an object of `kind`, collecting first if due,
/// and writes `init` (whose first field is the header) at the start.
/// Raises `Out of memory.` (and drops `init`) when there is no room.
fn alloc_object<T>(vm: &mut Vm, th: &mut Thread, size: usize, init: T) -> Result<*mut T, Trap> {
    debug_assert!(size >= std::mem::size_of::<T>());
    // The fast path: no collection due (which is also the limit's test, see
    // `reserve`) and a free slot of the size class. Everything else is out
    // of line, so the fast path keeps few values live across calls.
    let mut ptr = std::ptr::null_mut();
    if vm.heap.bytes_allocated + size <= vm.heap.next_gc {
        ptr = vm.heap.pools.pop(size);
    }
    if ptr.is_null() {
        ptr = alloc_slow(vm, th, size)?;
    }
    let ptr = ptr as *mut T;
    // SAFETY: `ptr` is a fresh allocation of at least size_of::<T>() bytes,
    // aligned to 8, and every object type starts with an `Obj` header.
    unsafe {
        ptr.write(init);
        let obj = ptr as *mut Obj;
        (*obj).next = vm.heap.objects;
        vm.heap.objects = obj;
    }
    vm.heap.account(size);
    Ok(ptr)
}

/// `alloc_object`'s slow path: collects when due, raises past the limit,
/// refills the pools or allocates a large object, and collects and tries
/// again when the system refuses memory.
#[cold]
#[inline(never)]
fn alloc_slow(vm: &mut Vm, th: &mut Thread, size: usize) -> Result<*mut u8, Trap> {
    reserve(vm, th, size)?;
    let p = vm.heap.pools.alloc(size);
    if !p.is_null() {
        return Ok(p);
    }
    retry_after_collecting(vm, th, |vm| Some(vm.heap.pools.alloc(size)).filter(|p| !p.is_null()))
}

/// Interns `bytes`, allocating a string only when it is new.
pub fn new_string(vm: &mut Vm, th: &mut Thread, bytes: &[u8]) -> Result<*mut ObjString, Trap> {
    let hash = string::hash_bytes(bytes);
    if let Some(s) = vm.strings.find(bytes, hash) {
        return Ok(s);
    }
    // Room in the table first: a collection (in `alloc_object`) only
    // turns entries into tombstones, so the room stays.
    if vm.strings.reserve_one().is_err() {
        retry_after_collecting(vm, th, |vm| vm.strings.reserve_one().ok())?;
    }
    let mut header = Obj::new(ObjKind::String);
    header.hash = hash;
    let s = alloc_object(vm, th, ObjString::alloc_size(bytes.len()), ObjString { obj: header, len: bytes.len() })?;
    // SAFETY: the allocation has room for `len` bytes after the struct.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), s.add(1) as *mut u8, bytes.len()) };
    vm.strings.insert(s);
    Ok(s)
}

/// A string value for `text`.
pub fn string_value(vm: &mut Vm, th: &mut Thread, text: &[u8]) -> Result<Value, Trap> {
    Ok(Value::object(new_string(vm, th, text)? as *mut Obj))
}

pub fn new_closure(vm: &mut Vm, th: &mut Thread, function: *mut ObjFunction) -> Result<*mut ObjClosure, Trap> {
    // SAFETY: the caller keeps `function` alive (it is a constant of a live function).
    let count = unsafe { (*function).upvalue_count };
    let closure = alloc_object(
        vm,
        th,
        ObjClosure::alloc_size(count as usize),
        ObjClosure { obj: Obj::new(ObjKind::Closure), function, upvalue_count: count },
    )?;
    let upvalues = ObjClosure::upvalues(closure);
    for i in 0..count as usize {
        // SAFETY: the allocation holds `count` upvalue pointers after the struct.
        unsafe { upvalues.add(i).write(std::ptr::null_mut()) };
    }
    Ok(closure)
}

pub fn new_upvalue(vm: &mut Vm, th: &mut Thread, location: *mut Value) -> Result<*mut ObjUpvalue, Trap> {
    let init =
        ObjUpvalue { obj: Obj::new(ObjKind::Upvalue), location, closed: Value::NIL, next_open: std::ptr::null_mut() };
    alloc_object(vm, th, std::mem::size_of::<ObjUpvalue>(), init)
}

/// A class with its root shape. `name` must be reachable from a root.
pub fn new_class(vm: &mut Vm, th: &mut Thread, name: *mut ObjString) -> Result<*mut ObjClass, Trap> {
    let init = ObjClass {
        obj: Obj::new(ObjKind::Class),
        name,
        root_shape: std::ptr::null_mut(),
        initializer: Value::NIL,
        field_hint: 0,
        methods: PtrMap::default(),
    };
    let class = alloc_object(vm, th, std::mem::size_of::<ObjClass>(), init)?;
    vm.temp_roots.push(Value::object(class as *mut Obj));
    let root = new_shape(vm, th, class, std::ptr::null_mut(), std::ptr::null_mut());
    vm.temp_roots.pop();
    // SAFETY: `class` was just allocated and is still live (it was rooted).
    unsafe { (*class).root_shape = root? };
    Ok(class)
}

/// A shape; `class`, `parent` and `key` must be reachable from roots.
pub fn new_shape(
    vm: &mut Vm,
    th: &mut Thread,
    class: *mut ObjClass,
    parent: *mut ObjShape,
    key: *mut ObjString,
) -> Result<*mut ObjShape, Trap> {
    // SAFETY: a non-null parent is a live shape.
    let field_count = if parent.is_null() { 0 } else { unsafe { (*parent).field_count + 1 } };
    let init = ObjShape { obj: Obj::new(ObjKind::Shape), class, parent, key, field_count, transitions: Vec::new() };
    alloc_object(vm, th, std::mem::size_of::<ObjShape>(), init)
}

/// An instance of `class` (which the caller keeps reachable). Generated
/// code has an inline copy of this for the common case
/// (`codegen/lower/alloc.rs`): keep the two in step.
pub fn new_instance(vm: &mut Vm, th: &mut Thread, class: *mut ObjClass) -> Result<*mut ObjInstance, Trap> {
    // SAFETY: the caller keeps `class` alive.
    let (shape, hint) = unsafe { ((*class).root_shape, (*class).field_hint) };
    let init = ObjInstance {
        obj: Obj::new(ObjKind::Instance),
        class,
        shape,
        fields: std::ptr::null_mut(),
        capacity: hint,
        inline_capacity: hint,
    };
    let instance = alloc_object(vm, th, ObjInstance::alloc_size(hint as usize), init)?;
    // SAFETY: `instance` is fresh; its inline slots follow the struct.
    unsafe { (*instance).fields = ObjInstance::inline_fields(instance) };
    Ok(instance)
}

pub fn new_bound_method(
    vm: &mut Vm,
    th: &mut Thread,
    receiver: Value,
    method: *mut ObjClosure,
) -> Result<*mut ObjBoundMethod, Trap> {
    let init = ObjBoundMethod { obj: Obj::new(ObjKind::BoundMethod), receiver, method };
    alloc_object(vm, th, std::mem::size_of::<ObjBoundMethod>(), init)
}

/// A native taking `min_arity..=max_arity` arguments.
pub fn new_native(
    vm: &mut Vm,
    th: &mut Thread,
    name: &'static str,
    (min_arity, max_arity): (u8, u8),
    function: NativeFn,
    intrinsic: Intrinsic,
) -> Result<*mut ObjNative, Trap> {
    debug_assert!(min_arity <= max_arity);
    let init = ObjNative { obj: Obj::new(ObjKind::Native), function, name, min_arity, max_arity, intrinsic };
    alloc_object(vm, th, std::mem::size_of::<ObjNative>(), init)
}

/// An array owning `items` (whose values the caller keeps reachable until this returns).
pub fn new_array(vm: &mut Vm, th: &mut Thread, items: Vec<Value>) -> Result<*mut ObjArray, Trap> {
    let size = std::mem::size_of::<ObjArray>();
    let buffer = items.capacity() * std::mem::size_of::<Value>();
    // Room for the object and its buffer together, so that the heap stays
    // within its limit once both are accounted.
    reserve(vm, th, size + buffer)?;
    let empty = ObjArray { obj: Obj::new(ObjKind::Array), ptr: std::ptr::NonNull::dangling().as_ptr(), len: 0, cap: 0 };
    let array = alloc_object(vm, th, size, empty)?;
    let mut items = std::mem::ManuallyDrop::new(items);
    // SAFETY: `array` was just allocated; it takes over the buffer of `items`.
    unsafe {
        (*array).ptr = items.as_mut_ptr();
        (*array).len = items.len();
        (*array).cap = items.capacity();
    }
    vm.heap.account(buffer);
    Ok(array)
}

/// Makes room in `array` (which the caller keeps reachable) for
/// `additional` more items, growing its buffer as `Vec` does (doubling);
/// raises `Out of memory.` when there is no room. May collect.
#[inline]
pub fn grow_array(vm: &mut Vm, th: &mut Thread, array: *mut ObjArray, additional: usize) -> Result<(), Trap> {
    // SAFETY: the caller keeps the array alive.
    let (len, cap) = unsafe { ((*array).len, (*array).cap) };
    if cap - len >= additional {
        return Ok(());
    }
    grow_array_buffer(vm, th, array, additional)
}

#[cold]
#[inline(never)]
fn grow_array_buffer(vm: &mut Vm, th: &mut Thread, array: *mut ObjArray, additional: usize) -> Result<(), Trap> {
    // SAFETY: the caller keeps the array alive.
    let (len, cap) = unsafe { ((*array).len, (*array).cap) };
    let Some(needed) = len.checked_add(additional) else {
        return Err(out_of_memory(th));
    };
    let new_cap = needed.max(cap.saturating_mul(2)).max(4);
    reserve(vm, th, (new_cap - cap).saturating_mul(std::mem::size_of::<Value>()))?;
    let attempt = |_: &mut Vm| {
        // SAFETY: as above; a collection does not move or free the array.
        unsafe { (*array).with_vec(|v| oom::try_reserve_exact(v, new_cap - len).ok()) }
    };
    if attempt(vm).is_none() {
        retry_after_collecting(vm, th, attempt)?;
    }
    // SAFETY: as above.
    let grown = unsafe { (*array).cap } - cap;
    vm.heap.account(grown * std::mem::size_of::<Value>());
    Ok(())
}

/// An empty map (it gets a buffer at its first insertion).
pub fn new_map(vm: &mut Vm, th: &mut Thread) -> Result<*mut ObjMap, Trap> {
    alloc_object(vm, th, std::mem::size_of::<ObjMap>(), ObjMap::new())
}

/// `map[key] = value` for a normalized key (`object::map::normalize_key`):
/// updates the value of a present key, else appends the key, rebuilding
/// the table first when it is full. Raises `Out of memory.` when there is
/// no room; may collect, so the caller keeps `map`, `key` and `value`
/// reachable.
#[inline]
pub fn map_set(vm: &mut Vm, th: &mut Thread, map: *mut ObjMap, key: Value, value: Value) -> Result<(), Trap> {
    // SAFETY: the caller keeps the map alive; a collection does not move
    // or change it.
    unsafe {
        if (*map).set_existing(key, value) {
            return Ok(());
        }
        if (*map).is_full() {
            grow_map(vm, th, map)?;
        }
        (*map).insert_new(key, value);
    }
    Ok(())
}

/// Makes room for one more entry in a full map: drops the tombstones in
/// place when that frees half of it, else moves the live entries to a
/// buffer twice their number (`map::target_capacity`).
#[cold]
#[inline(never)]
fn grow_map(vm: &mut Vm, th: &mut Thread, map: *mut ObjMap) -> Result<(), Trap> {
    // SAFETY: the caller keeps the map alive.
    let (live, cap) = unsafe { ((*map).live, (*map).cap) };
    let new_cap = map::target_capacity(live);
    if new_cap == cap {
        // SAFETY: as above.
        unsafe { (*map).compact_in_place() };
        return Ok(());
    }
    if new_cap > map::MAX_CAPACITY {
        return Err(out_of_memory(th));
    }
    let bytes = map::buffer_bytes(new_cap);
    reserve(vm, th, bytes)?;
    let buffer = match oom::fallible(|| map::alloc_buffer(new_cap)) {
        Some(buffer) => buffer,
        None => retry_after_collecting(vm, th, |_| oom::fallible(|| map::alloc_buffer(new_cap)))?,
    };
    // SAFETY: a fresh buffer for `new_cap >= live` entries; the map is alive.
    let freed = unsafe { (*map).replace_buffer(buffer, new_cap) };
    vm.heap.account(bytes);
    vm.heap.unaccount(freed);
    Ok(())
}

/// Removes `key` (normalized) from `map` and returns its value, if
/// present. When tombstones then dominate, the table is rebuilt smaller
/// (or in place when the system has no memory for a smaller buffer).
/// Never collects or raises.
pub fn map_remove(vm: &mut Vm, map: *mut ObjMap, key: Value) -> Option<Value> {
    // SAFETY: the caller keeps the map alive.
    unsafe {
        let value = (*map).remove(key)?;
        if (*map).tombstones_dominate() {
            let new_cap = map::target_capacity((*map).live);
            let buffer = if new_cap < (*map).cap { oom::fallible(|| map::alloc_buffer(new_cap)) } else { None };
            match buffer {
                Some(buffer) => {
                    let freed = (*map).replace_buffer(buffer, new_cap);
                    vm.heap.account(map::buffer_bytes(new_cap));
                    vm.heap.unaccount(freed);
                }
                None => (*map).compact_in_place(),
            }
        }
        Some(value)
    }
}

pub fn new_thread_object(
    vm: &mut Vm,
    th: &mut Thread,
    id: u64,
    shared: std::sync::Arc<ThreadShared>,
) -> Result<*mut ObjThread, Trap> {
    let init = ObjThread { obj: Obj::new(ObjKind::Thread), id, shared };
    alloc_object(vm, th, std::mem::size_of::<ObjThread>(), init)
}

/// Allocates a function object (used by the module loader).
pub fn new_function(vm: &mut Vm, th: &mut Thread, function: ObjFunction) -> Result<*mut ObjFunction, Trap> {
    alloc_object(vm, th, std::mem::size_of::<ObjFunction>(), function)
}

/// Frees one object and returns how many bytes it accounted for.
///
/// The sweep calls this for every dead object, so returning the memory of
/// an object that owns nothing else stays inline; dropping owned Rust
/// data, buffers and monitors is out of line (`free_owning_object`).
///
/// The address of a dead object with a monitor goes to `dead_monitors`.
///
/// # Safety
/// `obj` must be an unreachable object already unlinked from the heap list.
#[inline(always)]
pub unsafe fn free_object(pools: &mut pool::Pools, obj: *mut Obj, dead_monitors: &mut Vec<usize>) -> usize {
    // SAFETY: the caller guarantees `obj` is a dead object of its kind.
    unsafe {
        if !(*obj).has_monitor {
            let (size, owns_more) = footprint(obj);
            if !owns_more {
                pools.free(obj as *mut u8, size);
                return size;
            }
        }
        free_owning_object(pools, obj, dead_monitors)
    }
}

/// The size `obj` was allocated with (its own allocation, not separate
/// buffers), and whether it owns anything besides that allocation.
///
/// # Safety
/// `obj` must be a live or dead (not yet freed) object.
#[inline(always)]
unsafe fn footprint(obj: *mut Obj) -> (usize, bool) {
    use std::mem::size_of;
    // SAFETY: the kind tells the layout; the fields read are initialized.
    unsafe {
        match (*obj).kind {
            ObjKind::String => (ObjString::alloc_size((*(obj as *mut ObjString)).len), false),
            ObjKind::Function => (size_of::<ObjFunction>(), true),
            ObjKind::Closure => (ObjClosure::alloc_size((*(obj as *mut ObjClosure)).upvalue_count as usize), false),
            ObjKind::Upvalue => (size_of::<ObjUpvalue>(), false),
            ObjKind::Class => (size_of::<ObjClass>(), true),
            ObjKind::Instance => {
                let i = obj as *mut ObjInstance;
                (ObjInstance::alloc_size((*i).inline_capacity as usize), ObjInstance::has_external_fields(i))
            }
            ObjKind::BoundMethod => (size_of::<ObjBoundMethod>(), false),
            ObjKind::Native => (size_of::<ObjNative>(), false),
            ObjKind::Array => (size_of::<ObjArray>(), true),
            ObjKind::Shape => (size_of::<ObjShape>(), true),
            ObjKind::Thread => (size_of::<ObjThread>(), true),
            ObjKind::Map => (size_of::<ObjMap>(), (*(obj as *mut ObjMap)).cap != 0),
        }
    }
}

/// `free_object` for an object that owns more than its allocation (Rust
/// data, a field or item buffer, a monitor): drops that, then frees it.
///
/// # Safety
/// As for `free_object`.
#[inline(never)]
unsafe fn free_owning_object(pools: &mut pool::Pools, obj: *mut Obj, dead_monitors: &mut Vec<usize>) -> usize {
    // SAFETY: the caller guarantees `obj` is a dead object of its kind, so
    // its owned data can be dropped once.
    unsafe {
        let (size, _) = footprint(obj);
        let buffers = match (*obj).kind {
            ObjKind::Function => {
                let f = obj as *mut ObjFunction;
                std::ptr::drop_in_place(f);
                0
            }
            ObjKind::Class => {
                std::ptr::drop_in_place(obj as *mut ObjClass);
                0
            }
            ObjKind::Instance => {
                let i = obj as *mut ObjInstance;
                if ObjInstance::has_external_fields(i) {
                    free_field_buffer((*i).fields, (*i).capacity)
                } else {
                    0
                }
            }
            ObjKind::Array => {
                let a = &mut *(obj as *mut ObjArray);
                let buffer = a.cap * std::mem::size_of::<Value>();
                a.free_items();
                buffer
            }
            ObjKind::Shape => {
                std::ptr::drop_in_place(obj as *mut ObjShape);
                0
            }
            ObjKind::Map => (*(obj as *mut ObjMap)).free_buffer(),
            ObjKind::Thread => {
                std::ptr::drop_in_place(obj as *mut ObjThread);
                0
            }
            ObjKind::String | ObjKind::Closure | ObjKind::Upvalue | ObjKind::BoundMethod | ObjKind::Native => 0,
        };
        if (*obj).has_monitor {
            dead_monitors.push(obj as usize);
        }
        pools.free(obj as *mut u8, size);
        size + buffers
    }
}

/// Allocates a separate field buffer of `capacity` values (at least 1);
/// `None` when the system has no memory for it.
pub fn alloc_field_buffer(capacity: u32) -> Option<*mut Value> {
    debug_assert!(capacity > 0);
    let layout = layout(capacity as usize * std::mem::size_of::<Value>())?;
    // SAFETY: capacity is at least 1 when a buffer is needed, so the size is non-zero.
    let p = oom::fallible(|| unsafe { alloc(layout) }) as *mut Value;
    (!p.is_null()).then_some(p)
}

/// Frees a buffer from `alloc_field_buffer`; returns its size.
///
/// # Safety
/// `fields` must come from `alloc_field_buffer(capacity)` and not be used again.
pub unsafe fn free_field_buffer(fields: *mut Value, capacity: u32) -> usize {
    let size = capacity as usize * std::mem::size_of::<Value>();
    // `alloc_field_buffer` allocated it with this layout, so it exists.
    if let Some(layout) = layout(size) {
        // SAFETY: guaranteed by the caller.
        unsafe { dealloc(fields as *mut u8, layout) };
    }
    size
}
