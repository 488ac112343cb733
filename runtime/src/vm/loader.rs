//! Turns a verified `Module` into heap objects ready to run.
//!
//! The loader links the module's global names to program slots (rewriting
//! the global operands of its code), creates one `ObjFunction` per prototype
//! with its constants as values and empty inline caches, and returns the
//! script's closure. It never runs code.

use super::{Thread, Trap, Vm};
use crate::bytecode::module::{Constant, Module};
use crate::bytecode::opcode::Operand;
use crate::bytecode::verify::{verify_module, VerifyError};
use crate::bytecode::walk::instructions;
use crate::heap::{new_closure, new_function, new_string};
use crate::object::function::ModuleInfo;
use crate::object::*;
use crate::value::Value;
use std::sync::Arc;

/// Why a module could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// It is not valid bytecode (nothing was loaded).
    Invalid(VerifyError),
    /// Out of memory: the runtime error is pending in `Thread::error`.
    Trap(Trap),
}

impl From<Trap> for LoadError {
    fn from(trap: Trap) -> LoadError {
        LoadError::Trap(trap)
    }
}

/// Verifies and loads `module`; returns the script closure, pushed on `th`'s stack.
pub fn load(vm: &mut Vm, th: &mut Thread, module: Module) -> Result<*mut ObjClosure, LoadError> {
    load_with_natives(vm, th, module, &[], 0)
}

/// Like `load`, with ahead-of-time machine code: `natives[i]` is the entry
/// of function `i` (null when it has none), and its fast entry is
/// `fast_entry_offset` bytes in (the code generator's layout).
pub fn load_with_natives(
    vm: &mut Vm,
    th: &mut Thread,
    mut module: Module,
    natives: &[*const u8],
    fast_entry_offset: usize,
) -> Result<*mut ObjClosure, LoadError> {
    let verified = verify_module(&module).map_err(LoadError::Invalid)?;
    let identity = link_globals(vm, th, &mut module)?;
    if !natives.is_empty() && !identity {
        // Machine code addresses globals by the module's slot numbers.
        let e = VerifyError("native code needs the module's global slots, which are taken".into());
        return Err(LoadError::Invalid(e));
    }
    let id = vm.modules_loaded;
    vm.modules_loaded += 1;
    let info = Arc::new(ModuleInfo { sources: module.sources.clone(), id });
    let roots_mark = vm.temp_roots.len();
    let script = make_functions(vm, th, module, &verified.max_stack, (natives, fast_entry_offset), info);
    vm.temp_roots.truncate(roots_mark);
    Ok(script?)
}

/// Creates the module's functions (rooted in `vm.temp_roots`, which the
/// caller truncates) and pushes the script closure.
fn make_functions(
    vm: &mut Vm,
    th: &mut Thread,
    mut module: Module,
    max_stack: &[u32],
    (natives, fast_entry_offset): (&[*const u8], usize),
    info: Arc<ModuleInfo>,
) -> Result<*mut ObjClosure, Trap> {
    let mut functions = Vec::with_capacity(module.functions.len());
    let protos = std::mem::take(&mut module.functions);
    for (index, proto) in protos.into_iter().enumerate() {
        let name = if index == 0 {
            std::ptr::null_mut()
        } else {
            let name = new_string(vm, th, proto.short_name.as_bytes())?;
            vm.temp_roots.push(Value::object(name as *mut Obj));
            name
        };
        let caches = vec![InlineCache::EMPTY; proto.cache_count as usize * CACHE_WAYS];
        let code = proto.code.as_ptr();
        let f = new_function(
            vm,
            th,
            ObjFunction {
                obj: Obj::new(ObjKind::Function),
                arity: proto.arity as u32,
                max_stack: max_stack[index],
                upvalue_count: proto.upvalue_count,
                hotness: 0,
                opt_countdown: 0,
                code,
                constants: std::ptr::null(),
                caches: std::ptr::null_mut(),
                native_entry: std::ptr::null(),
                fast_entry: std::ptr::null(),
                name,
                kind: proto.kind,
                tier_state: super::tier::TIER_NONE,
                ran_interpreted: false,
                index: index as u32,
                proto,
                constant_values: Vec::new(),
                cache_storage: caches,
                module: info.clone(),
                osr_entries: Vec::new(),
                machine_code: None,
                code_roots: Vec::new(),
            },
        )?;
        // SAFETY: `f` was just allocated; its vectors are owned by it.
        unsafe { (*f).caches = (*f).cache_storage.as_mut_ptr() };
        vm.temp_roots.push(Value::object(f as *mut Obj));
        functions.push(f);
    }
    for &f in &functions {
        fill_constants(vm, th, f, &functions)?;
    }
    for (&f, &entry) in functions.iter().zip(natives) {
        if !entry.is_null() {
            // `f` is rooted; the entry is code generated for it.
            super::tier::install_native(vm, f, entry, fast_entry_offset);
        }
    }
    let script = new_closure(vm, th, functions[0])?;
    th.push(Value::object(script as *mut Obj));
    Ok(script)
}

