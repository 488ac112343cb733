//! `tinyvm build`: standalone executables, linking, errors of the build
//! itself, `--no-fallback`, statistics and `disasm --native`.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn write(dir: &Path, name: &str, source: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path
}

fn build(src: &Path, exe: &Path, extra: &[&str]) -> Outcome {
    let mut cmd = tinyvm_cmd(&["build"]);
    cmd.args(extra).arg(src).arg("-o").arg(exe);
    run_with(cmd, b"", Duration::from_secs(120))
}

fn run_exe(exe: &Path) -> Outcome {
    let mut cmd = Command::new(exe);
    cmd.env_remove("TINYVM_STATS");
    run_with(cmd, b"", Duration::from_secs(60))
}

#[test]
fn executable_is_standalone() {
    let build_dir = scratch();
    let src = write(build_dir.path(), "hello.tvm", "fun greet(n) { return \"hi \" + n; }\nprint greet(\"there\");\n");
    let out_dir = scratch();
    let exe = out_dir.path().join("hello");
    assert_eq!(build(&src, &exe, &[]).status, Some(0));
    drop(build_dir); // the source, the object file and the build directory are gone
    let outcome = run_exe(&exe);
    assert_eq!((outcome.stdout.as_str(), outcome.status), ("hi there\n", Some(0)));

    let ldd = Command::new("ldd").arg(&exe).output().expect("ldd");
    let listing = String::from_utf8_lossy(&ldd.stdout);
    let allowed = ["linux-vdso", "libc.so", "ld-linux", "libm.so", "libpthread.so", "libdl.so", "librt.so"];
    for line in listing.lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(allowed.iter().any(|a| line.contains(a)), "unexpected library: {}\n{}", line, listing);
    }
}

#[test]
fn default_output_name_is_the_source_without_extension() {
    let dir = scratch();
    let src = write(dir.path(), "prog.tvm", "print 42;\n");
    let out = run_tinyvm(&["build", src.to_str().unwrap()]);
    assert_eq!(out.status, Some(0), "{:?}", out);
    assert_eq!(run_exe(&dir.path().join("prog")).stdout, "42\n");
}

/// `readelf ARGS EXE`'s output.
fn readelf(args: &[&str], exe: &Path) -> String {
    let out = Command::new("readelf").args(args).arg(exe).output().expect("readelf");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Executables are hardened as a C toolchain's defaults would have them:
/// PIE with full RELRO (`-z now`: no lazily bound, writable PLT slots).
#[test]
fn executables_have_full_relro() {
    let dir = scratch();
    let src = write(dir.path(), "h.tvm", "print \"hardened\";\n");
    let exe = dir.path().join("h");
    assert_eq!(build(&src, &exe, &[]).status, Some(0));
    let dynamic = readelf(&["-d"], &exe);
    assert!(dynamic.contains("BIND_NOW") || dynamic.contains("Flags: NOW"), "no BIND_NOW:\n{dynamic}");
    assert!(dynamic.contains("PIE"), "not a PIE:\n{dynamic}");
    assert!(readelf(&["-l"], &exe).contains("GNU_RELRO"), "no RELRO segment");
    assert_eq!(run_exe(&exe).stdout, "hardened\n");
}

/// `--static` makes a static PIE: no interpreter, no shared libraries,
/// position independent, full RELRO.
#[test]
fn static_executables_are_static_pies() {
    let dir = scratch();
    let src = write(dir.path(), "s.tvm", "var t = spawn clock();\njoin(t);\nprint \"static\";\n");
    let exe = dir.path().join("s");
    let out = build(&src, &exe, &["--static"]);
    assert_eq!(out.status, Some(0), "{:?}", out);
    let ldd = Command::new("ldd").arg(&exe).output().expect("ldd");
    let text = String::from_utf8_lossy(&ldd.stdout).to_string() + &String::from_utf8_lossy(&ldd.stderr);
    assert!(text.contains("not a dynamic executable") || text.contains("statically linked"), "{}", text);
    assert!(readelf(&["-h"], &exe).contains("DYN (Position-Independent Executable file)"), "not a PIE");
    let segments = readelf(&["-l"], &exe);
    assert!(!segments.contains("INTERP"), "has an interpreter:\n{segments}");
    assert!(segments.contains("GNU_RELRO"), "no RELRO segment");
    let dynamic = readelf(&["-d"], &exe);
    assert!(dynamic.contains("BIND_NOW") || dynamic.contains("Flags: NOW"), "no BIND_NOW:\n{dynamic}");
    assert_eq!(run_exe(&exe).stdout, "static\n");
}

#[test]
fn build_errors_are_clear() {
    let dir = scratch();
    let src = write(dir.path(), "p.tvm", "print 1;\n");
    // No C compiler driver on PATH.
    let mut cmd = tinyvm_cmd(&["build"]);
    cmd.arg(&src).arg("-o").arg(dir.path().join("p")).env("PATH", "/nonexistent").env_remove("CC");
    let out = run_with(cmd, b"", Duration::from_secs(60));
    assert_eq!(out.status, Some(69), "{:?}", out);
    assert!(out.stderr.starts_with("error: cannot link: no C compiler driver `cc` found on PATH"), "{}", out.stderr);
    // An output path that cannot be written.
    let out = build(&src, Path::new("/nonexistent/dir/p"), &[]);
    assert_eq!(out.status, Some(74));
    assert!(out.stderr.starts_with("error: cannot write '/nonexistent/dir/p'"), "{}", out.stderr);
    // A link that fails.
    let mut cmd = tinyvm_cmd(&["build"]);
    cmd.arg(&src).arg("-o").arg(dir.path().join("p")).env("CC", "false");
    let out = run_with(cmd, b"", Duration::from_secs(60));
    assert_eq!(out.status, Some(70));
    assert!(out.stderr.starts_with("error: linking with `false` failed"), "{}", out.stderr);
    // A compile error: exit 65 and no executable.
    let bad = write(dir.path(), "bad.tvm", "print ;\n");
    let out = build(&bad, &dir.path().join("bad"), &["--error-format=short"]);
    assert_eq!((out.stderr.as_str(), out.status), ("[line 1] Error at ';': Expect expression.\n", Some(65)));
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn no_fallback_and_statistics_on_every_program() {
    let dir = scratch();
    let mut programs = test_programs();
    programs.extend(example_programs());
    for path in programs {
        let e = expectations(&path);
        if e.status == 65 {
            continue;
        }
        let exe = dir.path().join("prog");
        let out = build(&path, &exe, &["--no-fallback"]);
        assert_eq!(out.status, Some(0), "{}: {:?}", path.display(), out);
        let mut cmd = Command::new(&exe);
        cmd.args(&e.args).env("TINYVM_STATS", "1");
        let run = run_with(cmd, e.stdin.as_bytes(), Duration::from_secs(60));
        let interpreted = run.stderr.lines().find(|l| l.starts_with("functions interpreted"));
        assert_eq!(
            interpreted.map(|l| l.split_whitespace().last().unwrap()),
            Some("0"),
            "{}: {}",
            path.display(),
            run.stderr
        );
    }
}

#[test]
fn disasm_native_shows_machine_code_beside_bytecode() {
    let dir = scratch();
    let src = write(dir.path(), "f.tvm", "fun f(x) { return x + 1; }\nprint f(2);\n");
    let out = run_tinyvm(&["disasm", "--native", src.to_str().unwrap()]);
    assert_eq!(out.status, Some(0));
    let f = &out.stdout[out.stdout.find("function f").expect("function f listed")..];
    assert!(f.contains("  native code: "), "{}", f);
    assert!(f.contains("push    rbp"), "{}", f);
    assert!(f.contains(";     0  GET_LOCAL"), "{}", f);
    assert!(f.contains("addsd   xmm0,xmm1"), "{}", f);
    assert!(f.contains("call    tvm_rt_add"), "the slow path calls the add helper: {}", f);
    assert!(out.stdout.contains("call    tvm_rt_print"));
}

/// `command ARGS` under `ulimit -s KB`.
fn with_stack_limit(kb: u32, command: &Path, args: &[&str]) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!("ulimit -s {kb} && exec \"$0\" \"$@\"")).arg(command).args(args);
    cmd.env_remove("TINYVM_STATS").env_remove("TINYVM_GC_STRESS");
    run_with(cmd, b"", Duration::from_secs(60))
}

