//! How values print (`print`, `str()`, array elements, map keys and
//! values, the gdb printer's model). Numbers print as `number.rs` says.

use crate::heap::oom::NoMemory;
use crate::object::*;
use crate::value::Value;

pub use crate::number::format_number;

/// Appends the printed form of `v` to `out`.
pub fn write_value(out: &mut Vec<u8>, v: Value) {
    if try_write_value(out, v, usize::MAX).is_err() {
        // No bound was given, so the system refused the memory.
        crate::heap::oom::die();
    }
}

/// Appends the printed form of `v` to `out` unless it would make `out`
/// longer than `max` bytes or the system has no memory for it: then `Err`,
/// with `out` holding some prefix of it. (An array that holds another
/// array many times prints it each time, so the text can be exponentially
/// longer than the array's memory.)
pub fn try_write_value(out: &mut Vec<u8>, v: Value, max: usize) -> Result<(), NoMemory> {
    let mut printer = Printer { out, max, failed: false };
    write_nested(&mut printer, v, &mut Vec::new());
    if printer.failed {
        Err(NoMemory)
    } else {
        Ok(())
    }
}

/// Where `write_nested` writes: text up to `max` bytes, in memory reserved
/// fallibly.
struct Printer<'a> {
    out: &'a mut Vec<u8>,
    max: usize,
    /// Some text did not fit: nothing more is written.
    failed: bool,
}

impl Printer<'_> {
    #[inline]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        let fits = bytes.len() <= self.max.saturating_sub(self.out.len());
        if !fits || crate::heap::oom::try_reserve(self.out, bytes.len()).is_err() {
            self.failed = true;
            return;
        }
        self.out.extend_from_slice(bytes);
    }

    #[inline]
    fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }
}

/// Arrays and maps nested deeper than this print as `[...]` and `{...}`
/// (a bound on recursion).
const MAX_NESTING: usize = 1000;

/// Whether the array or map `obj` is already being printed around this
/// point (or nested too deep): then writes `cycle` and returns true; else
/// enters it (pushes it on `path`, which the caller pops when done).
fn recurs(out: &mut Printer, obj: *mut Obj, path: &mut Vec<*mut Obj>, cycle: &[u8]) -> bool {
    if path.len() >= MAX_NESTING || path.contains(&obj) {
        out.extend_from_slice(cycle);
        return true;
    }
    path.push(obj);
    false
}

/// Writes `v`; `path` holds the arrays and maps being printed around it,
/// and one that contains itself prints as `[...]` (a map `{...}`) where it
/// recurs (as in Python), so a cycle costs one `[...]` per path, not an
/// exponential expansion.
fn write_nested(out: &mut Printer, v: Value, path: &mut Vec<*mut Obj>) {
    if v.is_number() {
        let mut buffer = crate::number::NumberBuffer::new();
        out.extend_from_slice(crate::number::number_text(v.as_number(), &mut buffer).as_bytes());
        return;
    }
    if !v.is_obj() {
        let text: &[u8] = match v {
            Value::NIL => b"nil",
            Value::TRUE => b"true",
            Value::FALSE => b"false",
            _ => b"<undefined>",
        };
        out.extend_from_slice(text);
        return;
    }
    let obj = v.as_obj();
    // SAFETY: object values point at live objects; the kind selects the
    // layout that each arm reads.
    unsafe {
        match (*obj).kind {
            ObjKind::String => out.extend_from_slice((*(obj as *mut ObjString)).bytes()),
            ObjKind::Function => write_function(out, obj as *mut ObjFunction),
            ObjKind::Closure => write_function(out, (*(obj as *mut ObjClosure)).function),
            ObjKind::BoundMethod => {
                write_function(out, (*(*(obj as *mut ObjBoundMethod)).method).function);
            }
            ObjKind::Native => out.extend_from_slice(b"<native fn>"),
            ObjKind::Class => out.extend_from_slice((*(*(obj as *mut ObjClass)).name).bytes()),
            ObjKind::Instance => {
                out.extend_from_slice((*(*(*(obj as *mut ObjInstance)).class).name).bytes());
                out.extend_from_slice(b" instance");
            }
            ObjKind::Array => {
                if recurs(out, obj, path, b"[...]") {
                    return;
                }
                out.push(b'[');
                for (i, &item) in (*(obj as *mut ObjArray)).items().iter().enumerate() {
                    if out.failed {
                        break;
                    }
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    write_nested(out, item, path);
                }
                out.push(b']');
                path.pop();
            }
            ObjKind::Map => {
                if recurs(out, obj, path, b"{...}") {
                    return;
                }
                out.push(b'{');
                for (i, entry) in (*(obj as *mut ObjMap)).live_entries().enumerate() {
                    if out.failed {
                        break;
                    }
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    write_nested(out, entry.key, path);
                    out.extend_from_slice(b": ");
                    write_nested(out, entry.value, path);
                }
                out.push(b'}');
                path.pop();
            }
            ObjKind::Thread => {
                out.extend_from_slice(format!("<thread {}>", (*(obj as *mut ObjThread)).id).as_bytes());
            }
            ObjKind::Upvalue => out.extend_from_slice(b"<upvalue>"),
            ObjKind::Shape => out.extend_from_slice(b"<shape>"),
        }
    }
}

/// # Safety
/// `f` must be a live function.
unsafe fn write_function(out: &mut Printer, f: *mut ObjFunction) {
    // SAFETY: guaranteed by the caller; a non-null name is a live string.
    unsafe {
        if (*f).name.is_null() {
            out.extend_from_slice(b"<script>");
        } else {
            out.extend_from_slice(b"<fn ");
            out.extend_from_slice((*(*f).name).bytes());
            out.push(b'>');
        }
    }
}

/// The printed form of `v` as a `String` (invalid UTF-8 replaced).
pub fn format_value(v: Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, v);
    String::from_utf8_lossy(&out).into_owned()
}
