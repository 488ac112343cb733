//! Functions, closures, upvalues, natives and the inline caches of code.
//!
//! `ObjFunction` is a loaded function prototype: its bytecode, constants as
//! values, inline caches and, once compiled, its native entry point. The hot
//! fields come first and are read by generated code at fixed offsets.

use super::{Obj, ObjShape, ObjString};
use crate::bytecode::module::{FunctionKind, FunctionProto};
use crate::value::Value;
use crate::vm::{Thread, Trap, Vm};
use std::sync::Arc;

/// One entry ("way") of an inline cache. What `key` and `value` hold
/// depends on the instruction the site belongs to (the verifier gives each
/// site one instruction), and each kind has its constructor:
///
/// | site | `key` (null: empty) | `value` |
/// |---|---|---|
/// | `GET_PROPERTY`, `SET_PROPERTY` (`field`) | the receiver's shape | the field index |
/// | `INVOKE` (`method`) | the receiver's shape | the method (a closure value) |
/// | `CALL` (`callee`) | the callee object: a closure, or a class whose `init` is compiled | the callee value |
///
/// The GC keeps `key` alive through the cache (and the method or callee
/// with it: a class holds its methods).
#[repr(C)]
#[derive(Copy, Clone)]
pub struct InlineCache {
    pub key: *mut Obj,
    pub value: u64,
    /// For a `SET_PROPERTY` that adds a field: the shape after the addition.
    pub next_shape: *mut ObjShape,
    /// For calls (`CALL`, `INVOKE`): the machine-code entry of the cached
    /// callee, known to take this call site's argument count (or null).
    pub entry: *const u8,
    /// For `INVOKE`: what the cached method computes when it is trivial
    /// (`vm::trivial_method`), so that compiled code can skip the call.
    pub trivial: Trivial,
}

/// A method whose whole effect is its result, known without running it:
/// `this`, a field of `this` or a constant (see `vm::trivial_method`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Trivial {
    /// One of the `TRIVIAL_*` kinds.
    pub kind: u32,
    /// Value-stack bytes a call of the method would claim (its frame's
    /// slots), for the overflow check the call would make.
    pub stack_bytes: u32,
    /// `TRIVIAL_FIELD`: the field index; `TRIVIAL_CONSTANT`: the value
    /// (a number, nil, true or false: nothing the GC must trace).
    pub operand: u64,
}

pub const TRIVIAL_NONE: u32 = 0;
pub const TRIVIAL_THIS: u32 = 1;
pub const TRIVIAL_FIELD: u32 = 2;
pub const TRIVIAL_CONSTANT: u32 = 3;

impl Trivial {
    pub const NONE: Trivial = Trivial { kind: TRIVIAL_NONE, stack_bytes: 0, operand: 0 };
}

/// Entries ("ways") per cache site, consecutive in `caches`: a property
/// access or invocation that sees two shapes (the leaves and the inner
/// nodes of a tree, say) keeps both. `CALL` sites use the first way only.
pub const CACHE_WAYS: usize = 2;

impl InlineCache {
    /// An entry that matches nothing. Its `value` is an object value with
    /// a null pointer, which no program value can be: with 0 there, a `CALL`
    /// of the number 0 would "hit" an empty call cache in native code.
    pub const EMPTY: InlineCache = InlineCache {
        key: std::ptr::null_mut(),
        value: crate::value::OBJ_TAG,
        next_shape: std::ptr::null_mut(),
        entry: std::ptr::null(),
        trivial: Trivial::NONE,
    };

    /// A field-access entry.
    pub fn field(shape: *mut ObjShape, index: u32, next_shape: *mut ObjShape) -> InlineCache {
        InlineCache {
            key: shape as *mut Obj,
            value: index as u64,
            next_shape,
            entry: std::ptr::null(),
            trivial: Trivial::NONE,
        }
    }

    /// An `INVOKE` entry: receivers of `shape` call `method` (whose fast
    /// entry is `entry`, or null), which may be trivial.
    pub fn method(shape: *mut ObjShape, method: Value, entry: *const u8, trivial: Trivial) -> InlineCache {
        InlineCache { key: shape as *mut Obj, value: method.0, next_shape: std::ptr::null_mut(), entry, trivial }
    }

