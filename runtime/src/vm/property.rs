//! Property access through shapes, and the inline caches that remember it.
//!
//! Fast paths (a receiver whose shape matches the cache) are inlined by the
//! interpreter and by generated code; these functions are the slow paths that
//! look fields up in the shape, add fields (moving the instance to a child
//! shape), bind methods, and refill the cache.

use super::call::{find_method, undefined_property};
use super::error::raise;
use super::messages;
use super::{Thread, Trap, Vm};
use crate::heap::{
    alloc_field_buffer, free_field_buffer, new_bound_method, new_shape, reserve, retry_after_collecting,
};
use crate::object::*;
use crate::value::Value;

/// Instances get at most this many inline field slots from the class hint.
const MAX_FIELD_HINT: u32 = 16;

/// `receiver.name` with the receiver on top of the stack; replaces it with the result.
pub fn get_property(vm: &mut Vm, th: &mut Thread, name: *mut ObjString, cache: *mut InlineCache) -> Result<(), Trap> {
    let receiver = th.peek(0);
    let Some(instance) = receiver.as_kind::<ObjInstance>(ObjKind::Instance) else {
        return Err(raise(th, messages::PROPERTY_OF_NON_INSTANCE));
    };
    // SAFETY: the instance is live (on the stack); its shape describes its fields.
    unsafe {
        let shape = (*instance).shape;
        if let Some(index) = ObjShape::lookup(shape, name) {
            if !cache.is_null() {
                InlineCache::fill(cache, InlineCache::field(shape, index, std::ptr::null_mut()));
            }
            *th.sp.sub(1) = *(*instance).fields.add(index as usize);
            return Ok(());
        }
        bind_method(vm, th, (*instance).class, name)
    }
}

/// Replaces the receiver on top of the stack with `class.name` bound to it.
pub fn bind_method(vm: &mut Vm, th: &mut Thread, class: *mut ObjClass, name: *mut ObjString) -> Result<(), Trap> {
    let Some(method) = find_method(class, name) else {
        return Err(undefined_property(th, name));
    };
    let receiver = th.peek(0);
    let bound = new_bound_method(vm, th, receiver, method.as_obj() as *mut ObjClosure)?;
    // SAFETY: the receiver slot is still on the stack.
    unsafe { *th.sp.sub(1) = Value::object(bound as *mut Obj) };
    Ok(())
}

/// `super.name` with the stack holding `this` and the superclass; leaves the bound method.
pub fn get_super(vm: &mut Vm, th: &mut Thread, name: *mut ObjString) -> Result<(), Trap> {
    let Some(superclass) = th.peek(0).as_kind::<ObjClass>(ObjKind::Class) else {
        return Err(raise(th, messages::SUPERCLASS_NOT_CLASS));
    };
    th.pop();
    bind_method(vm, th, superclass, name)
}

/// The cached path of `instance.name = value`: when a way of cache site
/// `site` remembers the instance's shape, stores `value` in the field it
/// names and, for a way that adds the field, moves the instance to the
/// child shape (if its field storage has room). Returns false when no way
/// applies (the caller takes `set_property`). This is the one definition
/// of the property-add fast path; the lowering's `set_property` mirrors it.
///
/// # Safety
/// `site` must point at a cache site's `CACHE_WAYS` entries and
/// `instance` at a live instance.
#[inline(always)]
pub unsafe fn store_cached(site: *mut InlineCache, instance: *mut ObjInstance, value: Value) -> bool {
    // SAFETY: guaranteed by the caller; a way that remembers the shape
    // holds a field index valid for it (or for its child when adding).
    unsafe {
        let Some(way) = InlineCache::probe(site, (*instance).shape) else { return false };
        let way = &*way;
        let adds = !way.next_shape.is_null();
        if adds && way.field_index() >= (*instance).capacity as usize {
            return false;
        }
        *(*instance).fields.add(way.field_index()) = value;
        if adds {
            (*instance).shape = way.next_shape;
        }
        true
    }
}

/// `instance.name = value` with the stack holding instance and value; leaves the value.
pub fn set_property(vm: &mut Vm, th: &mut Thread, name: *mut ObjString, cache: *mut InlineCache) -> Result<(), Trap> {
    let Some(instance) = th.peek(1).as_kind::<ObjInstance>(ObjKind::Instance) else {
        return Err(raise(th, messages::FIELD_OF_NON_INSTANCE));
    };
    let value = th.peek(0);
    // SAFETY: instance and value are on the stack (rooted); shapes are live
    // while an instance or parent shape refers to them.
    unsafe {
        let shape = (*instance).shape;
        if let Some(index) = ObjShape::lookup(shape, name) {
            *(*instance).fields.add(index as usize) = value;
            if !cache.is_null() {
                InlineCache::fill(cache, InlineCache::field(shape, index, std::ptr::null_mut()));
            }
        } else {
            let child = match (*shape).transition(name) {
                Some(child) => child,
                None => {
                    let child = new_shape(vm, th, (*instance).class, shape, name)?;
                    (*shape).transitions.push((name, child));
                    child
                }
            };
            let index = (*shape).field_count;
            // The child shape is reachable (a transition of `shape`) if
            // this collects.
            ensure_capacity(vm, th, instance, index + 1)?;
            *(*instance).fields.add(index as usize) = value;
            (*instance).shape = child;
            let class = (*instance).class;
            (*class).field_hint = (*class).field_hint.max((index + 1).min(MAX_FIELD_HINT));
            if !cache.is_null() {
                InlineCache::fill(cache, InlineCache::field(shape, index, child));
            }
        }
        let top = th.sp.sub(2);
        *top = value;
        th.sp = top.add(1);
    }
    Ok(())
}

/// Grows the field storage of `instance` (which the caller keeps
/// reachable) to hold at least `needed` slots; may collect.
pub fn ensure_capacity(vm: &mut Vm, th: &mut Thread, instance: *mut ObjInstance, needed: u32) -> Result<(), Trap> {
    // SAFETY: the instance is live; the old storage holds `field_count`
    // initialized values, which are copied before it is released.
    unsafe {
        let old_capacity = (*instance).capacity;
        if needed <= old_capacity {
            return Ok(());
        }
        let capacity = old_capacity.saturating_mul(2).max(needed).max(4);
        reserve(vm, th, capacity as usize * std::mem::size_of::<Value>())?;
        let fields = match alloc_field_buffer(capacity) {
            Some(fields) => fields,
            None => retry_after_collecting(vm, th, |_| alloc_field_buffer(capacity))?,
        };
        let count = (*(*instance).shape).field_count as usize;
        std::ptr::copy_nonoverlapping((*instance).fields, fields, count);
        if ObjInstance::has_external_fields(instance) {
            vm.heap.unaccount(free_field_buffer((*instance).fields, old_capacity));
        }
        vm.heap.account(capacity as usize * std::mem::size_of::<Value>());
        (*instance).fields = fields;
        (*instance).capacity = capacity;
    }
    Ok(())
}
