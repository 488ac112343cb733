//! The virtual machine: shared state (heap, strings, globals, threads) and
//! the pieces that execute bytecode.
//!
//! Every function that can allocate, run program code or block takes
//! `vm: &mut Vm` and `th: &mut Thread` explicitly; generated code receives the
//! same two pointers and hands them to runtime helpers. No function reaches
//! the VM through a global, so the borrow discipline stays visible.

pub mod call;
pub mod error;
pub mod frame;
pub mod globals;
pub mod interp;
pub mod iteration;
pub mod loader;
pub mod messages;
pub mod operators;
pub mod property;
pub mod tier;
pub mod trivial_method;
pub mod upvalue;

pub use error::{ErrorFormat, RuntimeError, Trap};
pub use frame::{Frame, Thread};
pub use globals::Globals;

use crate::heap::intern::Interner;
use crate::heap::Heap;
use crate::object::ObjString;
use crate::value::Value;

/// When the JIT compiles functions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum JitMode {
    /// Compile functions that get hot.
    Auto,
    /// Compile every function before its first call.
    Always,
    /// Never compile.
    Off,
}

/// Settings fixed at start-up.
#[derive(Clone, Debug)]
pub struct Options {
    pub jit: JitMode,
    pub stats: bool,
    /// Program arguments returned by `args()`.
    pub args: Vec<String>,
    /// Prefix of runtime-error traces: none for `tinyvm run`.
    pub program_name: String,
    pub error_format: ErrorFormat,
    /// The most bytes the GC heap may hold (`TINYVM_HEAP_MAX`); `None`: no
    /// limit beyond what the system gives.
    pub heap_limit: Option<usize>,
    /// A step budget (`TINYVM_FUEL`, a testing aid): how many safepoint
    /// polls may run before the program ends with `error: fuel exhausted`
    /// (`output::EXIT_FUEL`). Both tiers poll at the same instructions
    /// (`LOOP`, `CALL`, `INVOKE`, `SUPER_INVOKE`), so the same program stops
    /// at the same point in each. `None`: unlimited, and polls cost nothing
    /// more (see `sync::safepoint`).
    pub fuel: Option<u64>,
    /// Runtime errors in the human format are coloured (`error` red, as
    /// rustc does); `tinyvm run` sets it from `--color`, built executables
    /// never.
    pub color: bool,
    /// The texts of sources that are no files (`tinyvm run -e`, `run -`),
    /// by name, for the source line of a runtime error. Names in angle
    /// brackets (`<stdin>`, `<repl>`) are never read from disk.
    pub sources: Vec<(String, Vec<u8>)>,
    /// Whether a tier may replace baseline machine code with optimized
    /// code (when the optimizing tier is on, `TINYVM_OPT`): false in
    /// executables built with `-g`, whose DWARF line table and gdb
    /// breakpoints describe the baseline code.
    pub optimize: bool,
}

impl Options {
    /// The fuel that `TINYVM_FUEL=N` asks for (None when unset or not a number).
    pub fn fuel_from_env() -> Option<u64> {
        std::env::var("TINYVM_FUEL").ok().and_then(|v| v.trim().parse().ok())
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jit: JitMode::Off,
            stats: false,
            args: Vec::new(),
            program_name: String::new(),
            error_format: ErrorFormat::Human,
            heap_limit: None,
            fuel: None,
            color: false,
            sources: Vec::new(),
            optimize: true,
        }
    }
}

/// State shared by all threads of the program; guarded by the VM lock.
/// `#[repr(C)]` with the fields generated code reads first (`layout`), all
/// within 128 bytes of the start so that instructions address them with
/// 1-byte displacements.
#[repr(C)]
pub struct Vm {
    /// Safepoint request: another thread waits for the VM lock (see `sync::safepoint`).
    pub poll: std::sync::atomic::AtomicBool,
    /// 64-bit constants generated code compares with: a memory operand
    /// costs 5 bytes where an immediate needs a 10-byte `mov` to a register.
    pub constants: CodeConstants,
    /// After the small fields: its base pointer is read by generated code
    /// too.
    pub globals: Globals,
    pub heap: Heap,
    pub strings: Interner,
    /// Every live VM thread (their stacks are GC roots).
    pub threads: Vec<*mut Thread>,
    /// Values that native code holds across an allocation.
    pub temp_roots: Vec<Value>,
    /// Strings that live as long as the VM (`init`, ...).
    pub permanent_strings: Vec<*mut ObjString>,
    pub init_string: *mut ObjString,
    pub options: Options,
    /// Modules loaded so far (the next module id).
    pub modules_loaded: u32,
    /// The compiler tier hot functions go to (`tier`).
    pub tier: &'static dyn tier::Tier,
    /// Threads started and the counters of threads that ended (the live
    /// ones keep theirs in `Thread`), for the statistics.
    pub thread_counts: ThreadCounts,
    /// Safepoint polls left before the program ends (`Options::fuel`).
    pub fuel_left: Option<u64>,
}

