//! Shared helpers of the end-to-end tests: running `tinyvm` and built
//! programs with a time limit, and reading a test program's expectations.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn tinyvm() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tinyvm"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

pub fn programs_dir() -> PathBuf {
    repo_root().join("tests").join("programs")
}

/// What a process did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// Exit status, or None when killed by a signal or the time limit.
    pub status: Option<i32>,
}

/// Runs a command with stdin and a time limit (killed when exceeded).
pub fn run_with(mut cmd: Command, stdin: &[u8], limit: Duration) -> Outcome {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = writer.join();
    Outcome {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        status: if timed_out { None } else { status.code() },
    }
}

pub fn tinyvm_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(tinyvm());
    cmd.args(args);
    cmd.env_remove("TINYVM_GC_STRESS")
        .env_remove("TINYVM_STATS")
        .env_remove("TINYVM_HEAP_MAX")
        .env_remove("TINYVM_FUEL")
        .env_remove("TINYVM_OPT")
        .env_remove("TINYVM_DEOPT_STRESS");
    cmd
}

/// `tinyvm ARGS` with empty stdin and a 60 s limit.
pub fn run_tinyvm(args: &[&str]) -> Outcome {
    run_with(tinyvm_cmd(args), b"", Duration::from_secs(60))
}

/// Expectations written in a test program's comments:
/// `expect: TEXT` (a stdout line), `expect stderr: TEXT`, `expect stderr xN:
/// TEXT` (N such lines), `expect exit: N`,
/// `stdin: TEXT` (a line fed to stdin), `args: A B` (program arguments),
/// `no gc stress: WHY` (too slow when every allocation collects: a program
/// that keeps 100,000 strings alive would take minutes).
#[derive(Debug, Default, Clone)]
pub struct Expectations {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
    pub stdin: String,
    pub args: Vec<String>,
    pub no_gc_stress: bool,
}

pub fn expectations(path: &Path) -> Expectations {
    let text = std::fs::read_to_string(path).expect("read test program");
    let mut e = Expectations::default();
    for line in text.lines() {
        let Some(i) = line
            .find("expect")
            .or_else(|| line.find("stdin:"))
            .or_else(|| line.find("args:"))
            .or_else(|| line.find("no gc stress:"))
        else {
            continue;
        };
        let before = &line[..i];
        if !before.trim_end().ends_with('/') {
            continue;
        }
        let rest = &line[i..];
        if let Some(v) = rest.strip_prefix("expect: ") {
            e.stdout.push_str(v);
            e.stdout.push('\n');
        } else if rest == "expect:" {
            e.stdout.push('\n');
        } else if let Some(v) = rest.strip_prefix("expect stderr: ") {
            e.stderr.push_str(v);
            e.stderr.push('\n');
        } else if let Some((count, v)) = rest.strip_prefix("expect stderr x").and_then(|r| r.split_once(": ")) {
            // `expect stderr xN: TEXT`: N lines of TEXT (a deep trace).
            for _ in 0..count.parse::<usize>().expect("repeat count") {
                e.stderr.push_str(v);
                e.stderr.push('\n');
            }
        } else if let Some(v) = rest.strip_prefix("expect exit: ") {
            e.status = v.trim().parse().expect("exit status");
        } else if let Some(v) = rest.strip_prefix("stdin: ") {
            e.stdin.push_str(v);
            e.stdin.push('\n');
        } else if let Some(v) = rest.strip_prefix("args: ") {
            e.args = v.split_whitespace().map(String::from).collect();
        } else if rest.starts_with("no gc stress:") {
            e.no_gc_stress = true;
        }
    }
    e
}

/// Every test program (sorted), `.tvm` and `.lox`.
pub fn test_programs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(programs_dir())
        .expect("tests/programs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tvm" || e == "lox"))
        .collect();
    files.sort();
    files
}

/// Example programs (each has expectations in its comments too).
pub fn example_programs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tvm" || e == "lox"))
        .collect();
    files.sort();
    files
}

/// A scratch directory removed at the end of the test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Checks an outcome against expectations, with a readable failure.
pub fn check(label: &str, outcome: &Outcome, e: &Expectations) -> Result<(), String> {
    if outcome.stdout == e.stdout && outcome.stderr == e.stderr && outcome.status == Some(e.status) {
        return Ok(());
    }
    Err(format!(
        "{}\n--- expected stdout\n{}--- got stdout\n{}--- expected stderr\n{}--- got stderr\n{}--- expected status {} got {:?}\n",
        label, e.stdout, outcome.stdout, e.stderr, outcome.stderr, e.status, outcome.status
    ))
}
