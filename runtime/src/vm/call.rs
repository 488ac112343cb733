//! Calls: pushing frames, calling classes, bound methods, natives and
//! native code, and invoking methods.
//!
//! The interpreter inlines the common case (an interpreted closure with the
//! right arity); everything else comes here. Generated code calls
//! `call_from_native`, which finishes an interpreted call by running the
//! interpreter until that frame returns.

use super::error::raise;
use super::messages;
use super::{interp, Frame, Thread, Trap, Vm};
use crate::heap::new_instance;
use crate::object::*;
use crate::value::Value;

/// The signature of generated code for a function.
pub type NativeEntry = unsafe extern "sysv64" fn(*mut Vm, *mut Thread, *mut Value, *mut ObjClosure) -> u64;

/// What a call did.
pub enum Called {
    /// An interpreted frame was pushed; the interpreter continues in it.
    Frame,
    /// The call completed; its result is at the callee slot and `th.sp` is just above.
    Done,
}

/// Pushes a frame for `closure` with slots starting at `base`, or raises
/// `Stack overflow.` when the frame or value stack is exhausted.
#[inline(always)]
pub fn push_frame(th: &mut Thread, closure: *mut ObjClosure, base: *mut Value) -> Result<*mut Frame, Trap> {
    // SAFETY: `closure` is live (it sits in the callee slot); frames_top is
    // below frames_limit after the check, so the write is in bounds.
    unsafe {
        let max_stack = (*(*closure).function).max_stack as usize;
        if th.frames_top == th.frames_limit || (th.stack_limit.offset_from(base) as usize) < max_stack + 1 {
            return Err(raise(th, messages::STACK_OVERFLOW));
        }
        super::tier::note_interpreted((*closure).function);
        let frame = th.frames_top;
        frame.write(Frame { closure, base, pc: 0, flags: 0 });
        th.frames_top = frame.add(1);
        th.calls += 1;
        Ok(frame)
    }
}

/// Calls the value below the `argc` arguments at the top of the stack.
pub fn call_value(vm: &mut Vm, th: &mut Thread, argc: usize) -> Result<Called, Trap> {
    // SAFETY: the verifier guarantees argc + 1 values on the stack.
    let slot = unsafe { th.sp.sub(argc + 1) };
    // SAFETY: as above.
    let callee = unsafe { *slot };
    match callee.obj_kind() {
        Some(ObjKind::Closure) => call_closure(vm, th, callee.as_obj() as *mut ObjClosure, argc),
        Some(ObjKind::BoundMethod) => {
            let bound = callee.as_obj() as *mut ObjBoundMethod;
            // SAFETY: `bound` is live (it is in the callee slot until overwritten,
            // and the method is reachable from the receiver's class).
            unsafe {
                *slot = (*bound).receiver;
                call_closure(vm, th, (*bound).method, argc)
            }
        }
        Some(ObjKind::Class) => call_class(vm, th, callee.as_obj() as *mut ObjClass, argc),
        Some(ObjKind::Native) => call_native(vm, th, callee.as_obj() as *mut ObjNative, argc),
        _ => Err(raise(th, messages::NOT_CALLABLE)),
    }
}

fn arity_error(th: &mut Thread, expected: u32, got: usize) -> Trap {
    raise(th, messages::arity(expected, got))
}

/// Calls a closure whose callee slot is `argc + 1` below the top.
pub fn call_closure(vm: &mut Vm, th: &mut Thread, closure: *mut ObjClosure, argc: usize) -> Result<Called, Trap> {
    // SAFETY: the closure is live (callee slot); its function is live.
    let function = unsafe { (*closure).function };
    // SAFETY: as above.
    let arity = unsafe { (*function).arity };
    if arity as usize != argc {
        return Err(arity_error(th, arity, argc));
    }
    super::tier::on_call(vm, th, function);
    // SAFETY: as above (compiling may have set the entry).
    let entry = unsafe { (*function).native_entry };
    // SAFETY: the verifier guarantees argc + 1 values on the stack.
    let base = unsafe { th.sp.sub(argc + 1) };
    if !entry.is_null() {
        call_native_code(vm, th, entry, base, closure)?;
        return Ok(Called::Done);
    }
    push_frame(th, closure, base)?;
    Ok(Called::Frame)
}

/// Runs generated code for the callee at `base`; the result lands in `base[0]`.
#[inline]
pub fn call_native_code(
    vm: &mut Vm,
    th: &mut Thread,
    entry: *const u8,
    base: *mut Value,
    closure: *mut ObjClosure,
) -> Result<(), Trap> {
    // SAFETY: non-null entries are set only to code generated for this
    // function with the `NativeEntry` signature.
    let code: NativeEntry = unsafe { std::mem::transmute::<*const u8, NativeEntry>(entry) };
    // SAFETY: generated code follows the frame protocol documented in
    // `frame.rs` and only touches the VM through runtime helpers.
    let status = unsafe { code(vm, th, base, closure) };
    if status != 0 {
        return Err(Trap);
    }
    // SAFETY: the result is at base[0].
    th.sp = unsafe { base.add(1) };
    Ok(())
}

fn call_class(vm: &mut Vm, th: &mut Thread, class: *mut ObjClass, argc: usize) -> Result<Called, Trap> {
    let instance = new_instance(vm, th, class)?;
    // SAFETY: the callee slot is argc + 1 below the top; the class is live.
    unsafe {
        let slot = th.sp.sub(argc + 1);
        *slot = Value::object(instance as *mut Obj);
        let init = (*class).initializer;
        if init.is_nil() {
            if argc != 0 {
                return Err(arity_error(th, 0, argc));
            }
            th.sp = slot.add(1);
            return Ok(Called::Done);
        }
        call_closure(vm, th, init.as_obj() as *mut ObjClosure, argc)
    }
}

