//! Fuzz target: `.tvmc` modules that verify must run the same with the
//! interpreter and with every function compiled.
//!
//! Decodes the input as `tvmc_loader` does (a whole file when it starts
//! with `TVMC`, else a bare payload) and verifies it in-process. A module
//! that verifies runs twice in forked children (`tinyvm::forked`): with
//! `JitMode::Off` and with `JitMode::Always`, each with fuel (so infinite
//! loops end at the same point in both) and a wall-clock limit. The target
//! panics (a crash for libFuzzer) when a child panics, dies of a signal or
//! hangs, or when the two differ in stdout, stderr or exit status.
//!
//! Coverage: libFuzzer sees only the parent's decoding and verification;
//! what the children execute is not fed back (their counters die with
//! them), so the search is guided by the verifier's coverage alone.
//!
//! Modules whose output or running time may depend on timing
//! (`forked::depends_on_timing`: threads, `clock`, `sleep`) run too, but
//! only crashes count for them, not differences or the time limit.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tinyvm::forked::{self, Job, Limits};
use tinyvm_runtime::bytecode::{tvmc, verify};
use tinyvm_runtime::vm::JitMode;

fuzz_target!(|data: &[u8]| {
    let decoded = if tvmc::looks_like_tvmc(data) { tvmc::decode(data) } else { tvmc::decode_payload(data) };
    let Ok(module) = decoded else { return };
    if verify::verify_module(&module).is_err() {
        return;
    }
    let limits = Limits { fuel: Some(20_000), time: Duration::from_secs(5), ..Limits::default() };
    let jobs = [Job::new(&module, JitMode::Off), Job::new(&module, JitMode::Always)];
    let runs = forked::run_all(&jobs, 2, &limits).expect("fork the children");
    let (off, always) = (&runs[0], &runs[1]);
    let timing = forked::depends_on_timing(&module);
    let failed = |run: &forked::Run| run.crashed() || (!timing && run.hung());
    assert!(
        !failed(off) && !failed(always),
        "a run crashed:\n  interpreter: {}\n  compiled:    {}",
        off.summary(),
        always.summary()
    );
    assert!(
        timing || off.agrees_with(always),
        "the tiers differ:\n  interpreter: {}\n  compiled:    {}",
        off.summary(),
        always.summary()
    );
});
