//! Shapes (hidden classes): the field layout shared by instances.
//!
//! A shape is the class's root shape plus a sequence of field names; each
//! addition of a field moves an instance to a child shape found through the
//! parent's transition list. Field `i` of an instance is named by the key of
//! the ancestor at depth `i + 1`. Inline caches key on shape pointers, so a
//! shape with the same pointer always means the same class and layout.

use super::{Obj, ObjClass, ObjString};

#[repr(C)]
pub struct ObjShape {
    pub obj: Obj,
    pub class: *mut ObjClass,
    pub parent: *mut ObjShape,
    /// The field this shape adds (null for a root shape).
    pub key: *mut ObjString,
    pub field_count: u32,
    pub transitions: Vec<(*mut ObjString, *mut ObjShape)>,
}

impl ObjShape {
    /// The slot index of field `name`, if instances of this shape have it.
    pub fn lookup(this: *const ObjShape, name: *mut ObjString) -> Option<u32> {
        let mut shape = this;
        // SAFETY: shapes are kept alive by their instances and children, and
        // the parent chain always ends at a root shape with a null key.
        unsafe {
            while !(*shape).key.is_null() {
                if (*shape).key == name {
                    return Some((*shape).field_count - 1);
                }
                shape = (*shape).parent;
            }
        }
        None
    }

    /// The child shape that adds `name`, if it was created before.
    pub fn transition(&self, name: *mut ObjString) -> Option<*mut ObjShape> {
        self.transitions.iter().find(|(key, _)| *key == name).map(|&(_, shape)| shape)
    }
}
