//! Runtime helpers called by generated code (AOT and JIT alike).
//!
//! Each is an exported `extern "sysv64"` function taking the VM and thread
//! pointers first and returning a status (0: continue, 1: a runtime error is
//! pending and the caller must unwind). Before calling one, generated code
//! stores its frame's `pc` and the exact stack top, exactly like the
//! interpreter's `save!`, so every helper is a thin wrapper around the slow
//! path the interpreter uses too. Helpers that need instruction operands get
//! the instruction's offset and decode it from the current function.

pub use crate::bytecode::opcode::Helper;
use crate::bytecode::opcode::{decode_fixed, Instruction};
use crate::object::*;
use crate::value::{Comparison, Value};
use crate::vm::error::raise;
use crate::vm::messages;
use crate::vm::{call, interp, operators, property, Thread, Trap, Vm};

macro_rules! helpers {
    ($($variant:ident => $function:ident),* $(,)?) => {
        impl Helper {
            /// The exported symbol (AOT relocations name it).
            pub fn symbol(self) -> &'static str {
                match self { $(Helper::$variant => stringify!($function)),* }
            }

            /// The address (the JIT patches calls to it).
            pub fn address(self) -> usize {
                match self { $(Helper::$variant => $function as *const () as usize),* }
            }
        }
    };
}

// Every helper of the opcode table (`bytecode::opcode::Helper`) and its
// exported function; the `match`es are exhaustive, so a helper named in
// the table and not wired here does not compile.
helpers! {
    StackOverflow => tvm_rt_stack_overflow,
    UndefinedGlobal => tvm_rt_undefined_global,
    NumbersError => tvm_rt_numbers_error,
    NumberError => tvm_rt_number_error,
    Compare => tvm_rt_compare,
    Add => tvm_rt_add,
    Modulo => tvm_rt_modulo,
    GetProperty => tvm_rt_get_property,
    SetProperty => tvm_rt_set_property,
    GetSuper => tvm_rt_get_super,
    Call => tvm_rt_call,
    NewInstance => tvm_rt_new_instance,
    Invoke => tvm_rt_invoke,
    SuperInvoke => tvm_rt_super_invoke,
    Closure => tvm_rt_closure,
    CloseUpvalues => tvm_rt_close_upvalues,
    Print => tvm_rt_print,
    Class => tvm_rt_class,
    Inherit => tvm_rt_inherit,
    Method => tvm_rt_method,
    Array => tvm_rt_array,
    GetIndex => tvm_rt_get_index,
    SetIndex => tvm_rt_set_index,
    Spawn => tvm_rt_spawn,
    MonitorEnter => tvm_rt_monitor_enter,
    MonitorExit => tvm_rt_monitor_exit,
    Safepoint => tvm_rt_safepoint,
    ForInStart => tvm_rt_for_in_start,
    ForInNext => tvm_rt_for_in_next,
    TierUp => tvm_rt_tier_up,
    TierUpLoop => tvm_rt_tier_up_loop,
}

fn status(result: Result<(), Trap>) -> u64 {
    result.is_err() as u64
}

/// Runs `f` with the VM and thread behind the pointers generated code passes.
#[inline(always)]
fn with<R>(vm: *mut Vm, th: *mut Thread, f: impl FnOnce(&mut Vm, &mut Thread) -> R) -> R {
    // SAFETY: generated code passes the pointers it was entered with, which
    // come from live `&mut Vm` / `&mut Thread` of the calling thread.
    unsafe { f(&mut *vm, &mut *th) }
}

/// The current function and its instruction at `offset`.
fn instruction(th: &Thread, offset: u32) -> (*mut ObjFunction, Instruction) {
    // SAFETY: the current frame holds a live closure; generated code passes
    // the offset of a verified instruction of that closure's function.
    unsafe {
        let function = (*(*th.frames_top.sub(1)).closure).function;
        let code = std::slice::from_raw_parts((*function).code, (*function).proto.code.len());
        let ins = decode_fixed(code, offset as usize).expect("verified instruction");
        (function, ins)
    }
}

/// The string constant `k` of `function`.
fn name(function: *mut ObjFunction, k: i64) -> *mut ObjString {
    // SAFETY: verified code only names string constants here.
    unsafe { (*(*function).constants.add(k as usize)).as_obj() as *mut ObjString }
}

