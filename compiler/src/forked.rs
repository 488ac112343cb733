//! Test support: runs a verified module in a forked child process and
//! captures what it did (stdout, stderr, exit status or signal), with a
//! fuel budget (`Options::fuel`) and a wall-clock limit.
//!
//! Used by `tests/mutation.rs` and the fuzz target `tvmc_exec`, which run
//! mutated bytecode with the interpreter and with every function compiled
//! and compare the two. A child runs `program::run_module` as `tinyvm run`
//! does, so a crash, an abort or a hang of the runtime ends only the child;
//! running in-process saves the `exec` of a `tinyvm` binary and the
//! decoding, and keeps the parent's verifier under the fuzzer's coverage.
//!
//! # Forking a multithreaded process
//!
//! The parent may have other threads (the test harness's, libFuzzer's); only
//! the thread that forks exists in the child. The child is not limited to
//! async-signal-safe calls: it allocates and starts the runtime. That is
//! sound here because
//! - glibc's `malloc` is fork-safe (it takes its arenas' locks around
//!   `fork`, and the child starts with them consistent);
//! - the runtime's own locks and global state (VM lock, scheduler, stdout
//!   buffer, safepoint flags) are used only in the children: the parent
//!   only decodes and verifies, which touch none of them. A caller must not
//!   run programs in-process (`run_module`) on another thread while it forks,
//!   nor spawn processes or fork there: `std::process::Command` holds the
//!   environment's lock while it spawns, which a child would find taken
//!   when the runtime reads `TINYVM_GC_STRESS`, and a child forked by
//!   another thread would hold the write ends of this one's pipes;
//! - the child writes to its descriptors directly (the runtime's output and
//!   the panic hook installed here), not through Rust's `std::io::stdout`
//!   or the test harness's output capture, and ends with `_exit`, so no
//!   handler of the parent (`atexit`, libFuzzer's) runs in it.
//!
//! All children are forked from the calling thread, up to `parallel` at a
//! time, and that thread alone waits for them (`poll` on their pipes).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};
use tinyvm_runtime::bytecode::Module;
use tinyvm_runtime::codegen::opt::{self, OptOptions};
use tinyvm_runtime::vm::{JitMode, Options};

/// The exit status of a child whose run panicked (Rust's own for a panic).
pub const PANIC_STATUS: i32 = 101;

/// What a child may use.
#[derive(Clone, Debug)]
pub struct Limits {
    /// `Options::fuel`: safepoint polls before `error: fuel exhausted`.
    pub fuel: Option<u64>,
    /// Wall-clock time, after which the child is killed (`Ending::TimedOut`).
    pub time: Duration,
    /// Bytes of stdout and of stderr kept: a child that writes more to
    /// either is killed (`Ending::TooMuchOutput`). Fuel bounds the polls, not
    /// the work between two of them, and a loop that prints a growing value
    /// (`print a; push(a, a);`) would run for minutes within its fuel.
    pub max_output: usize,
    /// The child's address-space limit (RLIMIT_AS), in bytes.
    pub memory: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { fuel: Some(100_000), time: Duration::from_secs(5), max_output: 1 << 16, memory: Some(8 << 30) }
    }
}

/// How a child ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ending {
    Exit(i32),
    Signal(i32),
    /// Killed at the wall-clock limit.
    TimedOut,
    /// Wrote more than `Limits::max_output` bytes to stdout or stderr (and
    /// was killed, if it had not ended yet).
    TooMuchOutput,
}

/// What one run did.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Run {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub ending: Ending,
}

impl Run {
    /// The run panicked or died of a signal: never acceptable.
    pub fn crashed(&self) -> bool {
        matches!(self.ending, Ending::Signal(_) | Ending::Exit(PANIC_STATUS))
    }

    /// The run was killed at the time limit: a hang, unless the program may
    /// take long for reasons fuel does not count (`depends_on_timing`).
    pub fn hung(&self) -> bool {
        self.ending == Ending::TimedOut
    }

    /// Whether two runs of one module (in two tiers) did the same thing.
    /// Runs that wrote too much agree when each stream of one is a prefix
    /// of the other's: how far a child got before it was killed depends on
    /// timing.
    pub fn agrees_with(&self, other: &Run) -> bool {
        let prefix = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
        match (&self.ending, &other.ending) {
            (Ending::TooMuchOutput, Ending::TooMuchOutput) => {
                prefix(&self.stdout, &other.stdout) && prefix(&self.stderr, &other.stderr)
            }
            _ => self == other,
        }
    }

    /// The run ended because its fuel ran out.
    pub fn fuel_exhausted(&self) -> bool {
        self.ending == Ending::Exit(tinyvm_runtime::program::EXIT_FUEL)
    }

    /// A short description: the ending, then stdout and stderr (both cut).
    pub fn summary(&self) -> String {
        let cut = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]).into_owned();
            if bytes.len() > 400 {
                format!("{text:?}... ({} bytes)", bytes.len())
            } else {
                format!("{text:?}")
            }
        };
        format!("{:?}, stdout {}, stderr {}", self.ending, cut(&self.stdout), cut(&self.stderr))
    }
}

