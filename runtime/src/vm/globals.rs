//! Program globals, resolved to slots when a module is loaded.
//!
//! The compiler numbers each module's global names; the loader maps those
//! names to program-wide slots here, so code reads and writes globals by
//! index. An undefined global holds `Value::UNDEFINED`. Generated code reads
//! `base` (at a fixed offset of `Vm`), which is updated when the slots move.

use crate::object::class::PtrMap;
use crate::object::ObjString;
use crate::value::Value;

#[repr(C)]
pub struct Globals {
    /// Address of slot 0 (`values.as_ptr()`), for generated code.
    pub base: *mut Value,
    /// Address of name 0 (`names.as_ptr()`) and the number of slots, for
    /// debuggers (`$global("name")` in the gdb script).
    pub names_base: *const *mut ObjString,
    pub count: usize,
    pub values: Vec<Value>,
    pub names: Vec<*mut ObjString>,
    index: PtrMap<u32>,
}

impl Default for Globals {
    fn default() -> Self {
        let mut values = Vec::with_capacity(1024);
        let names = Vec::new();
        Globals {
            base: values.as_mut_ptr(),
            names_base: names.as_ptr(),
            count: 0,
            values,
            names,
            index: PtrMap::default(),
        }
    }
}

impl Globals {
    /// The slot of global `name`, created undefined if new.
    pub fn slot_for(&mut self, name: *mut ObjString) -> u32 {
        if let Some(&slot) = self.index.get(&name) {
            return slot;
        }
        let slot = self.values.len() as u32;
        self.values.push(Value::UNDEFINED);
        self.names.push(name);
        self.index.insert(name, slot);
        self.base = self.values.as_mut_ptr();
        self.names_base = self.names.as_ptr();
        self.count = self.names.len();
        slot
    }

    pub fn lookup(&self, name: *mut ObjString) -> Option<u32> {
        self.index.get(&name).copied()
    }

    /// Defines (or redefines) a global.
    pub fn define(&mut self, name: *mut ObjString, value: Value) {
        let slot = self.slot_for(name);
        self.values[slot as usize] = value;
    }

    /// The name of a slot, for error messages.
    pub fn name(&self, slot: usize) -> String {
        // SAFETY: global names are live (the GC marks them).
        unsafe { (*self.names[slot]).to_string_lossy() }
    }
}
