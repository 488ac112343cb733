//! Running a whole program: the entry point of `tinyvm run` and of built
//! executables.
//!
//! Sets up the VM and the main thread (on an OS thread with a large stack),
//! loads the module, runs the script, waits for spawned threads, prints
//! statistics and returns the process exit status. Never returns early
//! without flushing output.

use crate::bytecode::Module;
use crate::sync::{gil, scheduler, threads};
use crate::vm::error::report;
use crate::vm::{call, loader, Options, Thread, Vm};

/// Exit statuses (sysexits).
pub const EXIT_COMPILE: i32 = 65;
pub const EXIT_RUNTIME: i32 = 70;
pub const EXIT_IO: i32 = 74;

/// Runs `module` to completion and returns the exit status.
pub fn run_module(module: Module, options: Options) -> i32 {
    crate::natives::start_clock();
    let main = std::thread::Builder::new()
        .name("tinyvm-main".into())
        .stack_size(threads::THREAD_STACK_BYTES)
        .spawn(move || run_main_thread(module, options));
    let status = match main {
        Ok(handle) => handle.join().unwrap_or(EXIT_RUNTIME),
        Err(_) => {
            crate::output::write_stderr(b"error: cannot start the main thread\n");
            EXIT_RUNTIME
        }
    };
    crate::output::flush_stdout();
    status
}

fn run_main_thread(module: Module, options: Options) -> i32 {
    let mut th = Thread::new(1);
    let th = &mut *th;
    gil::acquire();
    scheduler::lock().register(1, th as *mut Thread);
    let vm_box = Vm::new(options, th);
    let vm = Box::leak(vm_box);
    crate::stats::watch_sigusr1(vm as *mut Vm);
    let script = match loader::load(vm, th, module) {
        Ok(script) => script,
        Err(e) => {
            crate::output::write_stderr(
                format!("error: invalid bytecode file: {}\n", e).as_bytes(),
            );
            return EXIT_COMPILE;
        }
    };
    let _ = script;
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
                report(&error, th.id);
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
