//! Bytecode emission: the resolved syntax tree to a `Module`.
//!
//! `code_buffer.rs` holds the per-function emitter (code buffer, constants,
//! line table, jumps, local debug records); `ast_walk.rs` walks statements and
//! expressions. Layout decisions follow clox's, so stack slots match the
//! parser's resolution.

mod ast_walk;
mod code_buffer;
mod loops;

use crate::frontend::ast::{FunctionDecl, Program};
use std::collections::HashMap;
use tinyvm_runtime::bytecode::{FunctionProto, Module};

/// Compiles a parsed program into a module: the main file's script is
/// function 0; an imported file's script is emitted where its first
/// import is (`import`).
pub fn generate(program: &Program) -> Module {
    let mut builder =
        ModuleBuilder { program, functions: Vec::new(), globals: Vec::new(), global_index: HashMap::new(), source: 0 };
    let index = ast_walk::compile_function(&mut builder, &program.files[0].script);
    debug_assert_eq!(index, 0);
    let sources = program.files.iter().map(|f| f.name.clone()).collect();
    Module { sources, globals: builder.globals, functions: builder.functions }
}

/// Module-wide state while emitting: functions and global names.
pub struct ModuleBuilder<'p> {
    program: &'p Program,
    functions: Vec<FunctionProto>,
    globals: Vec<String>,
    global_index: HashMap<String, u32>,
    /// The file whose code is being emitted.
    source: u32,
}

impl<'p> ModuleBuilder<'p> {
    /// The script of imported file `file`, to emit as a function of it.
    fn file_script(&self, file: usize) -> &'p FunctionDecl {
        &self.program.files[file].script
    }

    /// The module's slot for global `name`.
    fn global(&mut self, name: &str) -> u32 {
        if let Some(&slot) = self.global_index.get(name) {
            return slot;
        }
        let slot = self.globals.len() as u32;
        self.globals.push(name.to_string());
        self.global_index.insert(name.to_string(), slot);
        slot
    }

    /// Reserves the index of a function whose code is emitted later.
    fn reserve_function(&mut self) -> usize {
        self.functions.push(FunctionProto {
            name: String::new(),
            short_name: String::new(),
            kind: tinyvm_runtime::bytecode::FunctionKind::Function,
            arity: 0,
            upvalue_count: 0,
            cache_count: 0,
            line: 0,
            source: self.source,
            code: Vec::new(),
            lines: Vec::new(),
            constants: Vec::new(),
            locals: Vec::new(),
        });
        self.functions.len() - 1
    }
}