/// See `Vm::thread_counts`.
#[derive(Default, Clone, Copy, Debug)]
pub struct ThreadCounts {
    /// Every thread started, the main one included.
    pub started: u64,
    pub ended_instructions: u64,
    pub ended_calls: u64,
}

/// See `Vm::constants`.
#[repr(C)]
pub struct CodeConstants {
    /// `Value::UNDEFINED`: the content of a global slot not yet defined.
    pub undefined: Value,
    /// `OBJ_TAG`: subtracted from a value, it leaves an object's pointer...
    pub object_tag: u64,
    /// ...which is below this bound exactly when the value is an object.
    pub pointer_limit: u64,
}

impl Default for CodeConstants {
    fn default() -> Self {
        CodeConstants { undefined: Value::UNDEFINED, object_tag: crate::value::OBJ_TAG, pointer_limit: 1 << 48 }
    }
}

/// Offsets of `Vm` fields used by generated code.
pub mod layout {
    pub const VM_POLL: usize = std::mem::offset_of!(super::Vm, poll);
    const CONSTANTS: usize = std::mem::offset_of!(super::Vm, constants);
    pub const VM_UNDEFINED: usize = CONSTANTS + std::mem::offset_of!(super::CodeConstants, undefined);
    pub const VM_OBJECT_TAG: usize = CONSTANTS + std::mem::offset_of!(super::CodeConstants, object_tag);
    pub const VM_POINTER_LIMIT: usize = CONSTANTS + std::mem::offset_of!(super::CodeConstants, pointer_limit);
    const _: () = assert!(VM_POLL < 128 && VM_POINTER_LIMIT < 128, "see the comment on `Vm`");
    pub const VM_GLOBALS_BASE: usize =
        std::mem::offset_of!(super::Vm, globals) + std::mem::offset_of!(super::Globals, base);
    const _: () = assert!(VM_GLOBALS_BASE < 128, "see the comment on `Vm`");
    /// Where debuggers find the globals' names and their number.
    pub const VM_GLOBALS_NAMES: usize =
        std::mem::offset_of!(super::Vm, globals) + std::mem::offset_of!(super::Globals, names_base);
    pub const VM_GLOBALS_COUNT: usize =
        std::mem::offset_of!(super::Vm, globals) + std::mem::offset_of!(super::Globals, count);
}

impl Vm {
    /// A VM without globals (see `program.rs`: the first module's globals
    /// take the first slots, then the natives are defined). `th` becomes its
    /// first thread. `Err` (with the error pending in `th`) when the heap
    /// limit leaves no room for the VM's first string.
    pub fn new(options: Options, th: &mut Thread) -> Result<Box<Vm>, Trap> {
        let mut vm = Box::new(Vm {
            globals: Globals::default(),
            poll: std::sync::atomic::AtomicBool::new(false),
            constants: CodeConstants::default(),
            heap: Heap::default(),
            strings: Interner::default(),
            threads: Vec::new(),
            temp_roots: Vec::new(),
            permanent_strings: Vec::new(),
            init_string: std::ptr::null_mut(),
            fuel_left: options.fuel,
            options,
            modules_loaded: 0,
            tier: &tier::NoTier,
            thread_counts: ThreadCounts { started: 1, ..ThreadCounts::default() },
        });
        crate::sync::safepoint::install(&vm);
        vm.heap.set_limit(vm.options.heap_limit);
        if vm.fuel_left.is_some() {
            // Every poll parks from now on (see `safepoint::park`).
            crate::sync::safepoint::request();
        }
        vm.heap.set_stress(std::env::var("TINYVM_GC_STRESS").map(|v| v == "1").unwrap_or(false));
        vm.threads.push(th as *mut Thread);
        let init = match crate::heap::new_string(&mut vm, th, b"init") {
            Ok(init) => init,
            Err(trap) => {
                // The safepoint flag points into it: it must never be freed.
                let _ = Box::leak(vm);
                return Err(trap);
            }
        };
        vm.permanent_strings.push(init);
        vm.init_string = init;
        Ok(vm)
    }
}
