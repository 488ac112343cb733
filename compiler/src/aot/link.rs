//! Linking with the system C compiler driver (`cc`, or `$CC`).

use std::path::Path;
use std::process::Command;

/// Why linking failed, and the exit status to report.
pub struct LinkError {
    pub message: String,
    pub status: i32,
}

/// Exit status when no C compiler driver is available (EX_UNAVAILABLE).
pub const EXIT_NO_CC: i32 = 69;
/// Exit status when the linker fails (EX_SOFTWARE).
pub const EXIT_LINK_FAILED: i32 = 70;

/// Links `object` with the runtime `archive` into `output`. Without `debug`
/// the executable gets no DWARF at all (not even the Rust standard
/// library's, which the archive carries). Executables get full RELRO
/// (`-z relro -z now`: no writable GOT or PLT slots after start-up); a
/// `static_link` build is a static PIE, or, where the C toolchain cannot
/// make one (no `rcrt1.o`), a plain static executable.
pub fn link(object: &Path, archive: &Path, output: &Path, static_link: bool, debug: bool) -> Result<(), LinkError> {
    if !static_link {
        return run_cc(object, archive, output, None, debug);
    }
    match run_cc(object, archive, output, Some("-static-pie"), debug) {
        Err(e) if e.status == EXIT_LINK_FAILED => run_cc(object, archive, output, Some("-static"), debug),
        result => result,
    }
}

fn run_cc(object: &Path, archive: &Path, output: &Path, mode: Option<&str>, debug: bool) -> Result<(), LinkError> {
    let cc = std::env::var("CC").ok().filter(|c| !c.trim().is_empty()).unwrap_or_else(|| "cc".to_string());
    // As make and cc-rs do: `CC="ccache gcc"` is a program and its first arguments.
    let words = shell_words::split(&cc)
        .map_err(|e| LinkError { message: format!("cannot parse CC=`{}`: {}", cc, e), status: EXIT_NO_CC })?;
    let Some((program, first_args)) = words.split_first() else {
        return Err(LinkError { message: format!("CC=`{}` names no program", cc), status: EXIT_NO_CC });
    };
    let mut cmd = Command::new(program);
    cmd.args(first_args);
    cmd.arg("-o").arg(output).arg(object).arg(archive);
    if let Some(mode) = mode {
        cmd.arg(mode);
    }
    if !debug {
        cmd.arg("-Wl,--strip-debug");
    }
    // --gc-sections drops the parts of the runtime a program cannot reach
    // (about two thirds of the archive's code).
    cmd.args(["-Wl,--gc-sections", "-Wl,-z,relro,-z,now", "-static-libgcc", "-lpthread", "-ldl", "-lm"]);
    let result = cmd.output();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(LinkError {
            message: format!(
                "cannot link: no C compiler driver `{}` found on PATH (install gcc or clang, or set CC)",
                program
            ),
            status: EXIT_NO_CC,
        }),
        Err(e) => Err(LinkError { message: format!("cannot run `{}`: {}", cc, e), status: EXIT_NO_CC }),
        Ok(out) if !out.status.success() => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            Err(LinkError {
                message: format!("linking with `{}` failed ({}):\n{}", cc, out.status, stderr.trim_end()),
                status: EXIT_LINK_FAILED,
            })
        }
        Ok(_) => Ok(()),
    }
}
