//! `tinyvm`: the TinyVM toolchain (build, compile, run, disasm, gdb).
//!
//! This file defines the command line (clap) and dispatches to `commands`.
//! Every command returns a process exit status; nothing here panics on bad
//! input.

#![warn(clippy::undocumented_unsafe_blocks)]

mod commands;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tinyvm::frontend::diagnostic::ErrorFormat;

#[derive(Parser)]
#[command(name = "tinyvm", version, about = "The TinyVM compiler and runtime", propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JitArg {
    Auto,
    Always,
    Off,
}

#[derive(Subcommand)]
enum Command {
    /// Build a standalone native executable.
    Build {
        /// Source file (.tvm or .lox).
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
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
    },
    /// Compile to a bytecode file (.tvmc).
    Compile {
        src: PathBuf,
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
    },
    /// Run a source or bytecode file; arguments after FILE go to the program.
    Run {
        #[arg(long, value_enum, default_value = "auto")]
        jit: JitArg,
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
        /// The program (.tvm, .lox or .tvmc), then its arguments: everything
        /// after FILE, `--` included, goes to the program as it is.
        // FILE and the arguments are one list so that clap does not take a
        // `--` right after FILE for its end-of-options marker, as built
        // executables do not (invalid UTF-8 becomes U+FFFD in both).
        #[arg(value_name = "FILE [ARGS]", required = true, trailing_var_arg = true)]
        program: Vec<std::ffi::OsString>,
    },
    /// Report compile errors and warnings, writing nothing.
    Check {
        /// Source file (.tvm or .lox), with the files it imports.
        src: PathBuf,
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormat,
    },
    /// List the bytecode of a source or bytecode file.
    Disasm {
        file: PathBuf,
        /// Also show the x86-64 code of each function.
        #[arg(long)]
        native: bool,
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
}

fn main() {
    // Before anything else (the runtime's constructor did so already): no
    // early SIGUSR1 or SIGUSR2 may end the process.
    tinyvm_runtime::signals::block_user_signals();
    let cli = Cli::parse();
    let status = match cli.command {
        Command::Build { src, output, debug, static_link, no_fallback, error_format } => commands::build::run(
            &src,
            commands::build::BuildOptions { output, debug, static_link, no_fallback, format: error_format },
        ),
        Command::Compile { src, output, error_format } => commands::compile::run(&src, output, error_format),
        Command::Run { jit, error_format, program } => {
            let file = PathBuf::from(&program[0]);
            let args = program[1..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
            commands::run::run(&file, args, jit, error_format)
        }
        Command::Check { src, error_format } => commands::check::run(&src, error_format),
        Command::Disasm { file, native, error_format } => commands::disasm::run(&file, native, error_format),
        Command::Gdb { args } => commands::gdb::run(args),
    };
    std::process::exit(tinyvm_runtime::output::finish(status));
}
