//! The runtime's static archive, embedded in the `tinyvm` binary at build
//! time (see build_runtime_archive.rs) and written out once to a cache directory for `cc`.

use std::path::{Path, PathBuf};

static ARCHIVE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libtinyvm_runtime.a"));

use super::cache_dir;

fn archive_name() -> String {
    // A hash of the whole archive (computed by build_runtime_archive.rs) names the file, so
    // different builds never share a stale copy.
    format!("libtinyvm_runtime-{}-{}.a", env!("CARGO_PKG_VERSION"), env!("TINYVM_RUNTIME_HASH"))
}

fn write_atomically(path: &Path) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, ARCHIVE)?;
    std::fs::rename(&tmp, path)
}

/// How long an archive of another build stays in the cache unused: another
/// `tinyvm` (an older install, a checkout being developed) may be linking
/// against it right now, so only archives unused for this long are removed.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Marks the cached archive as used now (its modification time), so that
/// other builds of tinyvm do not take it for stale while this one links.
fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

/// Removes archives that other builds of this tinyvm version left behind
/// and have not used for `STALE_AFTER`.
fn remove_stale_archives(dir: &Path, keep: &Path) {
    let prefix = format!("libtinyvm_runtime-{}-", env!("CARGO_PKG_VERSION"));
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let unused_for = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        let stale = unused_for.is_some_and(|d| d > STALE_AFTER);
        if path != keep && stale && name.starts_with(&prefix) && name.ends_with(".a") {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A path to the runtime archive: the cached copy, or a fresh copy in
/// `scratch` when the cache cannot be used.
pub fn runtime_archive(scratch: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = cache_dir() {
        let path = dir.join(archive_name());
        let cached = std::fs::metadata(&path).map(|m| m.len() == ARCHIVE.len() as u64).unwrap_or(false);
        if cached {
            touch(&path);
            return Ok(path);
        }
        if std::fs::create_dir_all(&dir).is_ok() && write_atomically(&path).is_ok() {
            remove_stale_archives(&dir, &path);
            return Ok(path);
        }
    }
    let path = scratch.join("libtinyvm_runtime.a");
    std::fs::write(&path, ARCHIVE)
        .map_err(|e| format!("cannot write the runtime archive to {}: {}", path.display(), e))?;
    Ok(path)
}