fn call_native(vm: &mut Vm, th: &mut Thread, native: *mut ObjNative, argc: usize) -> Result<Called, Trap> {
    // SAFETY: the native is live (callee slot); natives are immutable.
    let (takes, function) = unsafe { ((*native).takes(argc), (*native).function) };
    if !takes {
        // SAFETY: as above.
        let (min, max) = unsafe { ((*native).min_arity, (*native).max_arity) };
        return Err(raise(th, messages::arity_range(min as u32, max as u32, argc)));
    }
    // SAFETY: the arguments are the argc values below the top.
    let (slot, args) = unsafe {
        let slot = th.sp.sub(argc + 1);
        (slot, std::slice::from_raw_parts(slot.add(1), argc))
    };
    th.calls += 1;
    let result = function(vm, th, args)?;
    // SAFETY: the callee slot is still in the stack; natives leave sp as it was.
    unsafe {
        *slot = result;
        th.sp = slot.add(1);
    }
    Ok(Called::Done)
}

/// Looks up method `name` in `class`.
pub fn find_method(class: *mut ObjClass, name: *mut ObjString) -> Option<Value> {
    // SAFETY: the class is live.
    unsafe { (*class).methods.get(&name).copied() }
}

/// `receiver.name(args)` where the receiver is `argc + 1` below the top.
pub fn invoke(
    vm: &mut Vm,
    th: &mut Thread,
    name: *mut ObjString,
    argc: usize,
    cache: *mut InlineCache,
) -> Result<Called, Trap> {
    // SAFETY: the verifier guarantees argc + 1 values on the stack.
    let slot = unsafe { th.sp.sub(argc + 1) };
    // SAFETY: as above.
    let receiver = unsafe { *slot };
    let Some(instance) = receiver.as_kind::<ObjInstance>(ObjKind::Instance) else {
        return Err(raise(th, messages::METHOD_OF_NON_INSTANCE));
    };
    // SAFETY: the instance is live (it is on the stack).
    unsafe {
        let shape = (*instance).shape;
        if let Some(index) = ObjShape::lookup(shape, name) {
            *slot = *(*instance).fields.add(index as usize);
            return call_value(vm, th, argc);
        }
        let class = (*instance).class;
        match find_method(class, name) {
            Some(method) => {
                if !cache.is_null() {
                    let closure = method.as_obj() as *mut ObjClosure;
                    let entry = compiled_entry(closure, argc);
                    let trivial = super::trivial_method::describe(closure, shape, argc);
                    InlineCache::fill(cache, InlineCache::method(shape, method, entry, trivial));
                }
                call_closure(vm, th, method.as_obj() as *mut ObjClosure, argc)
            }
            None => Err(undefined_property(th, name)),
        }
    }
}

/// `super.name(args)`: the superclass is on top of the arguments.
pub fn super_invoke(vm: &mut Vm, th: &mut Thread, name: *mut ObjString, argc: usize) -> Result<Called, Trap> {
    let Some(superclass) = th.peek(0).as_kind::<ObjClass>(ObjKind::Class) else {
        return Err(raise(th, messages::SUPERCLASS_NOT_CLASS));
    };
    th.pop();
    match find_method(superclass, name) {
        Some(method) => call_closure(vm, th, method.as_obj() as *mut ObjClosure, argc),
        None => Err(undefined_property(th, name)),
    }
}

/// The fast machine-code entry of `closure` (for compiled callers) when
/// it takes `argc` arguments.
pub fn compiled_entry(closure: *mut ObjClosure, argc: usize) -> *const u8 {
    // SAFETY: the closure and its function are live (held by the caller).
    unsafe {
        let function = (*closure).function;
        if (*function).arity as usize == argc {
            (*function).fast_entry
        } else {
            std::ptr::null()
        }
    }
}

/// Remembers a callee at a `CALL` site (used by generated code): a
/// compiled closure, or a class whose compiled initializer takes `argc`
/// arguments. The cached object (in `shape`) stays alive with the cache.
pub fn cache_callee(callee: Value, argc: usize, cache: *mut InlineCache) {
    let (object, closure) = match callee.obj_kind() {
        Some(ObjKind::Closure) => (callee.as_obj(), callee.as_obj() as *mut ObjClosure),
        Some(ObjKind::Class) => {
            // SAFETY: the class is live (the caller still holds the callee value).
            let init = unsafe { (*(callee.as_obj() as *mut ObjClass)).initializer };
            match init.as_kind::<ObjClosure>(ObjKind::Closure) {
                Some(init) => (callee.as_obj(), init),
                None => return,
            }
        }
        _ => return,
    };
    let entry = compiled_entry(closure, argc);
    if !entry.is_null() && !cache.is_null() {
        // SAFETY: the cache belongs to the calling function's call site.
        unsafe {
            *cache = InlineCache::callee(object, callee, entry);
        }
    }
}

pub fn undefined_property(th: &mut Thread, name: *mut ObjString) -> Trap {
    // SAFETY: names are live constants.
    let text = unsafe { (*name).to_string_lossy() };
    raise(th, messages::undefined_property(&text))
}

/// Finishes a call begun by generated code: calls the callee at `base` with
/// `argc` arguments and, for an interpreted callee, runs it to completion.
pub fn call_from_native(vm: &mut Vm, th: &mut Thread, base: *mut Value, argc: usize) -> Result<(), Trap> {
    // SAFETY: generated code passes the callee slot of a call with argc arguments.
    th.sp = unsafe { base.add(argc + 1) };
    match call_value(vm, th, argc)? {
        Called::Done => Ok(()),
        Called::Frame => interp::run(vm, th),
    }
}
