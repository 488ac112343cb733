//! The gdb support script (`aot/gdb/tinyvm_gdb.py`): value printers,
//! convenience functions, the entry-stub unwinder and the frame filter,
//! completed with the runtime's object layout. `tinyvm gdb` sources it;
//! `tinyvm build -g` also embeds it in the executable's
//! `.debug_gdb_scripts` section for gdb's auto-load.

use tinyvm_runtime::object::layout;

const TEMPLATE: &str = include_str!("gdb/tinyvm_gdb.py");

/// The script's text.
pub fn script() -> String {
    let entries: Vec<String> = layout::for_debugger().iter().map(|(k, v)| format!("    \"{}\": {},", k, v)).collect();
    let dict = format!("{{\n{}\n}}", entries.join("\n"));
    TEMPLATE.replace("{{LAYOUT}}", &dict)
}

/// The contents of a `.debug_gdb_scripts` section holding the script inline
/// (kind 4: Python text; the first line names it; NUL-terminated).
pub fn debug_gdb_scripts() -> Vec<u8> {
    let mut out = vec![4u8];
    out.extend_from_slice(b"tinyvm-gdb.py\n");
    out.extend_from_slice(script().as_bytes());
    out.push(0);
    out
}

/// Writes the script to a stable path and returns it.
pub fn write_script() -> Result<std::path::PathBuf, String> {
    let dir = super::cache_dir().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {}", dir.display(), e))?;
    let path = dir.join(format!("tinyvm-gdb-{}.py", env!("CARGO_PKG_VERSION")));
    std::fs::write(&path, script()).map_err(|e| format!("cannot write {}: {}", path.display(), e))?;
    Ok(path)
}
