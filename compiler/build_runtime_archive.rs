//! Builds the runtime's static archive (with the executables' `main`) in a
//! nested cargo invocation under OUT_DIR and exposes it to `include_bytes!`,
//! so `tinyvm` is one self-contained binary that can link programs from
//! any directory (see DESIGN.md section 3, "Packaging").

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let runtime = manifest_dir.join("..").join("runtime");
    let target_dir = out_dir.join("runtime-target");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    println!("cargo:rerun-if-changed={}", runtime.join("src").display());
    println!("cargo:rerun-if-changed={}", runtime.join("Cargo.toml").display());
    println!("cargo:rerun-if-changed={}", manifest_dir.join("..").join("Cargo.toml").display());
    record_commit(&manifest_dir);

    let status = Command::new(&cargo)
        .args(["build", "--release", "--lib", "--features", "exe-main", "--manifest-path"])
        .arg(runtime.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        // A plain build even under `cargo clippy` (which wraps rustc).
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("building the runtime archive failed ({})", s),
        Err(e) => panic!("cannot run cargo to build the runtime archive: {}", e),
    }
    let archive = target_dir.join("release").join("libtinyvm_runtime.a");
    let dest = out_dir.join("libtinyvm_runtime.a");
    std::fs::copy(&archive, &dest).unwrap_or_else(|e| panic!("cannot copy {}: {}", archive.display(), e));
    // A hash of the whole archive names its cached copy (aot/archive.rs).
    let bytes = std::fs::read(&dest).unwrap_or_else(|e| panic!("cannot read {}: {}", dest.display(), e));
    let mut hasher = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut hasher, &bytes);
    let hash = std::hash::Hasher::finish(&hasher);
    println!("cargo:rustc-env=TINYVM_RUNTIME_HASH={:016x}", hash);
}

/// Sets `TINYVM_VERSION` for `tinyvm --version`: the package version and,
/// when built from a git checkout with git installed, the commit
/// (`0.1.0 (1a2b3c4d)`); the version alone
/// otherwise (a source tarball, no git).
fn record_commit(manifest_dir: &std::path::Path) {
    let version = env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(manifest_dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let described = match git(&["rev-parse", "--short=8", "HEAD"]) {
        Some(commit) => format!("{} ({})", version, commit),
        None => version,
    };
    // A new commit changes the reflog of HEAD; rebuild then.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={}/logs/HEAD", dir);
        println!("cargo:rerun-if-changed={}/HEAD", dir);
    }
    println!("cargo:rustc-env=TINYVM_VERSION={}", described);
}
