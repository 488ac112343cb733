//! Signals (DESIGN.md section 2): SIGUSR1 prints statistics and SIGUSR2 runs
//! a collection at the next safepoint; neither ends a program, however
//! early it arrives: both are blocked before `main` (so a signal that
//! arrives before the watcher thread starts stays pending), during the
//! compile phase of `tinyvm run` as in the first instructions of a built
//! executable.
//!
//! "Early" is measured from the moment the process has blocked them: the
//! test waits until /proc/PID/status shows both in `SigBlk`, then signals.
//! (Before that the dynamic loader runs, a millisecond in which the default
//! action applies to every program, C programs included.)

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;

/// Whether `pid` blocks SIGUSR1 and SIGUSR2 (from its `SigBlk` mask).
fn blocks_user_signals(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    let Some(mask) = status.lines().find_map(|l| l.strip_prefix("SigBlk:")) else { return false };
    let mask = u64::from_str_radix(mask.trim(), 16).unwrap_or(0);
    let bit = |sig: i32| 1u64 << (sig - 1);
    mask & bit(SIGUSR1) != 0 && mask & bit(SIGUSR2) != 0
}

fn send(child: &Child, signal: i32) {
    // SAFETY: kill only sends a signal to our own child process.
    let sent = unsafe { libc_kill(child.id() as i32, signal) };
    assert_eq!(sent, 0, "kill failed");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

fn spawn(mut command: Command) -> Child {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn")
}

/// Waits for the child with a time limit; returns (exit status, stdout).
fn finish(child: Child) -> (Option<i32>, String, String) {
    let out = child.wait_with_output().expect("wait");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into())
}

fn commands(src: &Path, exe: &Path) -> Vec<(&'static str, Command)> {
    let run = |mode: &str| {
        let mut c = Command::new(tinyvm());
        c.arg("run").arg(mode).arg(src).env_remove("TINYVM_STATS").env_remove("TINYVM_GC_STRESS");
        c
    };
    vec![("--jit=off", run("--jit=off")), ("--jit=auto", run("--jit=auto")), ("native", Command::new(exe))]
}

fn build(src: &Path, exe: &Path) {
    let out = run_tinyvm(&["build", src.to_str().unwrap(), "-o", exe.to_str().unwrap()]);
    assert_eq!(out.status, Some(0), "{out:?}");
}

/// A signal the moment the process has blocked them (and the watcher that
/// acts on them is not running yet): 100 times per mode, no death.
#[test]
fn an_early_signal_never_ends_a_program() {
    let dir = scratch();
    let src = dir.path().join("short.tvm");
    std::fs::write(&src, "var s = 0;\nfor (var i = 0; i < 1000; i = i + 1) s = s + i;\nprint s;\n").unwrap();
    let exe = dir.path().join("short");
    build(&src, &exe);
    let mut failures = Vec::new();
    for round in 0..100 {
        for (mode, command) in commands(&src, &exe) {
            let signal = if round % 2 == 0 { SIGUSR1 } else { SIGUSR2 };
            let child = spawn(command);
            let start = Instant::now();
            while !blocks_user_signals(child.id()) && start.elapsed() < Duration::from_secs(10) {
                std::hint::spin_loop();
            }
            send(&child, signal);
            let (status, stdout, _) = finish(child);
            if (status, stdout.as_str()) != (Some(0), "499500\n") {
                failures.push(format!("{mode}, signal {signal}, round {round}: {status:?} {stdout:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} runs ended badly:\n{}", failures.len(), failures.join("\n"));
}

/// `tinyvm run` of a big source compiles for a while before the program
/// starts: signals during the compile stay pending and do no harm.
#[test]
fn signals_during_a_long_compile_do_no_harm() {
    let dir = scratch();
    let src = dir.path().join("big.tvm");
    let mut text = String::new();
    for i in 0..400_000 {
        text.push_str(&format!("var g{i} = {i};\n"));
    }
    text.push_str("print g399999;\n");
    std::fs::write(&src, text).unwrap();
    for signal in [SIGUSR1, SIGUSR2] {
        let mut command = Command::new(tinyvm());
        command.arg("run").arg(&src).env_remove("TINYVM_STATS");
        let child = spawn(command);
        let start = Instant::now();
        let mut sent = 0;
        // A signal every few milliseconds while the process lives.
        while start.elapsed() < Duration::from_secs(30) {
            if std::fs::metadata(format!("/proc/{}/status", child.id())).is_err() {
                break;
            }
            if blocks_user_signals(child.id()) {
                send(&child, signal);
                sent += 1;
            }
            std::thread::sleep(Duration::from_millis(3));
            let done = std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true);
            if done {
                break;
            }
        }
        let (status, stdout, _) = finish(child);
        assert_eq!((status, stdout.as_str()), (Some(0), "399999\n"), "signal {signal}");
        assert!(sent >= 10, "only {sent} signals reached the compile phase");
    }
}

/// SIGUSR2 collects at the next safepoint and the program goes on; the
/// statistics count the collection.
#[test]
fn sigusr2_runs_a_collection_and_the_program_continues() {
    let dir = scratch();
    let src = dir.path().join("idle.tvm");
    // Allocates too little for a collection of its own, and keeps polling.
    std::fs::write(&src, "var t = clock();\nwhile (clock() - t < 0.6) {}\nprint \"done\";\n").unwrap();
    let exe = dir.path().join("idle");
    build(&src, &exe);
    for (mode, mut command) in commands(&src, &exe) {
        command.env("TINYVM_STATS", "1");
        let child = spawn(command);
        std::thread::sleep(Duration::from_millis(200));
        send(&child, SIGUSR2);
        let (status, stdout, stderr) = finish(child);
        assert_eq!((status, stdout.as_str()), (Some(0), "done\n"), "{mode}");
        let cycles = stderr
            .lines()
            .find_map(|l| l.strip_prefix("gc cycles"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{mode}: no gc cycles line in {stderr:?}"));
        assert_eq!(cycles, 1, "{mode}: {stderr}");
    }
}