/// Whether a module's output or running time may depend on timing, so that
/// two runs need not agree and may run past the time limit within their
/// fuel: it spawns threads (`SPAWN`: their order, and a thread that spawns
/// threads can take seconds to reach the limit of 4096), or names the
/// `clock` or `sleep` native.
pub fn depends_on_timing(module: &Module) -> bool {
    use tinyvm_runtime::bytecode::{opcode::Op, walk};
    module.globals.iter().any(|g| g == "clock" || g == "sleep")
        || (0..module.functions.len()).any(|i| walk::instructions(module, i).any(|ins| ins.op == Op::Spawn))
}

/// One program to run.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    /// A module that `verify_module` accepts (the loader verifies it again).
    pub module: &'a Module,
    pub jit: JitMode,
    /// The optimizing tier's switches for this child
    /// (`opt::set_options`); None reads them from the environment, as
    /// `tinyvm run` does. For the tier's eager mode pass `JitMode::Always`.
    pub opt: Option<OptOptions>,
}

impl<'a> Job<'a> {
    /// A job with the optimizing tier's switches from the environment.
    pub fn new(module: &'a Module, jit: JitMode) -> Job<'a> {
        Job { module, jit, opt: None }
    }
}

/// Runs one job in a child process.
pub fn run(job: Job<'_>, limits: &Limits) -> std::io::Result<Run> {
    let mut runs = run_all(&[job], 1, limits)?;
    runs.pop().ok_or_else(|| std::io::Error::other("no result"))
}

/// Runs every job in its own child, up to `parallel` at a time; the
/// results are in the order of `jobs`.
pub fn run_all(jobs: &[Job<'_>], parallel: usize, limits: &Limits) -> std::io::Result<Vec<Run>> {
    let null = std::fs::File::open("/dev/null")?;
    let mut results: Vec<Option<Run>> = vec![None; jobs.len()];
    let mut running: Vec<Child> = Vec::new();
    let mut next = 0;
    let mut error = None;
    while next < jobs.len() || !running.is_empty() {
        while error.is_none() && next < jobs.len() && running.len() < parallel.max(1) {
            match Child::start(next, jobs[next], limits, null.as_raw_fd()) {
                Ok(child) => running.push(child),
                Err(e) => error = Some(e),
            }
            next += 1;
        }
        if error.is_some() && running.is_empty() {
            break;
        }
        wait_for_output(&mut running, limits)?;
        let mut i = 0;
        while i < running.len() {
            if let Some(run) = running[i].try_finish()? {
                results[running[i].index] = Some(run);
                running.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    Ok(results.into_iter().map(|r| r.unwrap_or_else(unreachable_run)).collect())
}

/// Every job that started has a result; this stands in for none.
fn unreachable_run() -> Run {
    Run { stdout: Vec::new(), stderr: b"no result".to_vec(), ending: Ending::Signal(0) }
}

/// One child being run.
struct Child {
    index: usize,
    pid: libc::pid_t,
    /// stdout and stderr read ends, None once at end of file.
    pipes: [Option<OwnedFd>; 2],
    output: [Vec<u8>; 2],
    /// More than `max_output` bytes came on a pipe.
    too_much: bool,
    deadline: Instant,
    killed: bool,
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Child {
    fn start(index: usize, job: Job<'_>, limits: &Limits, null: RawFd) -> std::io::Result<Child> {
        let (out_read, out_write) = pipe()?;
        let (err_read, err_write) = pipe()?;
        // SAFETY: fork has no preconditions; see the module comment for
        // what the child may do in a process that had other threads.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if pid == 0 {
            child_main(job, limits, null, out_write.as_raw_fd(), err_write.as_raw_fd());
        }
        drop((out_write, err_write));
        Ok(Child {
            index,
            pid,
            pipes: [Some(out_read), Some(err_read)],
            output: [Vec::new(), Vec::new()],
            too_much: false,
            deadline: Instant::now() + limits.time,
            killed: false,
        })
    }

    /// Reads what is there on pipe `which` (0 stdout, 1 stderr).
    fn read(&mut self, which: usize, max_output: usize) {
        let Some(fd) = &self.pipes[which] else { return };
        let mut buf = [0u8; 1 << 14];
        // SAFETY: `buf` is a writable buffer of the given length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n < 0 {
            let errno = std::io::Error::last_os_error().raw_os_error();
            if errno == Some(libc::EINTR) || errno == Some(libc::EAGAIN) {
                return;
            }
        }
        if n <= 0 {
            self.pipes[which] = None;
            return;
        }
        let out = &mut self.output[which];
        let bytes = &buf[..n as usize];
        let room = max_output.saturating_sub(out.len());
        if bytes.len() > room {
            self.too_much = true;
        }
        out.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The run once the child has ended (after its pipes are closed).
    fn try_finish(&mut self) -> std::io::Result<Option<Run>> {
        if (self.too_much || Instant::now() >= self.deadline) && !self.killed {
            // SAFETY: kill only sends a signal to our own child (not yet reaped).
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            self.killed = true;
        }
        if self.pipes.iter().any(Option::is_some) {
            return Ok(None);
        }
        let mut status = 0;
        // SAFETY: waitpid writes the status of our own child into `status`.
        let waited = unsafe { libc::waitpid(self.pid, &mut status, if self.killed { 0 } else { libc::WNOHANG }) };
        if waited < 0 {
            let e = std::io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) { Ok(None) } else { Err(e) };
        }
        if waited == 0 {
            return Ok(None);
        }
        let ending = if self.too_much {
            Ending::TooMuchOutput
        } else if self.killed {
            Ending::TimedOut
        } else if libc::WIFEXITED(status) {
            Ending::Exit(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            Ending::Signal(libc::WTERMSIG(status))
        } else {
            Ending::Signal(0)
        };
        let [stdout, stderr] = std::mem::take(&mut self.output);
        Ok(Some(Run { stdout, stderr, ending }))
    }
}

/// Waits until some child has output, has closed its pipes or is due to be
/// killed, and reads the output.
fn wait_for_output(running: &mut [Child], limits: &Limits) -> std::io::Result<()> {
    let mut fds = Vec::new();
    let mut owners = Vec::new();
    let now = Instant::now();
    // At most 50 ms: children whose pipes are closed are reaped on the next round.
    let mut timeout = Duration::from_millis(50);
    for (c, child) in running.iter().enumerate() {
        timeout = timeout.min(child.deadline.saturating_duration_since(now));
        for (which, pipe) in child.pipes.iter().enumerate() {
            if let Some(fd) = pipe {
                fds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
                owners.push((c, which));
            }
        }
    }
    if fds.is_empty() {
        // Only exited children whose status is not yet there.
        std::thread::sleep(Duration::from_millis(1));
        return Ok(());
    }
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout.as_millis() as i32) };
    if ready < 0 {
        let e = std::io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::EINTR) { Ok(()) } else { Err(e) };
    }
    for (fd, &(c, which)) in fds.iter().zip(&owners) {
        if fd.revents != 0 {
            running[c].read(which, limits.max_output);
        }
    }
    Ok(())
}

/// The child: standard streams on /dev/null and the pipes, then the program.
fn child_main(job: Job<'_>, limits: &Limits, null: RawFd, out: RawFd, err: RawFd) -> ! {
    // SAFETY: dup2 and setrlimit only change this process's descriptors and
    // limits; the descriptors are open (the pipes' write ends and /dev/null).
    unsafe {
        if libc::dup2(null, 0) < 0 || libc::dup2(out, 1) < 0 || libc::dup2(err, 2) < 0 {
            libc::_exit(PANIC_STATUS);
        }
        if let Some(bytes) = limits.memory {
            let limit = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
        }
    }
    // Default actions for the signals the parent may handle (libFuzzer
    // turns a crash into a report and an exit status, and takes SIGINT,
    // SIGTERM, SIGALRM and SIGUSR1/2), so that a crash is seen as the
    // signal; SIGPIPE ignored as in `tinyvm` (Rust's runtime does that).
    for sig in [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGABRT,
        libc::SIGTRAP,
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGALRM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGXFSZ,
    ] {
        // SAFETY: setting a signal's action to the default has no preconditions.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: as above.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // The parent's hook may print through the test harness's capture (lost
    // here) or abort (libFuzzer's): report the panic on stderr instead.
    std::panic::set_hook(Box::new(|info| {
        let text = format!("panic in the forked child: {info}\n");
        tinyvm_runtime::output::write_stderr(text.as_bytes());
    }));
    tinyvm_runtime::output::exit_without_cleanup();
    if let Some(switches) = job.opt {
        // The parent never runs a program, so nothing has read them yet.
        if let Err(already) = opt::set_options(switches) {
            if already != switches {
                panic!("the optimizing tier's switches were read before the fork: {already:?}");
            }
        }
    }
    let module = job.module.clone();
    let options = Options {
        jit: job.jit,
        stats: false,
        args: Vec::new(),
        program_name: module.source_name().to_string(),
        fuel: limits.fuel,
        error_format: tinyvm_runtime::vm::ErrorFormat::Short,
        heap_limit: None,
        color: false,
        sources: Vec::new(),
        optimize: true,
    };
    // On a thread with the stack `tinyvm run` gives the script, so that the
    // frame limit, not the native stack, ends deep recursion (as in
    // `program::run_module`, which does the same only on the process's
    // main thread).
    let ran = std::thread::Builder::new()
        .name("main".into())
        .stack_size(tinyvm_runtime::sync::threads::THREAD_STACK_BYTES)
        .spawn(move || tinyvm_runtime::program::run_module(module, options))
        .map(|handle| handle.join());
    let status = match ran {
        Ok(Ok(status)) => status,
        Ok(Err(_)) => PANIC_STATUS,
        Err(e) => {
            let text = format!("error: cannot start the program's thread: {e}\n");
            tinyvm_runtime::output::write_stderr(text.as_bytes());
            tinyvm_runtime::program::EXIT_RUNTIME
        }
    };
    let status = tinyvm_runtime::output::finish(status);
    // SAFETY: _exit has no preconditions; the output is flushed.
    unsafe { libc::_exit(status) }
}
