//! Run-time statistics: `TINYVM_STATS=1` prints them at exit, SIGUSR1 prints
//! them while the program runs (through `signals`).
//!
//! Counters live where they are cheapest to bump (per thread, in the heap,
//! in the JIT) and are summed when printed. `print_statistics` takes the VM
//! lock before reading them, so it sees a consistent state.

use crate::sync::gil;
use crate::vm::{Thread, Vm};
use std::sync::atomic::{AtomicPtr, Ordering};

/// The VM, for `print_statistics` (one VM per process).
static VM: AtomicPtr<Vm> = AtomicPtr::new(std::ptr::null_mut());

/// Makes `vm` the VM that `print_statistics` reports on.
pub fn set_vm(vm: *mut Vm) {
    VM.store(vm, Ordering::Release);
}

/// The statistics text. The caller holds the VM lock.
pub fn render(vm: &Vm) -> String {
    let mut instructions = vm.thread_counts.ended_instructions;
    let mut calls = vm.thread_counts.ended_calls;
    for &t in &vm.threads {
        // SAFETY: registered threads are alive; the caller holds the VM lock.
        let t = unsafe { &*t };
        instructions += t.instructions;
        calls += t.calls;
    }
    let gc = &vm.heap.stats;
    let jit = vm.tier.stats();
    let (native_functions, interpreted_functions, osr_entries) = crate::vm::tier::function_counts();
    let mut text = String::from("-- tinyvm statistics --\n");
    let mut line = |k: &str, v: String| text.push_str(&format!("{:<28}{}\n", k, v));
    line("instructions interpreted", instructions.to_string());
    line("calls", calls.to_string());
    line("threads", vm.thread_counts.started.to_string());
    line("gc cycles", gc.cycles.to_string());
    line("bytes allocated", gc.bytes_allocated_total.to_string());
    line("bytes freed", gc.bytes_freed_total.to_string());
    line("heap bytes in use", vm.heap.bytes_allocated.to_string());
    line("longest gc pause", format!("{:.3} ms", gc.longest_pause_ns as f64 / 1e6));
    line("total gc pause", format!("{:.3} ms", gc.total_pause_ns as f64 / 1e6));
    line("functions native", native_functions.to_string());
    line("functions interpreted", interpreted_functions.to_string());
    line("jit compilations", jit.compiled.to_string());
    line("jit osr entries", osr_entries.to_string());
    line("jit code bytes", jit.code_bytes.to_string());
    line("jit code freed", format!("{} functions", jit.freed));
    line("jit compile time", format!("{:.3} ms", jit.compile_ns as f64 / 1e6));
    if let Some(opt) = jit.opt {
        line("opt compilations", opt.compiled.to_string());
        line("opt declined", opt.declined.to_string());
        line("opt code bytes", opt.code_bytes.to_string());
        line("opt compile time", format!("{:.3} ms", opt.compile_ns as f64 / 1e6));
        let per_function: Vec<f64> = opt.samples.iter().map(|&(ns, _)| ns as f64 / 1e3).collect();
        let per_byte: Vec<f64> = opt.samples.iter().map(|&(ns, bytes)| ns as f64 / bytes.max(1) as f64).collect();
        if let (Some(f), Some(b)) = (median_and_p99(per_function), median_and_p99(per_byte)) {
            line("opt time per function", format!("median {:.1} us, p99 {:.1} us", f.0, f.1));
            line("opt time per byte", format!("median {:.0} ns, p99 {:.0} ns", b.0, b.1));
        }
        for (name, n) in opt.deopts {
            line(&format!("deopts ({})", name), n.to_string());
        }
        line("opt invalidated", format!("{} functions", opt.invalidated));
    }
    text
}

/// Prints the statistics at exit when `TINYVM_STATS=1`.
pub fn report_if_enabled(vm: &mut Vm, th: &mut Thread) {
    if vm.options.stats {
        let _ = th;
        crate::output::write_stderr(render(vm).as_bytes());
    }
}

/// Prints the statistics now (SIGUSR1), holding the VM lock.
pub fn print_statistics() {
    gil::acquire();
    let vm = VM.load(Ordering::Acquire);
    if !vm.is_null() {
        // SAFETY: the VM lives until the process exits, and holding the VM
        // lock keeps every other thread parked.
        let text = render(unsafe { &*vm });
        crate::output::write_stderr(text.as_bytes());
    }
    gil::release();
}

/// The median and the 99th percentile (nearest rank) of `samples`.
fn median_and_p99(mut samples: Vec<f64>) -> Option<(f64, f64)> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let rank = |q: f64| samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    Some((rank(0.5), rank(0.99)))
}

#[cfg(test)]
mod tests {
    use super::median_and_p99;

    #[test]
    fn median_and_p99_by_nearest_rank() {
        assert_eq!(median_and_p99(Vec::new()), None);
        assert_eq!(median_and_p99(vec![5.0]), Some((5.0, 5.0)));
        let hundred: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(median_and_p99(hundred), Some((50.0, 99.0)));
        assert_eq!(median_and_p99(vec![3.0, 1.0, 2.0]), Some((2.0, 3.0)));
    }
}
