//! Heap object layouts: the common header and one file per object kind.
//!
//! Every heap object starts with `Obj`, is `#[repr(C)]` (native code reads
//! some fields at fixed offsets, see `layout`), is allocated by the `heap::new_*` constructors
//! and freed only by the GC's sweep. This module defines shapes of memory and
//! small accessors; allocation policy and marking live in `heap`.

pub mod array;
pub mod class;
pub mod function;
pub mod map;
pub mod shape;
pub mod string;
pub mod thread;

pub use array::ObjArray;
pub use class::{ObjBoundMethod, ObjClass, ObjInstance};
pub use function::{
    CompiledCode, InlineCache, Intrinsic, NativeFn, ObjClosure, ObjFunction, ObjNative, ObjUpvalue, Trivial,
    CACHE_WAYS, TRIVIAL_CONSTANT, TRIVIAL_FIELD, TRIVIAL_NONE, TRIVIAL_THIS,
};
pub use map::ObjMap;
pub use shape::ObjShape;
pub use string::ObjString;
pub use thread::{ObjThread, ThreadShared};

pub use crate::value::{Obj, ObjKind};

/// Field offsets that generated code depends on.
pub mod layout {
    use super::*;
    use std::mem::offset_of;

    pub const OBJ_KIND: usize = offset_of!(Obj, kind);
    pub const CLOSURE_FUNCTION: usize = offset_of!(ObjClosure, function);
    pub const CLOSURE_UPVALUES: usize = std::mem::size_of::<ObjClosure>();
    pub const UPVALUE_LOCATION: usize = offset_of!(ObjUpvalue, location);
    pub const FUNCTION_ARITY: usize = offset_of!(ObjFunction, arity);
    pub const FUNCTION_NATIVE: usize = offset_of!(ObjFunction, native_entry);
    pub const FUNCTION_OPT_COUNTDOWN: usize = offset_of!(ObjFunction, opt_countdown);
    pub const FUNCTION_FAST: usize = offset_of!(ObjFunction, fast_entry);
    pub const FUNCTION_MAX_STACK: usize = offset_of!(ObjFunction, max_stack);
    pub const FUNCTION_CONSTANTS: usize = offset_of!(ObjFunction, constants);
    pub const FUNCTION_CACHES: usize = offset_of!(ObjFunction, caches);
    pub const INSTANCE_CAPACITY: usize = offset_of!(ObjInstance, capacity);
    pub const INSTANCE_INLINE_CAPACITY: usize = offset_of!(ObjInstance, inline_capacity);
    pub const INSTANCE_CLASS: usize = offset_of!(ObjInstance, class);
    /// The inline field slots follow the struct.
    pub const INSTANCE_INLINE_FIELDS: usize = std::mem::size_of::<ObjInstance>();
    pub const OBJ_NEXT: usize = offset_of!(Obj, next);
    /// The header's second word (kind, mark, monitor, hash) holds the kind
    /// number alone in a new object (`Obj::new`).
    pub const OBJ_HEADER_WORD: usize = offset_of!(Obj, kind);
    const _: () = assert!(
        OBJ_HEADER_WORD == 8
            && offset_of!(Obj, marked) == 9
            && offset_of!(Obj, has_monitor) == 10
            && offset_of!(Obj, hash) == 12
            && std::mem::size_of::<Obj>() == 16
    );
    pub const CLASS_ROOT_SHAPE: usize = offset_of!(ObjClass, root_shape);
    pub const CLASS_FIELD_HINT: usize = offset_of!(ObjClass, field_hint);
    pub const CLASS_INITIALIZER: usize = offset_of!(ObjClass, initializer);
    pub const CACHE_NEXT_SHAPE: usize = offset_of!(InlineCache, next_shape);
    pub const CACHE_ENTRY: usize = offset_of!(InlineCache, entry);
    pub const INSTANCE_SHAPE: usize = offset_of!(ObjInstance, shape);
    pub const INSTANCE_FIELDS: usize = offset_of!(ObjInstance, fields);
    /// The `Intrinsic` byte of a native (compared by intrinsic call sites).
    pub const NATIVE_INTRINSIC: usize = offset_of!(ObjNative, intrinsic);
    const _: () = assert!(std::mem::size_of::<Intrinsic>() == 1);
    pub const ARRAY_PTR: usize = offset_of!(ObjArray, ptr);
    pub const ARRAY_LEN: usize = offset_of!(ObjArray, len);
    pub const ARRAY_CAP: usize = offset_of!(ObjArray, cap);
    pub const STRING_LENGTH: usize = offset_of!(ObjString, len);
    /// What the inline map lookup reads (`codegen/lower/map_index.rs`).
    pub const MAP_ENTRIES: usize = offset_of!(ObjMap, entries);
    pub const MAP_INDEX: usize = offset_of!(ObjMap, index);
    pub const MAP_LIVE: usize = offset_of!(ObjMap, live);
    pub const MAP_MASK: usize = offset_of!(ObjMap, mask);
    pub const MAP_SHIFT: usize = offset_of!(ObjMap, shift);
    /// For iteration in generated code: entries written and the key-set version.
    pub const MAP_USED: usize = offset_of!(ObjMap, used);
    pub const MAP_VERSION: usize = offset_of!(ObjMap, version);
    pub const MAP_ENTRY_SIZE: usize = std::mem::size_of::<map::Entry>();
    pub const MAP_ENTRY_VALUE: usize = offset_of!(map::Entry, value);
    const _: () = assert!(MAP_ENTRY_SIZE == 16 && offset_of!(map::Entry, key) == 0 && MAP_ENTRY_VALUE == 8);
    pub const CACHE_KEY: usize = offset_of!(InlineCache, key);
    pub const CACHE_VALUE: usize = offset_of!(InlineCache, value);
    pub const CACHE_TRIVIAL_KIND: usize = offset_of!(InlineCache, trivial) + offset_of!(Trivial, kind);
    pub const CACHE_TRIVIAL_STACK: usize = offset_of!(InlineCache, trivial) + offset_of!(Trivial, stack_bytes);
    pub const CACHE_TRIVIAL_OPERAND: usize = offset_of!(InlineCache, trivial) + offset_of!(Trivial, operand);
    pub const CACHE_SIZE: usize = std::mem::size_of::<InlineCache>();
    /// Distance between two cache sites (each has `CACHE_WAYS` entries).
    pub const CACHE_STRIDE: usize = CACHE_SIZE * super::CACHE_WAYS;

