//! Native executables: lowering every function (with the runtime's shared
//! x86-64 lowering), writing an ELF relocatable object (`elf_writer.rs`),
//! and linking it with the embedded runtime archive through the system C
//! compiler driver (`link.rs`, `archive.rs`).
//!
//! This is the AOT way to finish a lowered function: helper calls become
//! ELF relocations against the runtime's exported helper symbols. (The JIT,
//! in the runtime, patches the same calls to addresses instead.)

pub mod archive;
pub mod dwarf;
pub mod elf_writer;
pub mod gdb_script;
pub mod link;
pub mod native_listing;

use tinyvm_runtime::bytecode::module::{Constant, Module};
use tinyvm_runtime::bytecode::verify::Verified;
use tinyvm_runtime::codegen::lower::{lower, FunctionInput, LoweredFunction};

/// TinyVM's cache directory (`$XDG_CACHE_HOME/tinyvm` or
/// `~/.cache/tinyvm`), where the runtime archive and the gdb script are
/// written once; None without a home.
pub fn cache_dir() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    Some(base.join("tinyvm"))
}

/// How the build lowers functions.
#[derive(Copy, Clone, Debug)]
pub struct LowerOptions {
    /// Calls of trivial methods produce their result without the call
    /// (`FunctionInput::inline_trivial_methods`); off for debug builds.
    pub inline_trivial_methods: bool,
    /// Functions count their calls, so that the runtime optimizes the hot
    /// ones (`FunctionInput::count_calls`); off for debug builds, which
    /// keep their baseline code.
    pub count_calls: bool,
}

impl LowerOptions {
    pub fn for_build(debug: bool) -> LowerOptions {
        LowerOptions { inline_trivial_methods: !debug, count_calls: !debug }
    }
}

/// The lowering of every function of a module (`None`: the lowering declined it).
pub fn lower_module(
    module: &Module,
    verified: &Verified,
    options: LowerOptions,
) -> Vec<Result<LoweredFunction, String>> {
    (0..module.functions.len()).map(|index| lower_function(module, verified, index, options)).collect()
}

/// Lowers function `index` of a verified module.
pub fn lower_function(
    module: &Module,
    verified: &Verified,
    index: usize,
    options: LowerOptions,
) -> Result<LoweredFunction, String> {
    let f = &module.functions[index];
    let capture_count = |k: u32| match f.constants.get(k as usize) {
        Some(Constant::Function(target)) => module.functions[*target as usize].upvalue_count,
        _ => 0,
    };
    let number_constant = |k: u32| match f.constants.get(k as usize) {
        Some(Constant::Number(n)) => Some(*n),
        _ => None,
    };
    // The module's global operands are its own numbers for its names.
    let intrinsic_of_global = |g: u32| match module.globals.get(g as usize) {
        Some(name) => tinyvm_runtime::natives::intrinsic_named(name.as_bytes()),
        None => tinyvm_runtime::object::Intrinsic::None,
    };
    let input = FunctionInput {
        code: &f.code,
        arity: f.arity as u32,
        max_stack: verified.max_stack[index],
        capture_count: &capture_count,
        number_constant: &number_constant,
        inline_trivial_methods: options.inline_trivial_methods,
        count_calls: options.count_calls,
        intrinsic_of_global: &intrinsic_of_global,
    };
    lower(&input).map_err(|e| e.0)
}
