//! Every test program and example runs through `tinyvm run` with exactly
//! the output, errors and exit status its comments expect, and gives the
//! same result from its `.tvmc` file, with the JIT (`--jit=always`), and as
//! a native executable (`tinyvm build`, also under deopt stress): the
//! differential test of the interpreter against native code; and through
//! the optimizing tier.

mod common;

use common::*;
use std::time::Duration;

fn run_mode(path: &std::path::Path, e: &Expectations, extra: &[&str]) -> Outcome {
    let mut cmd = tinyvm_cmd(&["run"]);
    cmd.args(extra).arg(path).args(&e.args);
    run_with(cmd, e.stdin.as_bytes(), Duration::from_secs(60))
}

fn all_programs() -> Vec<std::path::PathBuf> {
    let mut files = test_programs();
    files.extend(example_programs());
    files
}

#[test]
fn programs_give_expected_output() {
    let mut failures = Vec::new();
    for path in all_programs() {
        let e = expectations(&path);
        let outcome = run_mode(&path, &e, &["--error-format=short"]);
        if let Err(msg) = check(&path.display().to_string(), &outcome, &e) {
            failures.push(msg);
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn bytecode_files_run_like_sources() {
    let dir = scratch();
    let mut failures = Vec::new();
    for path in all_programs() {
        let e = expectations(&path);
        if e.status == 65 {
            continue;
        }
        let tvmc = dir.path().join(path.file_name().unwrap()).with_extension("tvmc");
        let compiled = run_tinyvm(&["compile", path.to_str().unwrap(), "-o", tvmc.to_str().unwrap()]);
        assert_eq!(compiled.status, Some(0), "compile {}: {}", path.display(), compiled.stderr);
        let from_source = run_mode(&path, &e, &["--error-format=short"]);
        let from_bytecode = run_mode(&tvmc, &e, &["--error-format=short"]);
        if from_source != from_bytecode {
            failures.push(format!("{}: source {:?} bytecode {:?}", path.display(), from_source, from_bytecode));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn gc_stress_gives_the_same_results() {
    let mut failures = Vec::new();
    for path in all_programs() {
        let e = expectations(&path);
        if e.no_gc_stress {
            continue;
        }
        let mut cmd = tinyvm_cmd(&["run", "--error-format=short"]);
        cmd.arg(&path).args(&e.args).env("TINYVM_GC_STRESS", "1");
        let outcome = run_with(cmd, e.stdin.as_bytes(), Duration::from_secs(120));
        if let Err(msg) = check(&format!("{} (GC stress)", path.display()), &outcome, &e) {
            failures.push(msg);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Builds `path` into `dir` and runs the executable, optimized at load
/// (the default) and with every guard failing once (`TINYVM_DEOPT_STRESS`);
/// a compile error is the build's own outcome, for both.
fn build_and_run(path: &std::path::Path, e: &Expectations, dir: &std::path::Path) -> (Outcome, Outcome) {
    let exe = dir.join(path.file_stem().unwrap());
    let mut build = tinyvm_cmd(&["build", "--error-format=short"]);
    build.arg(path).arg("-o").arg(&exe);
    let built = run_with(build, b"", Duration::from_secs(60));
    if built.status != Some(0) {
        return (built.clone(), built);
    }
    let run = |stress: bool| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(&e.args).env_remove("TINYVM_GC_STRESS").env_remove("TINYVM_STATS").env_remove("TINYVM_OPT");
        if stress {
            cmd.env("TINYVM_DEOPT_STRESS", "1");
        } else {
            cmd.env_remove("TINYVM_DEOPT_STRESS");
        }
        run_with(cmd, e.stdin.as_bytes(), Duration::from_secs(60))
    };
    (run(false), run(true))
}

#[test]
fn jit_and_native_code_agree_with_the_interpreter() {
    let dir = scratch();
    let mut failures = Vec::new();
    for path in all_programs() {
        let e = expectations(&path);
        let interpreted = run_mode(&path, &e, &["--jit=off", "--error-format=short"]);
        let jit = run_mode(&path, &e, &["--jit=always", "--error-format=short"]);
        let tiered = run_mode(&path, &e, &["--jit=auto", "--error-format=short"]);
        let (native, native_stress) = build_and_run(&path, &e, dir.path());
        let modes = [
            ("interpreter", &interpreted),
            ("--jit=always", &jit),
            ("--jit=auto", &tiered),
            ("native", &native),
            ("native, deopt stress", &native_stress),
        ];
        for (mode, outcome) in modes {
            if let Err(msg) = check(&format!("{} ({})", path.display(), mode), outcome, &e) {
                failures.push(msg);
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// The optimizing tier (`TINYVM_OPT`): eager, and with every guard
/// failing once, every program gives what its comments expect.
#[test]
fn optimizing_tier_agrees_with_the_interpreter() {
    let mut failures = Vec::new();
    let modes: [(&str, &[(&str, &str)]); 2] = [
        ("opt eager", &[("TINYVM_OPT", "eager")]),
        ("deopt stress", &[("TINYVM_OPT", "eager"), ("TINYVM_DEOPT_STRESS", "1")]),
    ];
    for path in all_programs() {
        let e = expectations(&path);
        for (mode, env) in modes {
            let mut cmd = tinyvm_cmd(&["run", "--error-format=short"]);
            cmd.arg(&path).args(&e.args).envs(env.iter().copied());
            let outcome = run_with(cmd, e.stdin.as_bytes(), Duration::from_secs(60));
            if let Err(msg) = check(&format!("{} ({})", path.display(), mode), &outcome, &e) {
                failures.push(msg);
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
