//! Files and the process: `readFile`, `writeFile`, `appendFile`, `getenv`,
//! `time`.
//!
//! Paths and contents are bytes (a path is the string's bytes, as a Unix
//! path is). File operations release the VM lock while they block
//! (`sync::blocking`), so other threads run meanwhile; a failure is a
//! result (nil or false), not an error, since a missing or unwritable file
//! is something a program expects. Running out of memory while reading is
//! the runtime error `Out of memory.`, as everywhere.

use super::args;
use super::Native;
use crate::heap::oom::{try_reserve, NoMemory};
use crate::heap::{out_of_memory, string_value};
use crate::sync::blocking;
use crate::value::Value;
use crate::vm::{Thread, Trap, Vm};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub const NATIVES: &[Native] = &[
    Native::fixed("readFile", 1, read_file),
    Native::fixed("writeFile", 2, write_file),
    Native::fixed("appendFile", 2, append_file),
    Native::fixed("getenv", 1, getenv),
    Native::fixed("time", 0, time),
];

fn path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// Why `read_all` returned no contents.
enum ReadError {
    NoMemory,
    /// The file cannot be opened or read.
    Failed,
}

impl From<NoMemory> for ReadError {
    fn from(_: NoMemory) -> Self {
        ReadError::NoMemory
    }
}

/// The contents of the file at `path`, read into memory reserved
/// fallibly, at most `max` bytes (`NoMemory` when it is longer).
fn read_all(path: &Path, max: usize) -> Result<Vec<u8>, ReadError> {
    let mut file = std::fs::File::open(path).map_err(|_| ReadError::Failed)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = Vec::new();
    // The size is a hint (the file may change); room for one more byte
    // shows the end without growing.
    let hint = usize::try_from(size).unwrap_or(usize::MAX).saturating_add(1);
    try_reserve(&mut buf, hint.min(max.saturating_add(1)))?;
    loop {
        if buf.len() == buf.capacity() {
            if buf.len() > max {
                return Err(ReadError::NoMemory);
            }
            let more = buf.len().clamp(8192, 1 << 30);
            try_reserve(&mut buf, more)?;
        }
        let start = buf.len();
        buf.resize(buf.capacity(), 0);
        let read = file.read(&mut buf[start..]);
        match read {
            Ok(0) => {
                buf.truncate(start);
                break;
            }
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(start),
            Err(_) => return Err(ReadError::Failed),
        }
    }
    if buf.len() > max {
        return Err(ReadError::NoMemory);
    }
    Ok(buf)
}

/// `readFile(path)`: the file's contents as a string, or nil when it
/// cannot be read (missing, a directory, no permission).
pub fn read_file(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let name = args::string(th, args, 0, "readFile() expects a path string.")?;
    // Contents longer than the heap limit could never become a string.
    let max = vm.heap.limit;
    // The path's bytes belong to a rooted, immutable string that no other
    // thread can free or move while the lock is released.
    match blocking(vm, th, || read_all(path(name), max)) {
        Ok(contents) => string_value(vm, th, &contents),
        Err(ReadError::Failed) => Ok(Value::NIL),
        Err(ReadError::NoMemory) => Err(out_of_memory(th)),
    }
}

/// Writes `contents` to the file at `name`, appending or replacing it.
fn write(vm: &mut Vm, th: &mut Thread, args: &[Value], message: &str, append: bool) -> Result<Value, Trap> {
    let name = args::string(th, args, 0, message)?;
    let contents = args::string(th, args, 1, message)?;
    // As in `read_file`: both strings stay valid while the lock is released.
    let written = blocking(vm, th, || {
        let mut options = std::fs::OpenOptions::new();
        if append {
            options.append(true);
        } else {
            options.write(true).truncate(true);
        }
        options.create(true).open(path(name)).and_then(|mut file| file.write_all(contents))
    });
    Ok(Value::bool(written.is_ok()))
}

/// `writeFile(path, s)`: replaces the file's contents with the string `s`
/// (creating the file); true, or false when it cannot be written.
pub fn write_file(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    write(vm, th, args, "writeFile() expects a path string and a string.", false)
}

/// `appendFile(path, s)`: adds the string `s` at the end of the file
/// (creating it); true, or false when it cannot be written.
pub fn append_file(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    write(vm, th, args, "appendFile() expects a path string and a string.", true)
}

/// `getenv(name)`: the environment variable's value as a string, or nil
/// when it is not set.
pub fn getenv(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let name = args::string(th, args, 0, "getenv() expects a name string.")?;
    // A name with `=` or NUL cannot be in the environment.
    if name.is_empty() || name.contains(&b'=') || name.contains(&0) {
        return Ok(Value::NIL);
    }
    match std::env::var_os(OsStr::from_bytes(name)) {
        Some(value) => string_value(vm, th, value.as_bytes()),
        None => Ok(Value::NIL),
    }
}

/// `time()`: seconds since the Unix epoch, with the fraction (microseconds
/// or better); negative before 1970.
pub fn time(_: &mut Vm, _: &mut Thread, _: &[Value]) -> Result<Value, Trap> {
    let now = std::time::SystemTime::now();
    let seconds = match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => since.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    };
    Ok(Value::number(seconds))
}
