//! `tinyvm`: the TinyVM toolchain (repl, run, build, compile, check,
//! disasm, gdb, completions, man).
//!
//! This file defines the command line (clap) and dispatches to `commands`.
//! Every command returns a process exit status; nothing here panics on bad
//! input.

#![warn(clippy::undocumented_unsafe_blocks)]

mod commands;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use tinyvm::frontend::diagnostic::ErrorFormat;

/// `--help`'s closing text: what `--help` cannot say argument by argument.
/// The README's "Environment" and "Exit statuses" say the same at length.
const AFTER_HELP: &str = "\
With no command, tinyvm starts the REPL (as `tinyvm repl`).

Environment:
  TINYVM_STATS=1       print statistics at exit (instructions, calls, threads, GC cycles
                       and pauses, bytes allocated, JIT compilations); SIGUSR1 prints them
                       while the program runs, SIGUSR2 runs a garbage collection
  TINYVM_GC_STRESS=1   collect garbage at every allocation (a testing aid)
  TINYVM_HEAP_MAX=SIZE limit the GC heap (bytes, or with a K, M or G suffix)
  TINYVM_FUEL=N        end the program after N safepoint polls, exit 75 (a testing aid)
  TINYVM_JIT_DEBUG     (any value) print each function the JIT compiles, and why one
                       is declined
  TINYVM_PERF_MAP=1    the JIT writes perf's map of its code, /tmp/perf-PID.map
  NO_COLOR             no colour in diagnostics (unless --color=always)
  GDB                  the gdb `tinyvm gdb` runs (default gdb)
  CC                   the C compiler driver `build` links with (default cc; split into
                       words, as make does: CC=\"ccache gcc\")

Exit statuses:
  0   success                      65  compile error or invalid bytecode file
  2   bad command line             69  no C compiler driver for `build`
  70  runtime error (also a deadlock, a link failure, out of memory)
  74  I/O error (unreadable input, unwritable output)
  75  TINYVM_FUEL ran out
A built executable exits with the program's exit(n) status, 70 on a runtime error.";

#[derive(Parser)]
#[command(
    name = "tinyvm",
    version = env!("TINYVM_VERSION"),
    about = "The TinyVM compiler and runtime",
    propagate_version = true,
    after_help = AFTER_HELP
)]
struct Cli {
    /// When to colour diagnostics: auto (on a terminal, unless NO_COLOR is
    /// set), always or never.
    #[arg(long, value_enum, default_value = "auto", global = true, value_name = "WHEN")]
    color: ColorArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JitArg {
    /// Compile functions to machine code once they are hot.
    Auto,
    /// Compile every function before its first call.
    Always,
    /// Interpret only.
    Off,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Build a standalone native executable from a source or bytecode file.
    Build {
        /// Source file (.tvm or .lox) or bytecode file (.tvmc).
        src: PathBuf,
        /// Output executable (default: the source name without extension).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Emit DWARF debug information.
        #[arg(short = 'g')]
        debug: bool,
        /// Link statically.
        #[arg(long = "static")]
        static_link: bool,
        /// Fail instead of leaving functions to the interpreter.
        #[arg(long)]
        no_fallback: bool,
        /// How compile errors (and the executable's runtime errors) are printed.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
    },
    /// Compile to a bytecode file (.tvmc).
    Compile {
        /// Source file (.tvm or .lox).
        src: PathBuf,
        /// Output bytecode file (default: the source name with extension .tvmc).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// How compile errors are printed.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
    },
    /// Run a source or bytecode file (`-` reads it from stdin) or, with -e, CODE.
    Run {
        /// When functions are compiled to machine code.
        #[arg(long, value_enum, default_value = "auto")]
        jit: JitArg,
        /// How compile and runtime errors are printed.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
        /// Run CODE instead of a file; every argument after it goes to the program.
        #[arg(short = 'e', value_name = "CODE")]
        code: Option<String>,
        /// The program (.tvm, .lox or .tvmc; `-` for stdin), then its arguments:
        /// everything after FILE, `--` included, goes to the program as it is.
        // FILE and the arguments are one list so that clap does not take a
        // `--` right after FILE for its end-of-options marker, as built
        // executables do not (invalid UTF-8 becomes U+FFFD in both).
        #[arg(value_name = "FILE [ARGS]", required_unless_present = "code", trailing_var_arg = true)]
        program: Vec<std::ffi::OsString>,
    },
    /// Read, evaluate and print: each line runs as it is entered, globals persist.
    Repl {
        /// When functions are compiled to machine code.
        #[arg(long, value_enum, default_value = "auto")]
        jit: JitArg,
        /// How compile and runtime errors are printed.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
    },
    /// Report compile errors and warnings, writing nothing.
    Check {
        /// Source file (.tvm or .lox), with the files it imports.
        src: PathBuf,
        /// How compile errors and warnings are printed.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
    },
    /// List the bytecode of a source or bytecode file.
    Disasm {
        /// Source file (.tvm or .lox) or bytecode file (.tvmc).
        file: PathBuf,
        /// Also show the x86-64 code of each function.
        #[arg(long)]
        native: bool,
        /// How compile errors are printed.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
    },
    /// Run gdb with TinyVM's printers, convenience functions and unwinder
    /// loaded (like rust-gdb): every argument goes to gdb as it is (`tinyvm
    /// gdb EXE`, `-ex CMD`, `-batch`, `-x FILE`, `--args EXE ARGS...`, `EXE
    /// CORE`, `-p PID`, `--help`, ...).
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Gdb {
        /// gdb's arguments.
        #[arg(value_name = "GDB-ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Print a shell completion script (source it, or install it where the shell looks).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `tinyvm man > tinyvm.1`.
    Man,
}

/// Whether stderr's diagnostics are coloured: `always`, `never`, or (auto)
/// when stderr is a terminal, TERM is set and not `dumb`, and NO_COLOR is
/// unset or empty (no-color.org). The colours themselves are termcolor's.
fn stderr_color(choice: ColorArg) -> bool {
    use std::io::IsTerminal;
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_none_or(|t| t == "dumb");
            std::io::stderr().is_terminal() && !no_color && !dumb
        }
    }
}