    /// Offsets, kind numbers and value bit patterns the gdb
    /// pretty-printer needs (name, value): the script gets them injected.
    pub fn for_debugger() -> Vec<(&'static str, u64)> {
        use crate::value as v;
        let constants = [
            ("QNAN", v::QNAN),
            ("OBJ_TAG", v::OBJ_TAG),
            ("POINTER_MASK", !v::OBJ_TAG),
            ("TAG_NIL", v::TAG_NIL),
            ("TAG_FALSE", v::TAG_FALSE),
            ("TAG_TRUE", v::TAG_TRUE),
            ("TAG_UNDEFINED", v::TAG_UNDEFINED),
            ("TOMBSTONE", map::TOMBSTONE.0),
        ];
        let offsets: Vec<(&'static str, usize)> = vec![
            ("OBJ_KIND", OBJ_KIND),
            ("STRING_LEN", offset_of!(ObjString, len)),
            ("STRING_DATA", std::mem::size_of::<ObjString>()),
            ("FUNCTION_NAME", offset_of!(ObjFunction, name)),
            ("CLOSURE_FUNCTION", CLOSURE_FUNCTION),
            ("BOUND_METHOD", offset_of!(ObjBoundMethod, method)),
            ("CLASS_NAME", offset_of!(ObjClass, name)),
            ("INSTANCE_CLASS", offset_of!(ObjInstance, class)),
            ("ARRAY_PTR", ARRAY_PTR),
            ("ARRAY_LEN", ARRAY_LEN),
            ("MAP_ENTRIES", MAP_ENTRIES),
            ("MAP_USED", MAP_USED),
            ("MAP_ENTRY_SIZE", MAP_ENTRY_SIZE),
            ("MAP_ENTRY_VALUE", MAP_ENTRY_VALUE),
            ("THREAD_ID", offset_of!(ObjThread, id)),
            ("INSTANCE_SHAPE", INSTANCE_SHAPE),
            ("INSTANCE_FIELDS", INSTANCE_FIELDS),
            ("SHAPE_PARENT", offset_of!(ObjShape, parent)),
            ("SHAPE_KEY", offset_of!(ObjShape, key)),
            ("SHAPE_FIELD_COUNT", offset_of!(ObjShape, field_count)),
            ("VM_GLOBALS_BASE", crate::vm::layout::VM_GLOBALS_BASE),
            ("VM_GLOBALS_NAMES", crate::vm::layout::VM_GLOBALS_NAMES),
            ("VM_GLOBALS_COUNT", crate::vm::layout::VM_GLOBALS_COUNT),
            ("KIND_STRING", ObjKind::String as usize),
            ("KIND_FUNCTION", ObjKind::Function as usize),
            ("KIND_CLOSURE", ObjKind::Closure as usize),
            ("KIND_CLASS", ObjKind::Class as usize),
            ("KIND_INSTANCE", ObjKind::Instance as usize),
            ("KIND_BOUND_METHOD", ObjKind::BoundMethod as usize),
            ("KIND_NATIVE", ObjKind::Native as usize),
            ("KIND_ARRAY", ObjKind::Array as usize),
            ("KIND_THREAD", ObjKind::Thread as usize),
            ("KIND_MAP", ObjKind::Map as usize),
        ];
        constants.into_iter().chain(offsets.into_iter().map(|(k, n)| (k, n as u64))).collect()
    }
}
