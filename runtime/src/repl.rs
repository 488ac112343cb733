//! A VM that outlives one module: the entry point of `tinyvm repl`.
//!
//! Each line the user types is compiled to a module of its own and run in
//! the one VM of the session, so the program's globals (variables,
//! functions, classes) persist from line to line: the loader links every
//! module's globals by name into the program's (`loader::link_globals`), as
//! it does for `load()`. A runtime error ends the line, not the session:
//! the main thread's stack, open upvalues and monitors are reset and the
//! next line starts afresh. The VM lock is held only while a line runs, so
//! threads a line spawned go on while the session waits for input.

use crate::bytecode::Module;
use crate::sync::{gil, monitor, scheduler, threads};
use crate::vm::error::report;
use crate::vm::loader::{self, LoadError};
use crate::vm::{call, operators, upvalue, Options, Thread, Vm};

/// How a line ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LineStatus {
    /// It ran to its end.
    Done,
    /// A runtime error, reported, ended it (the session goes on).
    RuntimeError,
    /// The module did not verify (reported; nothing ran).
    Invalid,
}

/// The persistent VM and its main thread (both leaked, as in
/// `program::run_module`: they live as long as the process).
pub struct Session {
    vm: &'static mut Vm,
    th: &'static mut Thread,
}

impl Session {
    /// A VM with the natives defined and no program yet; `Err` holds the
    /// exit status after the error was reported (out of memory).
    pub fn new(options: Options) -> Result<Session, i32> {
        crate::natives::start_clock();
        crate::signals::block_user_signals();
        crate::program::raise_main_stack_limit();
        let th: &'static mut Thread = Box::leak(Thread::new(1));
        gil::acquire();
        scheduler::lock().register(1, th as *mut Thread);
        let early = Options { error_format: options.error_format, color: options.color, ..Options::default() };
        let vm: &'static mut Vm = match Vm::new(options, th) {
            Ok(vm) => Box::leak(vm),
            Err(_) => return Err(crate::program::report_start_failure(th, &early)),
        };
        vm.tier = &crate::codegen::jit::JIT;
        vm.heap.forget_monitors = crate::sync::monitor::forget;
        crate::stats::set_vm(vm as *mut Vm);
        crate::signals::watch(crate::stats::print_statistics, crate::sync::safepoint::request);
        // No module fixes the global slots here (nothing runs ahead-of-time
        // code), so the natives take the first ones.
        if crate::natives::define_all(vm, th).is_err() {
            return Err(crate::program::report_start_failure(th, &vm.options));
        }
        gil::release();
        Ok(Session { vm, th })
    }

    /// Adds the text of a source that is no file (a line typed), for the
    /// source line of a runtime error in it.
    pub fn add_source(&mut self, name: String, text: Vec<u8>) {
        self.vm.options.sources.retain(|(n, _)| *n != name);
        self.vm.options.sources.push((name, text));
    }

    /// Runs one line's module. With `echo`, the module's script returns a
    /// value (an expression statement, see the compiler's
    /// `frontend::compile_repl_line`),
    /// which is printed as `print` shows it unless it is nil. Output is
    /// flushed before it returns.
    pub fn run_line(&mut self, module: Module, echo: bool) -> LineStatus {
        gil::acquire();
        let status = self.run_locked(module, echo);
        gil::release();
        crate::output::flush_stdout();
        status
    }

    fn run_locked(&mut self, module: Module, echo: bool) -> LineStatus {
        let (vm, th) = (&mut *self.vm, &mut *self.th);
        match loader::load(vm, th, module) {
            Ok(_) => {}
            Err(LoadError::Invalid(e)) => {
                crate::output::write_stderr(format!("error: invalid bytecode: {}\n", e).as_bytes());
                return LineStatus::Invalid;
            }
            Err(LoadError::Trap(_)) => return self.failed(),
        }
        // SAFETY: `load` pushed the script closure on the stack.
        let slot = unsafe { th.sp.sub(1) };
        if call::call_from_native(vm, th, slot, 0).is_err() {
            return self.failed();
        }
        if echo && !th.peek(0).is_nil() {
            if operators::print(th).is_err() {
                return self.failed();
            }
        } else {
            th.pop();
        }
        LineStatus::Done
    }

    /// Reports the pending runtime error and resets the main thread for
    /// the next line: a runtime error unwinds without returning from the
    /// frames, so their captured locals are still open upvalues into the
    /// stack and the monitors they entered are still held.
    fn failed(&mut self) -> LineStatus {
        let (vm, th) = (&mut *self.vm, &mut *self.th);
        if let Some(error) = th.error.take() {
            report(&error, th.id, &vm.options);
        }
        upvalue::close_from(th, th.stack_base);
        monitor::release_all(&mut scheduler::lock(), th.id);
        th.sp = th.stack_base;
        th.frames_top = th.frames_base;
        vm.temp_roots.clear();
        LineStatus::RuntimeError
    }

    /// Ends the session: waits for the threads still running (as a
    /// program's end does) and prints the statistics when asked. Returns
    /// the exit status: 0, as the session's errors were each reported.
    pub fn finish(self) -> i32 {
        gil::acquire();
        threads::await_all(self.th);
        crate::stats::report_if_enabled(self.vm, self.th);
        gil::release();
        crate::output::flush_stdout();
        0
    }
}