/// Finishes a call whose callee frame may have been pushed for the interpreter.
fn finish(vm: &mut Vm, th: &mut Thread, called: Result<call::Called, Trap>) -> u64 {
    match called {
        Ok(call::Called::Done) => 0,
        Ok(call::Called::Frame) => status(interp::run(vm, th)),
        Err(Trap) => 1,
    }
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_stack_overflow(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |_, th| {
        raise(th, messages::STACK_OVERFLOW);
        1
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_undefined_global(vm: *mut Vm, th: *mut Thread, slot: u64) -> u64 {
    with(vm, th, |vm, th| {
        raise(th, messages::undefined_variable(&vm.globals.name(slot as usize)));
        1
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_numbers_error(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |_, th| {
        operators::numbers_error(th);
        1
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_number_error(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |_, th| {
        operators::number_error(th);
        1
    })
}

/// A comparison whose operands are not two numbers: compares two strings
/// or raises (`comparison` is a `Comparison` as `u8`).
#[no_mangle]
pub extern "sysv64" fn tvm_rt_compare(vm: *mut Vm, th: *mut Thread, comparison: u32) -> u64 {
    with(vm, th, |_, th| {
        let comparison = Comparison::from_u8(comparison as u8).expect("generated code passes a comparison");
        status(operators::compare(th, comparison))
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_add(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |vm, th| status(operators::add(vm, th)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_modulo(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |_, th| status(operators::modulo(th)))
}

/// The running function (hot helpers get operands directly, not by decoding).
fn current_function(th: &Thread) -> *mut ObjFunction {
    // SAFETY: the current frame holds a live closure.
    unsafe { (*(*th.frames_top.sub(1)).closure).function }
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_get_property(vm: *mut Vm, th: *mut Thread, k: u32, cache: *mut InlineCache) -> u64 {
    with(vm, th, |vm, th| {
        let name = name(current_function(th), k as i64);
        status(property::get_property(vm, th, name, cache))
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_set_property(vm: *mut Vm, th: *mut Thread, k: u32, cache: *mut InlineCache) -> u64 {
    with(vm, th, |vm, th| {
        let name = name(current_function(th), k as i64);
        status(property::set_property(vm, th, name, cache))
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_get_super(vm: *mut Vm, th: *mut Thread, k: u32) -> u64 {
    with(vm, th, |vm, th| status(property::get_super(vm, th, name(current_function(th), k as i64))))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_call(
    vm: *mut Vm,
    th: *mut Thread,
    base: *mut Value,
    argc: u32,
    cache: *mut InlineCache,
) -> u64 {
    with(vm, th, |vm, th| {
        // SAFETY: generated code passes the callee slot of this call.
        let callee = unsafe { *base };
        let result = call::call_from_native(vm, th, base, argc as usize);
        // After the call: a first call may have compiled the callee.
        call::cache_callee(callee, argc as usize, cache);
        status(result)
    })
}

/// Replaces the class in `slot` with a new instance of it (the fast path of
/// calling a class whose initializer is compiled).
#[no_mangle]
pub extern "sysv64" fn tvm_rt_new_instance(vm: *mut Vm, th: *mut Thread, slot: *mut Value) -> u64 {
    with(vm, th, |vm, th| {
        // SAFETY: generated code passes the callee slot, which holds a class.
        let class = unsafe { (*slot).as_obj() } as *mut ObjClass;
        match crate::heap::new_instance(vm, th, class) {
            Ok(instance) => {
                // SAFETY: as above.
                unsafe { *slot = Value::object(instance as *mut Obj) };
                0
            }
            Err(Trap) => 1,
        }
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_invoke(vm: *mut Vm, th: *mut Thread, k: u32, argc: u32, cache: *mut InlineCache) -> u64 {
    with(vm, th, |vm, th| {
        let name = name(current_function(th), k as i64);
        let called = call::invoke(vm, th, name, argc as usize, cache);
        finish(vm, th, called)
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_super_invoke(vm: *mut Vm, th: *mut Thread, k: u32, argc: u32) -> u64 {
    with(vm, th, |vm, th| {
        let name = name(current_function(th), k as i64);
        let called = call::super_invoke(vm, th, name, argc as usize);
        finish(vm, th, called)
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_closure(vm: *mut Vm, th: *mut Thread, offset: u32) -> u64 {
    with(vm, th, |vm, th| {
        let (f, ins) = instruction(th, offset);
        // SAFETY: the current frame is the function's; the descriptors follow
        // the verified instruction.
        unsafe {
            let frame = &*th.frames_top.sub(1);
            let target = (*(*f).constants.add(ins.args[0] as usize)).as_obj() as *mut ObjFunction;
            let captures = (*f).code.add(ins.captures_start());
            status(operators::make_closure(vm, th, target, captures, frame.base, frame.closure))
        }
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_close_upvalues(vm: *mut Vm, th: *mut Thread, from: *mut Value) -> u64 {
    with(vm, th, |_, th| {
        crate::vm::upvalue::close_from(th, from);
        0
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_print(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |_, th| status(operators::print(th)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_class(vm: *mut Vm, th: *mut Thread, offset: u32) -> u64 {
    with(vm, th, |vm, th| {
        let (f, ins) = instruction(th, offset);
        status(operators::make_class(vm, th, name(f, ins.args[0])))
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_inherit(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |_, th| status(operators::inherit(th)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_method(vm: *mut Vm, th: *mut Thread, offset: u32) -> u64 {
    with(vm, th, |vm, th| {
        let (f, ins) = instruction(th, offset);
        status(operators::define_method(vm, th, name(f, ins.args[0])))
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_array(vm: *mut Vm, th: *mut Thread, count: u64) -> u64 {
    with(vm, th, |vm, th| status(operators::make_array(vm, th, count as usize)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_get_index(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |vm, th| status(operators::get_index(vm, th)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_set_index(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |vm, th| status(operators::set_index(vm, th)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_spawn(vm: *mut Vm, th: *mut Thread, argc: u64) -> u64 {
    with(vm, th, |vm, th| status(crate::sync::threads::spawn(vm, th, argc as usize)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_monitor_enter(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |vm, th| status(crate::sync::monitor::enter_from_stack(vm, th)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_monitor_exit(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |vm, th| status(crate::sync::monitor::exit_from_stack(vm, th)))
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_safepoint(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |vm, th| {
        crate::sync::safepoint::park(vm, th);
        0
    })
}

#[no_mangle]
pub extern "sysv64" fn tvm_rt_for_in_start(vm: *mut Vm, th: *mut Thread, base: *mut Value, slot: u32) -> u64 {
    with(vm, th, |_, th| status(crate::vm::iteration::start(th, base, slot)))
}

/// Returns 0 with the next element pushed, 2 with nil pushed when the
/// iteration is over (the caller jumps), 1 on a runtime error.
#[no_mangle]
pub extern "sysv64" fn tvm_rt_for_in_next(vm: *mut Vm, th: *mut Thread, base: *mut Value, slot: u32) -> u64 {
    with(vm, th, |vm, th| match crate::vm::iteration::next(vm, th, base, slot) {
        Ok(true) => 0,
        Ok(false) => 2,
        Err(Trap) => 1,
    })
}

/// Ahead-of-time code that counts its calls found its function hot: the
/// optimizing tier compiles it now, from the feedback its inline caches
/// gathered; this call goes on in the baseline code, later ones enter the
/// optimized code. Never raises.
#[no_mangle]
pub extern "sysv64" fn tvm_rt_tier_up(vm: *mut Vm, th: *mut Thread) -> u64 {
    with(vm, th, |vm, th| {
        // SAFETY: the current frame holds a live closure (the caller's).
        let function = unsafe { (*(*th.frames_top.sub(1)).closure).function };
        super::jit::optimize_hot(vm, function);
        0
    })
}

/// As `tvm_rt_tier_up`, at a hot back-edge to the loop at bytecode offset
/// `header`: returns the optimized code's OSR entry for that loop (the
/// caller continues its frame there), or 0 to go on in the baseline code.
/// Unlike the other helpers it returns an address, not a status.
#[no_mangle]
pub extern "sysv64" fn tvm_rt_tier_up_loop(vm: *mut Vm, th: *mut Thread, header: u32) -> u64 {
    with(vm, th, |vm, th| {
        // SAFETY: the current frame holds a live closure (the caller's).
        let function = unsafe { (*(*th.frames_top.sub(1)).closure).function };
        super::jit::optimize_hot(vm, function);
        super::jit::optimized_loop_entry(function, header) as u64
    })
}