fn fill_constants(
    vm: &mut Vm,
    th: &mut Thread,
    f: *mut ObjFunction,
    functions: &[*mut ObjFunction],
) -> Result<(), Trap> {
    // SAFETY: `f` and every function in `functions` are rooted in temp_roots;
    // constants are written into `f`'s own vector before its pointer is taken.
    unsafe {
        let count = (*f).proto.constants.len();
        (*f).constant_values = vec![Value::NIL; count];
        (*f).constants = (*f).constant_values.as_ptr();
        for i in 0..count {
            let value = match &(&(*f).proto.constants)[i] {
                Constant::Number(n) => Value::number(*n),
                Constant::String(s) => {
                    let bytes = s.clone();
                    Value::object(new_string(vm, th, &bytes)? as *mut Obj)
                }
                Constant::Function(target) => Value::object(functions[*target as usize] as *mut Obj),
            };
            (&mut (*f).constant_values)[i] = value;
        }
    }
    Ok(())
}

/// Maps the module's global names to program slots and rewrites the code's
/// global operands to those slots. Returns whether the slots were the
/// module's own numbers (nothing rewritten).
fn link_globals(vm: &mut Vm, th: &mut Thread, module: &mut Module) -> Result<bool, Trap> {
    let mut slots = Vec::with_capacity(module.globals.len());
    for name in &module.globals {
        let s = new_string(vm, th, name.as_bytes())?;
        vm.temp_roots.push(Value::object(s as *mut Obj));
        slots.push(vm.globals.slot_for(s));
        vm.temp_roots.pop();
    }
    let identity = slots.iter().enumerate().all(|(i, &s)| i as u32 == s);
    if identity {
        return Ok(true);
    }
    for index in 0..module.functions.len() {
        let mut patches: Vec<(usize, u32)> = Vec::new();
        for ins in instructions(module, index) {
            for (i, operand) in ins.op.operands().iter().enumerate() {
                if *operand == Operand::Global {
                    patches.push((ins.offset + ins.op.operand_offset(i), slots[ins.args[i] as usize]));
                }
            }
        }
        let code = &mut module.functions[index].code;
        for (at, slot) in patches {
            code[at..at + 4].copy_from_slice(&slot.to_le_bytes());
        }
    }
    Ok(false)
}

/// `load(path)`: reads, verifies and links a `.tvmc` module and runs its
/// top-level code in the program's globals. Returns nil.
pub fn load_native(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, super::Trap> {
    use super::error::raise;
    let Some(path) = args[0].as_kind::<ObjString>(ObjKind::String) else {
        return Err(raise(th, "load() expects a path string."));
    };
    // SAFETY: the path is an argument on the stack.
    let path = unsafe { (*path).to_string_lossy() };
    let bytes = crate::sync::blocking(vm, th, || std::fs::read(&path));
    let bytes =
        bytes.map_err(|e| raise(th, format!("Cannot load '{}': {}.", path, crate::output::io_error_text(&e))))?;
    let module = crate::bytecode::tvmc::decode(&bytes)
        .map_err(|e| raise(th, format!("Cannot load '{}': invalid bytecode file: {}.", path, e)))?;
    match load(vm, th, module) {
        Ok(_) => {}
        Err(LoadError::Invalid(e)) => {
            return Err(raise(th, format!("Cannot load '{}': invalid bytecode file: {}.", path, e)));
        }
        Err(LoadError::Trap(trap)) => return Err(trap),
    }
    // SAFETY: `load` pushed the script closure on the stack.
    let slot = unsafe { th.sp.sub(1) };
    super::call::call_from_native(vm, th, slot, 0)?;
    th.pop();
    Ok(Value::NIL)
}
