//! NaN-boxed values: the one 64-bit representation every backend shares.
//!
//! A value is either an IEEE double, one of a few singletons (nil, false,
//! true, the "undefined global" marker) or a pointer to a heap object. Native
//! code relies on the exact bit patterns defined here (see `QNAN`, `TAG_*`
//! and `OBJ_TAG`), so they are part of the ABI between the lowering and the
//! runtime. This module defines the header every object starts with
//! (`Obj`: its kind and GC bits), since a value's kind is read from it; the
//! object layouts themselves are `object`'s.

/// The quiet-NaN bits: a value with all of them set is not a number.
pub const QNAN: u64 = 0x7ffc_0000_0000_0000;
/// Set on top of `QNAN` for object pointers.
pub const SIGN_BIT: u64 = 0x8000_0000_0000_0000;
/// Mask and tag of object pointers.
pub const OBJ_TAG: u64 = SIGN_BIT | QNAN;
pub const TAG_NIL: u64 = 1;
pub const TAG_FALSE: u64 = 2;
pub const TAG_TRUE: u64 = 3;
/// Marks a global slot that has not been defined yet; never visible to programs.
pub const TAG_UNDEFINED: u64 = 4;

/// One boxed value.
#[repr(transparent)]
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Value(pub u64);

impl Value {
    pub const NIL: Value = Value(QNAN | TAG_NIL);
    pub const FALSE: Value = Value(QNAN | TAG_FALSE);
    pub const TRUE: Value = Value(QNAN | TAG_TRUE);
    pub const UNDEFINED: Value = Value(QNAN | TAG_UNDEFINED);

    #[inline(always)]
    pub fn number(n: f64) -> Value {
        Value(n.to_bits())
    }

    #[inline(always)]
    pub fn bool(b: bool) -> Value {
        if b {
            Value::TRUE
        } else {
            Value::FALSE
        }
    }

    #[inline(always)]
    pub fn object(ptr: *mut Obj) -> Value {
        Value(OBJ_TAG | ptr as u64)
    }

    #[inline(always)]
    pub fn is_number(self) -> bool {
        self.0 & QNAN != QNAN
    }

    #[inline(always)]
    pub fn as_number(self) -> f64 {
        f64::from_bits(self.0)
    }

    #[inline(always)]
    pub fn is_nil(self) -> bool {
        self == Value::NIL
    }

    #[inline(always)]
    pub fn is_bool(self) -> bool {
        self.0 | 1 == Value::TRUE.0
    }

    #[inline(always)]
    pub fn is_obj(self) -> bool {
        self.0 & OBJ_TAG == OBJ_TAG
    }

    #[inline(always)]
    pub fn as_obj(self) -> *mut Obj {
        (self.0 & !OBJ_TAG) as *mut Obj
    }

    /// Lox truthiness: only nil and false are false.
    #[inline(always)]
    pub fn is_falsey(self) -> bool {
        self == Value::NIL || self == Value::FALSE
    }

    /// The object kind when this is an object.
    #[inline(always)]
    pub fn obj_kind(self) -> Option<ObjKind> {
        if self.is_obj() {
            // SAFETY: object values always point at a live object header
            // (the GC keeps everything reachable from a value alive).
            Some(unsafe { (*self.as_obj()).kind })
        } else {
            None
        }
    }

    #[inline(always)]
    pub fn is_kind(self, kind: ObjKind) -> bool {
        self.obj_kind() == Some(kind)
    }

    /// The object pointer cast to a concrete object type, when the kind matches.
    #[inline(always)]
    pub fn as_kind<T>(self, kind: ObjKind) -> Option<*mut T> {
        if self.is_kind(kind) {
            Some(self.as_obj() as *mut T)
        } else {
            None
        }
    }

    /// Lox equality: numbers by IEEE comparison, everything else by identity
    /// (strings are interned, so identity is content equality).
    #[inline(always)]
    pub fn equals(self, other: Value) -> bool {
        if self.is_number() && other.is_number() {
            self.as_number() == other.as_number()
        } else {
            self.0 == other.0
        }
    }
}