    /// A `CALL` entry: the callee value `callee` (object `object`), whose
    /// compiled fast entry is `entry`. Generated code fills the same three
    /// fields when it caches a compiled closure (`lower/opcodes.rs`, `call`).
    pub fn callee(object: *mut Obj, callee: Value, entry: *const u8) -> InlineCache {
        InlineCache { key: object, value: callee.0, next_shape: std::ptr::null_mut(), entry, trivial: Trivial::NONE }
    }

    /// The field index of a property site's entry.
    pub fn field_index(&self) -> usize {
        self.value as usize
    }

    /// The way of site `site` that remembers `shape`, if one does.
    ///
    /// # Safety
    /// `site` must point at the first of `CACHE_WAYS` entries.
    #[inline(always)]
    pub unsafe fn probe(site: *mut InlineCache, shape: *mut ObjShape) -> Option<*mut InlineCache> {
        // SAFETY: the site has CACHE_WAYS entries.
        unsafe {
            let key = shape as *mut Obj;
            if (*site).key == key {
                Some(site)
            } else if (*site.add(1)).key == key {
                Some(site.add(1))
            } else {
                None
            }
        }
    }

    /// Remembers `entry` at site `site`: in the way that already holds its
    /// shape or is empty, else in the second way (the first stays stable
    /// when a site sees more shapes than it has ways).
    ///
    /// # Safety
    /// As for `probe`.
    pub unsafe fn fill(site: *mut InlineCache, entry: InlineCache) {
        // SAFETY: the site has CACHE_WAYS entries.
        unsafe {
            let first = &mut *site;
            if first.key.is_null() || first.key == entry.key {
                *first = entry;
            } else {
                *site.add(1) = entry;
            }
        }
    }
}

/// Machine code that a function owns (a tier's; see `vm::tier`): the
/// function only keeps it and drops it, which frees it.
pub trait CompiledCode: Send {}

/// Where a loaded function came from (shared by the functions of one module).
pub struct ModuleInfo {
    /// The module's source files (`FunctionProto::source` indexes them).
    pub sources: Vec<String>,
    /// Identifies the module among those loaded into this process.
    pub id: u32,
}

#[repr(C)]
pub struct ObjFunction {
    pub obj: Obj,
    pub arity: u32,
    /// Operand stack slots the function needs (from the verifier).
    pub max_stack: u32,
    pub upvalue_count: u32,
    /// Calls plus loop back-edges seen by the interpreter (`vm::tier`).
    pub hotness: u32,
    /// Calls left before ahead-of-time code that counts its calls asks the
    /// optimizing tier for code (`vm::tier::arm_call_counter`); 0 when not
    /// armed (it then wraps around and the request is ignored).
    pub opt_countdown: u32,
    pub code: *const u8,
    pub constants: *const Value,
    pub caches: *mut InlineCache,
    /// Machine code entry (`vm::call::NativeEntry`), or null.
    pub native_entry: *const u8,
    /// The entry compiled callers use (a fixed offset into the code), or null.
    pub fast_entry: *const u8,
    /// The printed name (`<fn NAME>`), null for the script.
    pub name: *mut ObjString,
    pub kind: FunctionKind,
    /// `vm::tier::TIER_*`: may be compiled, compiled, declined.
    pub tier_state: u8,
    /// Some frame of this function ran in the interpreter (statistics).
    pub ran_interpreted: bool,
    /// Index of this function in its module.
    pub index: u32,
    pub proto: FunctionProto,
    pub constant_values: Vec<Value>,
    pub cache_storage: Vec<InlineCache>,
    pub module: Arc<ModuleInfo>,
    /// OSR entries of the compiled code: (loop header offset, entry).
    pub osr_entries: Vec<(u32, *const u8)>,
    /// Machine code a tier made for this function and owns through it:
    /// dropped (unmapped, unregistered from gdb) with the function.
    pub machine_code: Option<Box<dyn CompiledCode>>,
    /// Objects that a tier's code names by address (the shapes optimized
    /// code compares receivers with), kept alive with the function.
    pub code_roots: Vec<*mut Obj>,
}

