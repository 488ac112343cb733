//! Running a whole program: the entry point of `tinyvm run` and of built
//! executables.
//!
//! Sets up the VM and the main thread (on the process's main thread),
//! loads the module, runs the script, waits for spawned threads, prints
//! statistics and returns the process exit status. Never returns early
//! without flushing output.

use crate::bytecode::Module;
use crate::sync::{gil, scheduler, threads};
use crate::vm::error::report;
use crate::vm::loader::LoadError;
use crate::vm::{call, loader, Options, Thread, Vm};

pub use crate::output::{EXIT_COMPILE, EXIT_FUEL, EXIT_IO, EXIT_RUNTIME};

/// Ahead-of-time machine code for a module's functions (built executables).
#[derive(Clone, Copy)]
pub struct NativeTable(pub &'static [*const u8]);

// SAFETY: the table holds addresses of immutable code in the executable.
unsafe impl Send for NativeTable {}

/// Runs `module` to completion and returns the exit status.
pub fn run_module(module: Module, options: Options) -> i32 {
    run_module_with_natives(module, options, NativeTable(&[]))
}

/// Runs `module` with ahead-of-time machine code for its functions.
pub fn run_module_with_natives(module: Module, options: Options, natives: NativeTable) -> i32 {
    crate::natives::start_clock();
    crate::signals::block_user_signals();
    // The script runs on the calling (process main) thread, so debuggers
    // see it under `main`; deep recursion is caught by the frame limit and
    // the native stack check (`Thread::native_stack_limit`). The main
    // thread gets the same stack size as spawned threads, so that the frame
    // limit, not the native stack, ends deep recursion in every mode (native
    // code through runtime helpers uses more native stack per frame than
    // the interpreter). Only when the hard `ulimit -s` forbids that does the
    // script move to a thread with such a stack.
    raise_main_stack_limit();
    let small = crate::vm::frame::main_thread_stack_bytes().is_some_and(|bytes| bytes < threads::THREAD_STACK_BYTES);
    let status = if small {
        let spawned = std::thread::Builder::new()
            .name("main".into())
            .stack_size(threads::THREAD_STACK_BYTES)
            .spawn(move || run_main_thread(module, options, natives));
        match spawned.map(|handle| handle.join()) {
            Ok(Ok(status)) => status,
            _ => {
                crate::output::write_stderr(b"error: cannot start the main thread\n");
                EXIT_RUNTIME
            }
        }
    } else {
        run_main_thread(module, options, natives)
    };
    crate::output::flush_stdout();
    status
}

/// Points closed stdin, stdout or stderr at /dev/null, as Rust's runtime
/// does before `main` in `tinyvm` itself: otherwise the next file opened
/// (a `load()`ed module) would take descriptor 1 and receive the
/// program's output, and built executables would behave differently from
/// `tinyvm run`.
fn open_closed_standard_streams() {
    for fd in 0..3 {
        // SAFETY: fcntl(F_GETFD) only queries the descriptor; open returns
        // a new descriptor, the lowest free one, which is `fd` here.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 && *libc::__errno_location() == libc::EBADF {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}

/// Raises the main thread's soft stack limit to `THREAD_STACK_BYTES` when
/// the hard limit allows. The kernel checks the limit as the stack grows,
/// and it leaves at least 128 MB below the stack free of mappings at exec,
/// so the stack can then grow that far.
pub(crate) fn raise_main_stack_limit() {
    let wanted = threads::THREAD_STACK_BYTES as libc::rlim_t;
    // SAFETY: getrlimit/setrlimit only read and write the local struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_STACK, &mut limit) != 0 || limit.rlim_cur >= wanted {
            return;
        }
        if limit.rlim_max == libc::RLIM_INFINITY || limit.rlim_max >= wanted {
            limit.rlim_cur = wanted;
            libc::setrlimit(libc::RLIMIT_STACK, &limit);
        }
    }
}

fn run_main_thread(module: Module, options: Options, natives: NativeTable) -> i32 {
    // Leaked like the VM: the process ends with this thread, and unmapping
    // its stacks first would only cost time (TLB shootdowns once the
    // SIGUSR1 watcher thread exists).
    let th: &mut Thread = Box::leak(Thread::new(1));
    gil::acquire();
    scheduler::lock().register(1, th as *mut Thread);
    // For an error before the VM exists (no trace, so no sources needed).
    let early = Options { error_format: options.error_format, color: options.color, ..Options::default() };
    let vm = match Vm::new(options, th) {
        Ok(vm) => Box::leak(vm),
        Err(_) => return report_start_failure(th, &early),
    };
    // The compiler tiers sit above the VM: it reaches them through this.
    vm.tier = &crate::codegen::jit::JIT;
    vm.heap.forget_monitors = crate::sync::monitor::forget;
    crate::stats::set_vm(vm as *mut Vm);
    crate::debugger::set_vm(vm as *mut Vm);
    crate::signals::watch(crate::stats::print_statistics, crate::sync::safepoint::request);
    match loader::load_with_natives(vm, th, module, natives.0, crate::codegen::abi::FAST_ENTRY_OFFSET) {
        Ok(_) => {}
        Err(LoadError::Invalid(e)) => {
            crate::output::write_stderr(format!("error: invalid bytecode file: {}\n", e).as_bytes());
            return EXIT_COMPILE;
        }
        Err(LoadError::Trap(_)) => return report_start_failure(th, &vm.options),
    }
    // After the module: its globals keep their own slot numbers, which
    // ahead-of-time code relies on.
    if crate::natives::define_all(vm, th).is_err() {
        return report_start_failure(th, &vm.options);
    }
    let base = th.stack_base;
    let status = match call::call_from_native(vm, th, base, 0) {
        Ok(()) => {
            th.pop();
            if threads::await_all(th) {
                EXIT_RUNTIME
            } else {
                0
            }
        }
        Err(_) => {
            if let Some(error) = th.error.take() {
                report(&error, th.id, &vm.options);
            }
            EXIT_RUNTIME
        }
    };
    crate::stats::report_if_enabled(vm, th);
    crate::output::flush_stdout();
    if status == EXIT_RUNTIME {
        // A runtime error in the main script ends the process at once, even
        // while other threads still run.
        crate::output::exit(status);
    }
    status
}

/// Reports the runtime error (out of memory) that stopped the program
/// before its first instruction; returns the exit status.
pub(crate) fn report_start_failure(th: &mut Thread, options: &Options) -> i32 {
    if let Some(error) = th.error.take() {
        report(&error, th.id, options);
    }
    EXIT_RUNTIME
}

/// What a built executable's object file describes (symbol `tvm_program`).
#[repr(C)]
pub struct ProgramDescriptor {
    /// The program's `.tvmc` bytes.
    pub bytecode: *const u8,
    pub bytecode_len: usize,
    /// Machine-code entry per function (null: interpreted).
    pub natives: *const *const u8,
    pub native_count: usize,
    /// `PROGRAM_*` bits.
    pub flags: u64,
}

/// Offsets in `ProgramDescriptor`, for the object writer of `tinyvm build`,
/// which lays the descriptor out as bytes with relocations.
pub mod descriptor_layout {
    use super::ProgramDescriptor;
    use std::mem::{offset_of, size_of};
    pub const BYTECODE: usize = offset_of!(ProgramDescriptor, bytecode);
    pub const BYTECODE_LEN: usize = offset_of!(ProgramDescriptor, bytecode_len);
    pub const NATIVES: usize = offset_of!(ProgramDescriptor, natives);
    pub const NATIVE_COUNT: usize = offset_of!(ProgramDescriptor, native_count);
    pub const FLAGS: usize = offset_of!(ProgramDescriptor, flags);
    pub const SIZE: usize = size_of::<ProgramDescriptor>();
    // Every field is a 64-bit word the writer fills in little-endian.
    const _: () = assert!(size_of::<usize>() == 8 && size_of::<*const u8>() == 8 && SIZE == 40);
}

/// `ProgramDescriptor::flags`: runtime errors in the short (clox) format.
pub const PROGRAM_SHORT_ERRORS: u64 = 1;
/// `ProgramDescriptor::flags`: built with `-g`: the functions keep their
/// baseline code (which the DWARF describes), as gcc's `-O0` for debugging.
pub const PROGRAM_BASELINE_ONLY: u64 = 2;

/// The `main` of a built executable.
///
/// # Safety
/// `program` must describe valid static data, and `argv` hold `argc` C strings.
pub unsafe fn run_executable(program: &ProgramDescriptor, argc: i32, argv: *const *const std::ffi::c_char) -> i32 {
    open_closed_standard_streams();
    // SAFETY: guaranteed by the caller (the linker-provided descriptor).
    let (bytes, natives) = unsafe {
        (
            std::slice::from_raw_parts(program.bytecode, program.bytecode_len),
            std::slice::from_raw_parts(program.natives, program.native_count),
        )
    };
    let module = match crate::bytecode::tvmc::decode(bytes) {
        Ok(m) => m,
        Err(e) => {
            crate::output::write_stderr(format!("error: invalid bytecode file: {}\n", e).as_bytes());
            return EXIT_COMPILE;
        }
    };
    let mut args = Vec::new();
    for i in 1..argc.max(1) as usize {
        // SAFETY: argv holds argc valid C strings.
        let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
        args.push(arg.to_string_lossy().into_owned());
    }
    let heap_limit = match crate::heap::oom::heap_limit_from_env() {
        Ok(limit) => limit,
        Err(message) => {
            crate::output::write_stderr(message.as_bytes());
            return crate::output::finish(EXIT_RUNTIME);
        }
    };
    let options = Options {
        jit: crate::vm::JitMode::Auto,
        stats: std::env::var("TINYVM_STATS").is_ok_and(|v| v == "1"),
        args,
        program_name: module.source_name().to_string(),
        error_format: if program.flags & PROGRAM_SHORT_ERRORS != 0 {
            crate::vm::ErrorFormat::Short
        } else {
            crate::vm::ErrorFormat::Human
        },
        heap_limit,
        fuel: Options::fuel_from_env(),
        color: false,
        sources: Vec::new(),
        optimize: program.flags & PROGRAM_BASELINE_ONLY == 0,
    };
    // Like `tinyvm`'s main: report output that could not be written.
    crate::output::finish(run_module_with_natives(module, options, NativeTable(natives)))
}

#[cfg(feature = "exe-main")]
mod exe_main {
    use super::ProgramDescriptor;

    extern "C" {
        static tvm_program: ProgramDescriptor;
    }

    /// The C entry point of executables built by `tinyvm build`.
    #[no_mangle]
    pub extern "C" fn main(argc: i32, argv: *const *const std::ffi::c_char) -> i32 {
        crate::signals::block_user_signals();
        // SAFETY: `tvm_program` is defined by the object `tinyvm build`
        // generates; argv comes from the C runtime.
        let status = unsafe { super::run_executable(&*std::ptr::addr_of!(tvm_program), argc, argv) };
        crate::output::flush_stdout();
        status
    }
}