/// A comparison (`>`, `<`, `>=`, `<=`), as clox defines it for numbers:
/// `a >= b` is `!(a < b)` and `a <= b` is `!(a > b)`, so both are true when
/// either operand is NaN. Two strings compare bytewise (lexicographic, a
/// prefix first); any other pair of operands is the runtime error
/// `Operands must be numbers.`. This is the one definition: the
/// interpreter and the slow path of generated code (`vm::operators::compare`)
/// call `holds` and `holds_for_strings`, the lowering mirrors `holds` with
/// `ucomisd` and the matching condition (`codegen/lower/opcodes.rs`,
/// `comparison`), and `tests/programs/rules.tvm` checks every tier on the
/// edge cases.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Comparison {
    Greater = 0,
    Less = 1,
    GreaterEqual = 2,
    LessEqual = 3,
}

impl Comparison {
    /// The comparison numbered `n` (`as u8`), as generated code passes it.
    pub fn from_u8(n: u8) -> Option<Comparison> {
        [Comparison::Greater, Comparison::Less, Comparison::GreaterEqual, Comparison::LessEqual]
            .get(n as usize)
            .copied()
    }

    /// The comparison of two strings' bytes: lexicographic, byte by byte
    /// as unsigned numbers, a proper prefix before the longer string.
    #[inline]
    pub fn holds_for_strings(self, a: &[u8], b: &[u8]) -> bool {
        match self {
            Comparison::Greater => a > b,
            Comparison::Less => a < b,
            Comparison::GreaterEqual => a >= b,
            Comparison::LessEqual => a <= b,
        }
    }

    #[inline(always)]
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Comparison::Greater => a > b,
            Comparison::Less => a < b,
            Comparison::GreaterEqual => !(a < b),
            Comparison::LessEqual => !(a > b),
        }
    }
}

// Generated code relies on these bit patterns: `value - NIL` is 0 or 1
// exactly for nil and false (falsiness in two instructions), a boolean is
// `FALSE + condition`, and `TRUE | 1 == TRUE` tells booleans apart.
const _: () = assert!(TAG_FALSE == TAG_NIL + 1 && TAG_TRUE == TAG_FALSE + 1 && TAG_TRUE & 1 == 1);
const _: () = assert!(QNAN & OBJ_TAG == QNAN && TAG_UNDEFINED > TAG_TRUE);

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            v if v.is_number() => f.write_str(&crate::number::format_number(v.as_number())),
            Value::NIL => f.write_str("nil"),
            Value::TRUE => f.write_str("true"),
            Value::FALSE => f.write_str("false"),
            Value::UNDEFINED => f.write_str("<undefined>"),
            v => write!(f, "<{:?} {:p}>", v.obj_kind(), v.as_obj()),
        }
    }
}

/// Kinds of heap objects.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ObjKind {
    String = 0,
    Function = 1,
    Closure = 2,
    Upvalue = 3,
    Class = 4,
    Instance = 5,
    BoundMethod = 6,
    Native = 7,
    Array = 8,
    Shape = 9,
    Thread = 10,
    Map = 11,
}

/// The header every heap object starts with.
#[repr(C)]
pub struct Obj {
    /// Next object in the heap's list of all objects (the sweep walks it).
    pub next: *mut Obj,
    pub kind: ObjKind,
    /// Mark bit of the current collection.
    pub marked: bool,
    /// A monitor for this object exists in the monitor table.
    pub has_monitor: bool,
    _pad: u8,
    /// Strings: the content hash. Others: unused.
    pub hash: u32,
}

impl Obj {
    pub fn new(kind: ObjKind) -> Obj {
        Obj { next: std::ptr::null_mut(), kind, marked: false, has_monitor: false, _pad: 0, hash: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singletons_are_not_numbers() {
        for v in [Value::NIL, Value::TRUE, Value::FALSE, Value::UNDEFINED] {
            assert!(!v.is_number());
            assert!(!v.is_obj());
        }
        assert!(Value::TRUE.is_bool() && Value::FALSE.is_bool());
        assert!(!Value::NIL.is_bool());
    }

    #[test]
    fn nan_results_stay_numbers() {
        let zero = std::hint::black_box(0.0_f64);
        let nan = Value::number(zero / zero);
        assert!(nan.is_number());
        assert!(Value::number(f64::NAN).is_number());
        assert!(Value::number(-f64::NAN).is_number());
        assert!(!nan.equals(nan));
    }
}