impl ObjFunction {
    /// The bytecode offset of an instruction pointer into this function's code.
    pub fn offset_of(&self, ip: *const u8) -> usize {
        ip as usize - self.code as usize
    }

    /// The name of the file the function is in.
    pub fn source_name(&self) -> &str {
        self.module.sources.get(self.proto.source as usize).map(String::as_str).unwrap_or("")
    }

    pub fn line_at(&self, offset: usize) -> u32 {
        self.proto.line_at(offset)
    }

    /// The column of the instruction at `offset` (0: none recorded).
    pub fn column_at(&self, offset: usize) -> u32 {
        self.proto.column_at(offset)
    }
}

#[repr(C)]
pub struct ObjClosure {
    pub obj: Obj,
    pub function: *mut ObjFunction,
    pub upvalue_count: u32,
    // `upvalue_count` pointers to `ObjUpvalue` follow.
}

impl ObjClosure {
    pub fn alloc_size(upvalue_count: usize) -> usize {
        std::mem::size_of::<ObjClosure>() + upvalue_count * std::mem::size_of::<*mut ObjUpvalue>()
    }

    /// Pointer to the first upvalue slot.
    #[inline(always)]
    pub fn upvalues(this: *mut ObjClosure) -> *mut *mut ObjUpvalue {
        // SAFETY: the upvalue array directly follows the struct in the same
        // allocation (see `alloc_size`); computing the address is in bounds.
        unsafe { this.add(1) as *mut *mut ObjUpvalue }
    }
}

#[repr(C)]
pub struct ObjUpvalue {
    pub obj: Obj,
    /// Points into a thread's value stack while open, at `closed` once closed.
    pub location: *mut Value,
    pub closed: Value,
    /// Next open upvalue of the owning thread (sorted by stack address, descending).
    pub next_open: *mut ObjUpvalue,
}

/// A native function: gets the arguments, returns a value or raises a runtime error.
pub type NativeFn = fn(&mut Vm, &mut Thread, &[Value]) -> Result<Value, Trap>;

#[repr(C)]
pub struct ObjNative {
    pub obj: Obj,
    pub function: NativeFn,
    pub name: &'static str,
    /// The fewest arguments it takes.
    pub min_arity: u8,
    /// The most arguments it takes (`min_arity` for most natives).
    pub max_arity: u8,
    /// Which operation generated code may compute in place of calling it
    /// (`layout::NATIVE_INTRINSIC`).
    pub intrinsic: Intrinsic,
}

impl ObjNative {
    /// Whether it takes `argc` arguments: one subtraction and one unsigned
    /// comparison, as cheap as the test of an exact count.
    #[inline(always)]
    pub fn takes(&self, argc: usize) -> bool {
        argc.wrapping_sub(self.min_arity as usize) <= (self.max_arity - self.min_arity) as usize
    }
}

/// A native whose result generated code computes inline when its operands
/// allow, falling back to the call: the bitwise operations in both tiers
/// (`codegen/lower/intrinsic.rs`), `len` and `sqrt` (which deoptimize to
/// make the call) and `push` (which makes it) in optimized code. The
/// call site checks that the callee is an `ObjNative` with this id, so a
/// program that defines its own `band` gets its own function. The numbers
/// are ABI between the runtime and generated code (compared as a byte).
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Intrinsic {
    None = 0,
    Band = 1,
    Bor = 2,
    Bxor = 3,
    Bnot = 4,
    Shl = 5,
    Shr = 6,
    Ushr = 7,
    /// `len` of an array, a string or a map.
    Len = 8,
    /// `push` onto an array with room for the item.
    Push = 9,
    /// `sqrt` of a number.
    Sqrt = 10,
}

impl Intrinsic {
    /// Whether it is one of the bitwise operations on 32-bit integers.
    pub fn is_bitwise(self) -> bool {
        !matches!(self, Intrinsic::None | Intrinsic::Len | Intrinsic::Push | Intrinsic::Sqrt)
    }

    /// How many arguments the operation takes (calls with another count
    /// are never inlined).
    pub fn arity(self) -> u32 {
        match self {
            Intrinsic::None => u32::MAX,
            Intrinsic::Bnot | Intrinsic::Len | Intrinsic::Sqrt => 1,
            _ => 2,
        }
    }
}