#[test]
fn stack_overflow_is_reported_under_a_small_ulimit() {
    let program = programs_dir().join("stack_overflow.tvm");
    let expected = expectations(&program);
    let dir = scratch();
    let exe = dir.path().join("stack_overflow");
    // Built with the short format, the executable reports errors as clox does.
    assert_eq!(build(&program, &exe, &["--error-format=short"]).status, Some(0));
    let src = program.to_str().unwrap();
    for kb in [256, 1024] {
        for (label, out) in [
            ("run", with_stack_limit(kb, &tinyvm(), &["run", "--error-format=short", src])),
            ("jit", with_stack_limit(kb, &tinyvm(), &["run", "--jit=always", "--error-format=short", src])),
            ("native", with_stack_limit(kb, &exe, &[])),
        ] {
            if let Err(e) = check(&format!("{label} with ulimit -s {kb}"), &out, &expected) {
                panic!("{e}");
            }
        }
    }
}

/// The runtime archive is cached once per build of tinyvm; archives of
/// other builds are removed only when unused for a day, because another
/// tinyvm may be linking against one right now (two checkouts building at
/// once used to delete each other's archive mid-link).
#[test]
fn the_archive_cache_keeps_archives_other_builds_may_be_using() {
    let cache = scratch();
    let dir = cache.path().join("tinyvm");
    std::fs::create_dir_all(&dir).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let in_use = dir.join(format!("libtinyvm_runtime-{version}-0000000000000001.a"));
    let stale = dir.join(format!("libtinyvm_runtime-{version}-0000000000000002.a"));
    std::fs::write(&in_use, b"another build's archive").unwrap();
    std::fs::write(&stale, b"an old build's archive").unwrap();
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    std::fs::File::options().append(true).open(&stale).unwrap().set_modified(two_days_ago).unwrap();

    let work = scratch();
    let src = write(work.path(), "hello.tvm", "print \"cached\";\n");
    let exe = work.path().join("hello");
    let mut cmd = tinyvm_cmd(&["build"]);
    cmd.arg(&src).arg("-o").arg(&exe).env("XDG_CACHE_HOME", cache.path());
    let built = run_with(cmd, b"", Duration::from_secs(120));
    assert_eq!(built.status, Some(0), "{built:?}");
    assert_eq!(run_exe(&exe).stdout, "cached\n");
    assert!(in_use.exists(), "an archive used within the day was removed");
    assert!(!stale.exists(), "an archive unused for two days was kept");
    let ours: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("libtinyvm_runtime-") && n.ends_with(".a"))
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
}