fn main() {
    // Before anything else (the runtime's constructor did so already): no
    // early SIGUSR1 or SIGUSR2 may end the process.
    tinyvm_runtime::signals::block_user_signals();
    let cli = Cli::parse();
    commands::set_color(stderr_color(cli.color));
    let status = match cli.command {
        None => commands::repl::run(JitArg::Auto, ErrorFormat::Human),
        Some(command) => dispatch(command),
    };
    std::process::exit(tinyvm_runtime::output::finish(status));
}

fn dispatch(command: Command) -> i32 {
    match command {
        Command::Build { src, output, debug, static_link, no_fallback, error_format } => commands::build::run(
            &src,
            commands::build::BuildOptions { output, debug, static_link, no_fallback, format: error_format },
        ),
        Command::Compile { src, output, error_format } => commands::compile::run(&src, output, error_format),
        Command::Run { jit, error_format, code: Some(code), program } => {
            let args = program.iter().map(|a| a.to_string_lossy().into_owned()).collect();
            commands::run::run(commands::run::Program::Code(code), args, jit, error_format)
        }
        Command::Run { jit, error_format, code: None, program } => {
            let file = PathBuf::from(&program[0]);
            let args = program[1..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
            commands::run::run(commands::run::Program::File(file), args, jit, error_format)
        }
        Command::Repl { jit, error_format } => commands::repl::run(jit, error_format),
        Command::Check { src, error_format } => commands::check::run(&src, error_format),
        Command::Disasm { file, native, error_format } => commands::disasm::run(&file, native, error_format),
        Command::Gdb { args } => commands::gdb::run(args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tinyvm", &mut out);
            tinyvm_runtime::output::write_stdout(&out);
            0
        }
        Command::Man => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => {
                    tinyvm_runtime::output::write_stdout(&out);
                    0
                }
                Err(e) => commands::Failure::io(format!("cannot render the man page: {}", e)).report(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument of every command says what it is for in `--help`.
    #[test]
    fn every_argument_has_help_text() {
        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                if arg.get_help().is_none() && arg.get_id() != "help" && arg.get_id() != "version" {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (the command)", sub.get_name()));
                }
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "tinyvm", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
        Cli::command().debug_assert();
    }
}
