//! Threads and monitors: every thread program repeated 50 times (a wrong
//! result or a hang fails), fairness between busy threads, deadlock reports.

mod common;

use common::*;
use std::time::Duration;

fn thread_programs() -> Vec<std::path::PathBuf> {
    test_programs().into_iter().filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("threads_")).collect()
}

fn run_source(source: &str, limit: Duration) -> Outcome {
    let dir = scratch();
    let path = dir.path().join("prog.tvm");
    std::fs::write(&path, source).unwrap();
    let mut cmd = tinyvm_cmd(&["run", "--error-format=short"]);
    cmd.arg(&path);
    run_with(cmd, b"", limit)
}

#[test]
fn thread_programs_repeated_50_times() {
    let programs = thread_programs();
    assert!(programs.len() >= 4, "thread programs missing");
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for worker in 0..2 {
            let programs = &programs;
            let failures = &failures;
            scope.spawn(move || {
                for round in (worker..50).step_by(2) {
                    for path in programs {
                        let e = expectations(path);
                        let mut cmd = tinyvm_cmd(&["run", "--error-format=short"]);
                        cmd.arg(path);
                        let outcome = run_with(cmd, b"", Duration::from_secs(30));
                        if let Err(msg) = check(&format!("{} round {}", path.display(), round), &outcome, &e) {
                            failures.lock().unwrap().push(msg);
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} failures, first:\n{}", failures.len(), failures[0]);
}

#[test]
fn two_busy_threads_both_make_progress() {
    // Each thread counts loop iterations and records the longest pause
    // between two of its iterations (the time the other thread held the VM).
    let source = r#"
var counts = [0, 0];
var longest = [0, 0];
var stop = false;
fun busy(id) {
  var last = clock();
  while (!stop) {
    counts[id] = counts[id] + 1;
    var now = clock();
    if (now - last > longest[id]) longest[id] = now - last;
    last = now;
  }
}
var a = spawn busy(0);
var b = spawn busy(1);
var start = clock();
while (clock() - start < 0.4) {}
stop = true;
join(a);
join(b);
print counts[0] > 1000 and counts[1] > 1000;
print floor(longest[0] * 1000);
print floor(longest[1] * 1000);
"#;
    let outcome = run_source(source, Duration::from_secs(30));
    assert_eq!(outcome.status, Some(0), "{:?}", outcome);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(lines[0], "true", "a thread starved: {:?}", outcome);
    let worst: f64 = lines[1..].iter().map(|l| l.parse::<f64>().unwrap()).fold(0.0, f64::max);
    println!("longest pause of a busy thread: {} ms", worst);
    // Three threads compete (the main one spins too), so a thread may wait
    // about two slices of 5 ms; allow generous slack for a loaded machine.
    assert!(worst < 200.0, "a thread waited {} ms", worst);
}

#[test]
fn opposite_lock_order_is_reported_as_deadlock() {
    let source = r#"
var a = "a";
var b = "b";
fun first() { lock (a) { sleep(50); lock (b) { print "never"; } } }
fun second() { lock (b) { sleep(50); lock (a) { print "never"; } } }
var t1 = spawn first();
var t2 = spawn second();
join(t1);
"#;
    let outcome = run_source(source, Duration::from_secs(20));
    assert_eq!(outcome.status, Some(70));
    assert_eq!(
        outcome.stderr,
        "Deadlock: all threads are blocked.\n\
         <thread 1> in join() of <thread 2>:\n    [line 8] in script\n\
         <thread 2> waiting to enter a monitor:\n    [line 4] in first()\n\
         <thread 3> waiting to enter a monitor:\n    [line 5] in second()\n"
    );
}

#[test]
fn wait_with_nobody_left_to_notify_is_a_deadlock() {
    let source = "var o = \"x\";\nfun w() { lock (o) { wait(o); } }\nspawn w();\nprint \"main done\";\n";
    let outcome = run_source(source, Duration::from_secs(20));
    assert_eq!(outcome.status, Some(70));
    assert_eq!(outcome.stdout, "main done\n");
    assert_eq!(
        outcome.stderr,
        "Deadlock: all threads are blocked.\n\
         <thread 1> at the end of the script, waiting for other threads:\n\
         <thread 2> in wait():\n    [line 2] in w()\n"
    );
}

#[test]
fn threads_joining_each_other_deadlock() {
    let source = "var t1; var t2;\nfun f() { sleep(30); return join(t2); }\nfun g() { sleep(30); return join(t1); }\nt1 = spawn f();\nt2 = spawn g();\n";
    let outcome = run_source(source, Duration::from_secs(20));
    assert_eq!(outcome.status, Some(70));
    assert!(outcome.stderr.starts_with("Deadlock: all threads are blocked.\n"), "{:?}", outcome);
    assert!(outcome.stderr.contains("<thread 2> in join() of <thread 3>:\n    [line 2] in f()\n"));
    assert!(outcome.stderr.contains("<thread 3> in join() of <thread 2>:\n    [line 3] in g()\n"));
}

#[test]
fn runtime_error_in_main_exits_at_once() {
    // The spawned thread would run for 10 s; the main thread's error ends the process.
    let source = "fun slow() { sleep(10000); }\nspawn slow();\nprint nil + 1;\n";
    let start = std::time::Instant::now();
    let outcome = run_source(source, Duration::from_secs(20));
    assert_eq!(outcome.status, Some(70));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(outcome.stderr, "Operands must be two numbers or two strings.\n[line 3] in script\n");
}

#[test]
fn program_waits_for_all_threads() {
    let source = "fun late() { sleep(100); print \"thread done\"; }\nspawn late();\nprint \"main done\";\n";
    let outcome = run_source(source, Duration::from_secs(20));
    assert_eq!(outcome.status, Some(0));
    assert_eq!(outcome.stdout, "main done\nthread done\n");
}

#[test]
fn gc_stress_with_many_allocating_threads() {
    let source = r#"
class Node { init(v, next) { this.v = v; this.next = next; } }
fun build(n) { var list = nil; for (var i = 0; i < n; i = i + 1) list = Node(i, list); var s = 0; while (list != nil) { s = s + list.v; list = list.next; } return s; }
var ts = [];
for (var i = 0; i < 8; i = i + 1) push(ts, spawn build(200));
var total = 0;
for (var i = 0; i < 8; i = i + 1) total = total + join(ts[i]);
print total;
"#;
    let dir = scratch();
    let path = dir.path().join("gc.tvm");
    std::fs::write(&path, source).unwrap();
    let mut cmd = tinyvm_cmd(&["run"]);
    cmd.arg(&path).env("TINYVM_GC_STRESS", "1");
    let outcome = run_with(cmd, b"", Duration::from_secs(60));
    assert_eq!(outcome.stdout, "159200\n", "{:?}", outcome);
    assert_eq!(outcome.status, Some(0));
}

#[test]
fn spawning_past_the_thread_limit_is_a_runtime_error() {
    // Parked threads pile up until spawn refuses: a runtime error in the
    // script (exit 70), not a crash of the C library's thread setup.
    let out = run_source(
        "var m = \"gate\";\nfun park() { lock (m) { wait(m); } }\nwhile (true) spawn park();\n",
        Duration::from_secs(60),
    );
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (Some(70), "", "Cannot start a thread: 4096 threads are running, the most there can be.\n[line 3] in script\n")
    );
}
