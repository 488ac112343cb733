//! Classes, instances and bound methods.
//!
//! Instances keep their fields in a slot array indexed through their shape
//! (`shape.rs`); the array starts inline in the instance allocation, sized by
//! the class's `field_hint`, and moves to a separate buffer when it grows.

use super::{Obj, ObjClosure, ObjShape, ObjString};
use crate::value::Value;

/// A map keyed by interned strings, whose identity is their equality
/// (hashbrown with its default hasher, foldhash).
pub type PtrMap<V> = hashbrown::HashMap<*mut ObjString, V>;

#[repr(C)]
pub struct ObjClass {
    pub obj: Obj,
    pub name: *mut ObjString,
    /// The empty shape of this class's instances.
    pub root_shape: *mut ObjShape,
    /// The `init` method, or nil.
    pub initializer: Value,
    /// Inline field slots to give new instances (grows with observed use).
    pub field_hint: u32,
    pub methods: PtrMap<Value>,
}

#[repr(C)]
pub struct ObjInstance {
    pub obj: Obj,
    pub class: *mut ObjClass,
    pub shape: *mut ObjShape,
    /// Field slots: inline (right after this struct) or a separate buffer.
    pub fields: *mut Value,
    pub capacity: u32,
    pub inline_capacity: u32,
    // `inline_capacity` values follow.
}

impl ObjInstance {
    pub fn alloc_size(inline_capacity: usize) -> usize {
        std::mem::size_of::<ObjInstance>() + inline_capacity * std::mem::size_of::<Value>()
    }

    /// Address of the inline field storage.
    pub fn inline_fields(this: *mut ObjInstance) -> *mut Value {
        // SAFETY: the inline slots directly follow the struct in its allocation.
        unsafe { this.add(1) as *mut Value }
    }

    /// Whether fields moved out to a separate buffer (which the sweep must free).
    pub fn has_external_fields(this: *mut ObjInstance) -> bool {
        // SAFETY: `this` is a live instance (callers hold it on a root).
        unsafe { (*this).fields != Self::inline_fields(this) }
    }
}

#[repr(C)]
pub struct ObjBoundMethod {
    pub obj: Obj,
    pub receiver: Value,
    pub method: *mut ObjClosure,
}
