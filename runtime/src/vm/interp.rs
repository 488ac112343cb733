//! The bytecode interpreter loop.
//!
//! `run` executes the frame on top of the thread's frame stack until that
//! frame returns, pushing and popping interpreted frames inline. Hot
//! instructions (locals, constants, number arithmetic and comparisons,
//! jumps, globals, cached property access, calls of interpreted closures)
//! are handled here; everything else goes to `ops`, `property` and `call`,
//! which generated code shares. The loop keeps `ip`, `sp` and the frame in
//! locals and writes them back (`save!`) before anything that can allocate,
//! raise, call or park the thread. Code is verified before it runs, so
//! operands are trusted here.

use super::call::{self, Called};
use super::error::raise;
use super::messages;
use super::{operators, property, tier, upvalue, Thread, Trap, Vm};
use crate::bytecode::opcode::{Capture, Op};
use crate::object::*;
use crate::sync::safepoint;
use crate::value::{Comparison, Value};

/// Runs the top frame of `th` to completion. On success its result is at
/// the frame's slot 0 and `th.sp` is just above it.
pub fn run(vm: &mut Vm, th: &mut Thread) -> Result<(), Trap> {
    if th.native_stack_exhausted() {
        return Err(raise(th, messages::STACK_OVERFLOW));
    }
    // SAFETY: the whole loop works on raw pointers into the current frame's
    // verified code, its constants and caches, and the thread's value stack.
    // The verifier proved every operand index, jump target, local slot and
    // stack depth in range, and `push_frame` checked that the frame's
    // maximum depth fits the stack, so every access below stays in bounds.
    // Objects reached through values are live because the values are on the
    // stack (a GC root) whenever anything can collect.
    unsafe {
        let entry = th.frames_top.sub(1);
        let mut frame = entry;
        let mut function: *mut ObjFunction;
        let mut closure: *mut ObjClosure;
        let mut code: *const u8;
        let mut ip: *const u8;
        let mut base: *mut Value;
        let mut sp: *mut Value = th.sp;

        macro_rules! load_frame {
            () => {{
                closure = (*frame).closure;
                function = (*closure).function;
                code = (*function).code;
                ip = code.add((*frame).pc as usize);
                base = (*frame).base;
            }};
        }
        macro_rules! read_u8 {
            () => {{
                let v = *ip;
                ip = ip.add(1);
                v
            }};
        }
        macro_rules! read_u32 {
            () => {{
                let v = (ip as *const u32).read_unaligned();
                ip = ip.add(4);
                v
            }};
        }
        // A cache operand: the first of its site's `CACHE_WAYS` entries.
        macro_rules! read_cache_site {
            () => {
                (*function).caches.add(read_u32!() as usize * CACHE_WAYS)
            };
        }
        macro_rules! push {
            ($v:expr) => {{
                *sp = $v;
                sp = sp.add(1);
            }};
        }
        macro_rules! pop {
            () => {{
                sp = sp.sub(1);
                *sp
            }};
        }
        macro_rules! peek {
            ($n:expr) => {
                *sp.sub($n + 1)
            };
        }
        macro_rules! save {
            () => {{
                (*frame).pc = ip.offset_from(code) as u32;
                th.sp = sp;
            }};
        }
        macro_rules! constant {
            ($i:expr) => {
                *(*function).constants.add($i as usize)
            };
        }
        macro_rules! string_constant {
            ($i:expr) => {
                constant!($i).as_obj() as *mut ObjString
            };
        }
        macro_rules! throw {
            ($msg:expr) => {{
                save!();
                return Err(raise(th, $msg));
            }};
        }
        // The current frame has returned (its result is in base[0]):
        // leave if it was the entry frame, else continue in the caller.
        macro_rules! frame_returned {
            () => {{
                sp = base.add(1);
                if frame == entry {
                    th.sp = sp;
                    return Ok(());
                }
                frame = frame.sub(1);
                load_frame!();
            }};
        }
        // After a slow path that may have pushed or popped frames.
        macro_rules! resume {
            () => {{
                frame = th.frames_top.sub(1);
                load_frame!();
                sp = th.sp;
            }};
        }
        macro_rules! poll {
            () => {
                if safepoint::requested() {
                    save!();
                    safepoint::park(vm, th);
                }
            };
        }
        macro_rules! binary_number {
            ($op:tt, $wrap:path) => {{
                let b = peek!(0);
                let a = peek!(1);
                if a.is_number() && b.is_number() {
                    sp = sp.sub(1);
                    *sp.sub(1) = $wrap(a.as_number() $op b.as_number());
                } else {
                    save!();
                    return Err(operators::numbers_error(th));
                }
            }};
        }
        macro_rules! compare {
            ($comparison:expr) => {{
                let b = peek!(0);
                let a = peek!(1);
                if a.is_number() && b.is_number() {
                    sp = sp.sub(1);
                    *sp.sub(1) = Value::bool($comparison.holds(a.as_number(), b.as_number()));
                } else {
                    // Strings, or the error.
                    save!();
                    operators::compare(th, $comparison)?;
                    sp = th.sp;
                }
            }};
        }
        // Calls the closure in the callee slot `argc + 1` below the top.
        macro_rules! call_closure {
            ($closure:expr, $argc:expr) => {{
                let callee: *mut ObjClosure = $closure;
                let target = (*callee).function;
                if (*target).native_entry.is_null() && (*target).arity as usize == $argc && !tier::wants(vm, target) {
                    save!();
                    let new_base = sp.sub($argc + 1);
                    frame = call::push_frame(th, callee, new_base)?;
                    closure = callee;
                    function = target;
                    code = (*function).code;
                    ip = code;
                    base = new_base;
                } else {
                    save!();
                    match call::call_closure(vm, th, callee, $argc)? {
                        Called::Frame => resume!(),
                        Called::Done => sp = th.sp,
                    }
                }
            }};
        }

        load_frame!();
        loop {
            th.instructions += 1;
            let op: Op = std::mem::transmute::<u8, Op>(read_u8!());
            match op {
                Op::Constant => {
                    let k = read_u32!();
                    push!(constant!(k));
                }
                Op::Nil => push!(Value::NIL),
                Op::True => push!(Value::TRUE),
                Op::False => push!(Value::FALSE),
                Op::Pop => sp = sp.sub(1),
                Op::GetLocal => {
                    let slot = read_u32!();
                    push!(*base.add(slot as usize));
                }
                Op::SetLocal => {
                    let slot = read_u32!();
                    *base.add(slot as usize) = peek!(0);
                }
                Op::GetGlobal => {
                    let slot = read_u32!() as usize;
                    let v = *vm.globals.values.as_ptr().add(slot);
                    if v == Value::UNDEFINED {
                        throw!(messages::undefined_variable(&vm.globals.name(slot)));
                    }
                    push!(v);
                }
                Op::DefineGlobal => {
                    let slot = read_u32!() as usize;
                    *vm.globals.values.as_mut_ptr().add(slot) = pop!();
                }
                Op::SetGlobal => {
                    let slot = read_u32!() as usize;
                    let p = vm.globals.values.as_mut_ptr().add(slot);
                    if *p == Value::UNDEFINED {
                        throw!(messages::undefined_variable(&vm.globals.name(slot)));
                    }
                    *p = peek!(0);
                }
                Op::GetUpvalue => {
                    let i = read_u32!() as usize;
                    push!(*(**ObjClosure::upvalues(closure).add(i)).location);
                }
                Op::SetUpvalue => {
                    let i = read_u32!() as usize;
                    *(**ObjClosure::upvalues(closure).add(i)).location = peek!(0);
                }
                Op::GetProperty => {
                    let name = read_u32!();
                    let cache = read_cache_site!();
                    let receiver = peek!(0);
                    if receiver.is_kind(ObjKind::Instance) {
                        let instance = receiver.as_obj() as *mut ObjInstance;
                        if let Some(way) = InlineCache::probe(cache, (*instance).shape) {
                            *sp.sub(1) = *(*instance).fields.add((*way).field_index());
                            continue;
                        }
                    }
                    save!();
                    property::get_property(vm, th, string_constant!(name), cache)?;
                    sp = th.sp;
                }
                Op::SetProperty => {
                    let name = read_u32!();
                    let cache = read_cache_site!();
                    let target = peek!(1);
                    if target.is_kind(ObjKind::Instance) {
                        let value = peek!(0);
                        if property::store_cached(cache, target.as_obj() as *mut ObjInstance, value) {
                            sp = sp.sub(1);
                            *sp.sub(1) = value;
                            continue;
                        }
                    }
                    save!();
                    property::set_property(vm, th, string_constant!(name), cache)?;
                    sp = th.sp;
                }
                Op::GetSuper => {
                    let name = read_u32!();
                    save!();
                    property::get_super(vm, th, string_constant!(name))?;
                    sp = th.sp;
                }
                Op::Equal => {
                    let b = pop!();
                    let a = peek!(0);
                    *sp.sub(1) = Value::bool(a.equals(b));
                }
                Op::NotEqual => {
                    let b = pop!();
                    let a = peek!(0);
                    *sp.sub(1) = Value::bool(!a.equals(b));
                }
                Op::Greater => compare!(Comparison::Greater),
                Op::Less => compare!(Comparison::Less),
                Op::GreaterEqual => compare!(Comparison::GreaterEqual),
                Op::LessEqual => compare!(Comparison::LessEqual),
                Op::Add => {
                    let b = peek!(0);
                    let a = peek!(1);
                    if a.is_number() && b.is_number() {
                        sp = sp.sub(1);
                        *sp.sub(1) = Value::number(a.as_number() + b.as_number());
                    } else {
                        save!();
                        operators::add(vm, th)?;
                        sp = th.sp;
                    }
                }
                Op::Subtract => binary_number!(-, Value::number),
                Op::Multiply => binary_number!(*, Value::number),
                Op::Divide => binary_number!(/, Value::number),
                Op::Modulo => binary_number!(%, Value::number),
                Op::Not => *sp.sub(1) = Value::bool(peek!(0).is_falsey()),
                Op::Negate => {
                    let v = peek!(0);
                    if !v.is_number() {
                        save!();
                        return Err(operators::number_error(th));
                    }
                    *sp.sub(1) = Value::number(-v.as_number());
                }
                Op::Print => {
                    save!();
                    operators::print(th)?;
                    sp = th.sp;
                }
                Op::Jump => {
                    let offset = read_u32!() as i32;
                    ip = ip.offset(offset as isize);
                }
                Op::JumpIfFalse => {
                    let offset = read_u32!() as i32;
                    if peek!(0).is_falsey() {
                        ip = ip.offset(offset as isize);
                    }
                }
                Op::Loop => {
                    let offset = read_u32!() as i32;
                    ip = ip.offset(offset as isize);
                    poll!();
                    if let Some(osr) = tier::on_back_edge(vm, th, function, ip.offset_from(code) as u32) {
                        // Continue this frame in machine code; it returns
                        // when the function does (frame popped, result in base[0]).
                        save!();
                        if osr(vm, th, base) != 0 {
                            return Err(Trap);
                        }
                        frame_returned!();
                    }
                }
                Op::Call => {
                    let argc = read_u8!() as usize;
                    let _cache = read_u32!();
                    poll!();
                    let callee = peek!(argc);
                    if callee.is_kind(ObjKind::Closure) {
                        call_closure!(callee.as_obj() as *mut ObjClosure, argc);
                    } else {
                        save!();
                        match call::call_value(vm, th, argc)? {
                            Called::Frame => resume!(),
                            Called::Done => sp = th.sp,
                        }
                    }
                }
                Op::Invoke => {
                    let name = read_u32!();
                    let argc = read_u8!() as usize;
                    let cache = read_cache_site!();
                    poll!();
                    let receiver = peek!(argc);
                    let way = if receiver.is_kind(ObjKind::Instance) {
                        InlineCache::probe(cache, (*(receiver.as_obj() as *mut ObjInstance)).shape)
                    } else {
                        None
                    };
                    if let Some(way) = way {
                        call_closure!(Value((*way).value).as_obj() as *mut ObjClosure, argc);
                    } else {
                        save!();
                        match call::invoke(vm, th, string_constant!(name), argc, cache)? {
                            Called::Frame => resume!(),
                            Called::Done => sp = th.sp,
                        }
                    }
                }
                Op::SuperInvoke => {
                    let name = read_u32!();
                    let argc = read_u8!() as usize;
                    poll!();
                    save!();
                    match call::super_invoke(vm, th, string_constant!(name), argc)? {
                        Called::Frame => resume!(),
                        Called::Done => sp = th.sp,
                    }
                }
                Op::Closure => {
                    let k = read_u32!();
                    let target = constant!(k).as_obj() as *mut ObjFunction;
                    save!();
                    operators::make_closure(vm, th, target, ip, base, closure)?;
                    ip = ip.add((*target).upvalue_count as usize * Capture::SIZE);
                    sp = th.sp;
                }
                Op::CloseUpvalue => {
                    upvalue::close_from(th, sp.sub(1));
                    sp = sp.sub(1);
                }
                Op::Return => {
                    let result = pop!();
                    upvalue::close_from(th, base);
                    th.frames_top = frame;
                    *base = result;
                    frame_returned!();
                }
                Op::Class => {
                    let name = read_u32!();
                    save!();
                    operators::make_class(vm, th, string_constant!(name))?;
                    sp = th.sp;
                }
                Op::Inherit => {
                    save!();
                    operators::inherit(th)?;
                    sp = th.sp;
                }
                Op::Method => {
                    let name = read_u32!();
                    save!();
                    operators::define_method(vm, th, string_constant!(name))?;
                    sp = th.sp;
                }
                Op::Array => {
                    let count = read_u32!() as usize;
                    save!();
                    operators::make_array(vm, th, count)?;
                    sp = th.sp;
                }
                Op::GetIndex => {
                    save!();
                    operators::get_index(vm, th)?;
                    sp = th.sp;
                }
                Op::SetIndex => {
                    save!();
                    operators::set_index(vm, th)?;
                    sp = th.sp;
                }
                Op::ForInStart => {
                    let slot = read_u32!();
                    save!();
                    super::iteration::start(th, base, slot)?;
                    sp = th.sp;
                }
                Op::ForInNext => {
                    let slot = read_u32!();
                    let offset = read_u32!() as i32;
                    save!();
                    let more = super::iteration::next(vm, th, base, slot)?;
                    sp = th.sp;
                    if !more {
                        ip = ip.offset(offset as isize);
                    }
                }
                Op::Spawn => {
                    let argc = read_u8!() as usize;
                    save!();
                    crate::sync::threads::spawn(vm, th, argc)?;
                    sp = th.sp;
                }
                Op::MonitorEnter => {
                    save!();
                    crate::sync::monitor::enter_from_stack(vm, th)?;
                    sp = th.sp;
                }
                Op::MonitorExit => {
                    save!();
                    crate::sync::monitor::exit_from_stack(vm, th)?;
                    sp = th.sp;
                }
            }
        }
    }
}
