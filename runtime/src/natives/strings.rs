//! String natives, byte-indexed as in Go and Lua: `slice` and `indexOf`
//! (which take arrays too), `split`, `join` (which also joins threads),
//! `upper`, `lower`, `trim`, `replace`, `startsWith`, `endsWith`.
//!
//! A string native never copies more than it returns: the result's bytes
//! go straight from the argument (or one buffer the size of the result) to
//! the new string, and a result equal to an argument is that argument.

use super::args::{self, array_value, vec_with_room};
use super::Native;
use crate::heap::oom::{try_reserve, NoMemory};
use crate::heap::{new_array, out_of_memory, string_value};
use crate::object::*;
use crate::value::Value;
use crate::vm::error::raise;
use crate::vm::{Thread, Trap, Vm};

pub const NATIVES: &[Native] = &[
    Native::optional("slice", 2, 3, slice),
    Native::fixed("indexOf", 2, index_of),
    Native::fixed("split", 2, split),
    Native::optional("join", 1, 2, join),
    Native::fixed("upper", 1, upper),
    Native::fixed("lower", 1, lower),
    Native::fixed("trim", 1, trim),
    Native::fixed("replace", 3, replace),
    Native::fixed("startsWith", 2, starts_with),
    Native::fixed("endsWith", 2, ends_with),
];

/// A bound of `slice`: an integer (or an infinity), counted from the end
/// when negative, then clamped to `0..=len` (as JavaScript's `slice`).
fn bound(th: &mut Thread, v: Value, len: usize) -> Result<usize, Trap> {
    let n = if v.is_number() { v.as_number() } else { f64::NAN };
    if n.is_nan() || (n.is_finite() && n.fract() != 0.0) {
        return Err(raise(th, "slice() expects integer indexes."));
    }
    let len = len as f64;
    let at = if n < 0.0 { (n + len).max(0.0) } else { n.min(len) };
    Ok(at as usize)
}

/// `slice(x, start, end?)`: the bytes of a string or the elements of an
/// array from `start` up to (not including) `end` (default: the length;
/// nil too). Negative indexes count from the end; out-of-range ones are
/// clamped to the ends; `end` at or before `start` gives an empty result.
pub fn slice(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let x = args[0];
    // SAFETY: `x` is an argument (rooted); the length is read before anything allocates.
    let len = unsafe {
        match x.obj_kind() {
            Some(ObjKind::String) => (*(x.as_obj() as *mut ObjString)).len,
            Some(ObjKind::Array) => (*(x.as_obj() as *mut ObjArray)).len,
            _ => return Err(raise(th, "slice() expects a string or an array.")),
        }
    };
    let start = bound(th, args[1], len)?;
    let end = match args.get(2) {
        Some(&v) if !v.is_nil() => bound(th, v, len)?,
        _ => len,
    };
    let end = end.max(start);
    if x.is_kind(ObjKind::String) {
        let bytes = args::string(th, args, 0, "")?;
        if start == 0 && end == len {
            return Ok(x);
        }
        return string_value(vm, th, &bytes[start..end]);
    }
    let mut items = vec_with_room(vm, th, end - start)?;
    // SAFETY: the array is an argument (rooted); nothing ran since its length was read.
    let source = unsafe { (*(x.as_obj() as *mut ObjArray)).items() };
    items.extend_from_slice(&source[start..end]);
    array_value(vm, th, items)
}

/// The offset of the first occurrence of `needle` in `haystack` at or
/// after `from` (an empty needle occurs at `from`).
pub fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = match needle.split_first() {
        Some(split) => split,
        None => return (from <= haystack.len()).then_some(from),
    };
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut i = from;
    while i <= last_start {
        i += haystack[i..=last_start].iter().position(|&b| b == first)?;
        if haystack[i + 1..i + needle.len()] == *rest {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// `indexOf(x, needle)`: the byte offset of the first occurrence of the
/// string `needle` in the string `x`, or the index of the first element
/// of the array `x` that `==` needle; -1 when there is none.
pub fn index_of(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let found = match args[0].obj_kind() {
        Some(ObjKind::String) => {
            let haystack = args::string(th, args, 0, "")?;
            let needle = args::string(th, args, 1, "indexOf() on a string expects a string to find.")?;
            find(haystack, needle, 0)
        }
        Some(ObjKind::Array) => {
            // SAFETY: the array is an argument (rooted); nothing here allocates.
            let items = unsafe { (*(args[0].as_obj() as *mut ObjArray)).items() };
            items.iter().position(|v| v.equals(args[1]))
        }
        _ => return Err(raise(th, "indexOf() expects a string or an array.")),
    };
    Ok(Value::number(found.map_or(-1.0, |i| i as f64)))
}

/// The pieces of `s` between occurrences of `sep` (every byte when `sep`
/// is empty).
fn pieces<'a>(s: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut at = Some(0);
    std::iter::from_fn(move || {
        let start = at?;
        if sep.is_empty() {
            at = (start + 1 < s.len()).then_some(start + 1);
            return s.get(start..start + 1);
        }
        match find(s, sep, start) {
            Some(i) => {
                at = Some(i + sep.len());
                Some(&s[start..i])
            }
            None => {
                at = None;
                Some(&s[start..])
            }
        }
    })
}

/// `split(s, sep)`: the array of the pieces of `s` between occurrences of
/// `sep`, or of its bytes when `sep` is `""` (`split("", "")` is `[]`;
/// `split("", ",")` is `[""]`).
pub fn split(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    const MESSAGE: &str = "split() expects two strings.";
    let s = args::string(th, args, 0, MESSAGE)?;
    let sep = args::string(th, args, 1, MESSAGE)?;
    let count = pieces(s, sep).count();
    // The array first, filled with nil, then each piece stored into it as
    // it is made: the array (rooted while the pieces allocate) holds them.
    let mut items = vec_with_room(vm, th, count)?;
    items.resize(count, Value::NIL);
    let array = new_array(vm, th, items)?;
    vm.temp_roots.push(Value::object(array as *mut Obj));
    let filled = (|| {
        for (i, piece) in pieces(s, sep).enumerate() {
            let piece = string_value(vm, th, piece)?;
            // SAFETY: the array is rooted and has `count` items; nothing else changes it.
            unsafe { (*array).with_vec(|v| v[i] = piece) };
        }
        Ok(())
    })();
    vm.temp_roots.pop();
    filled.map(|()| Value::object(array as *mut Obj))
}

/// Appends `bytes` to `out` in memory reserved fallibly, keeping `out`
/// within `max` bytes.
fn append(out: &mut Vec<u8>, bytes: &[u8], max: usize) -> Result<(), NoMemory> {
    if bytes.len() > max.saturating_sub(out.len()) {
        return Err(NoMemory);
    }
    try_reserve(out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// `join(array, sep)`: the elements as `str` shows them, with `sep`
/// between them. With one argument, `join(t)` waits for the thread `t`
/// (`sync::threads::join_native`): one name, told apart by the count.
pub fn join(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    if args.len() == 1 {
        return crate::sync::threads::join_native(vm, th, args);
    }
    const MESSAGE: &str = "join() expects an array and a string.";
    let array = args::array(th, args, 0, MESSAGE)?;
    let sep = args::string(th, args, 1, MESSAGE)?;
    // SAFETY: the array is an argument (rooted); nothing allocates on the heap until `out` is complete.
    let items = unsafe { (*array).items() };
    // Text longer than the heap limit could never become a string.
    let max = vm.heap.limit;
    let mut out = Vec::new();
    let mut joined = Ok(());
    for (i, &item) in items.iter().enumerate() {
        if i > 0 {
            joined = append(&mut out, sep, max);
        }
        joined = joined.and_then(|()| crate::print::try_write_value(&mut out, item, max));
        if joined.is_err() {
            return Err(out_of_memory(th));
        }
    }
    string_value(vm, th, &out)
}

/// `s` with `change` applied to every byte, or `s` itself when no byte
/// changes.
fn map_bytes(vm: &mut Vm, th: &mut Thread, args: &[Value], message: &str, change: fn(u8) -> u8) -> Result<Value, Trap> {
    let s = args::string(th, args, 0, message)?;
    let Some(first) = s.iter().position(|&b| change(b) != b) else {
        return Ok(args[0]);
    };
    let mut out = vec_with_room(vm, th, s.len())?;
    out.extend_from_slice(&s[..first]);
    out.extend(s[first..].iter().map(|&b| change(b)));
    string_value(vm, th, &out)
}

/// `upper(s)`: ASCII letters in upper case; other bytes unchanged.
pub fn upper(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    map_bytes(vm, th, args, "upper() expects a string.", |b| b.to_ascii_uppercase())
}

/// `lower(s)`: ASCII letters in lower case; other bytes unchanged.
pub fn lower(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    map_bytes(vm, th, args, "lower() expects a string.", |b| b.to_ascii_lowercase())
}

/// The ASCII whitespace `trim` removes: space, `\t`, `\n`, `\v`, `\f`,
/// `\r` (C's `isspace`).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `trim(s)`: `s` without leading and trailing ASCII whitespace.
pub fn trim(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let s = args::string(th, args, 0, "trim() expects a string.")?;
    let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_space(b)).map_or(start, |i| i + 1);
    if start == 0 && end == s.len() {
        return Ok(args[0]);
    }
    string_value(vm, th, &s[start..end])
}

/// `replace(s, old, new)`: `s` with every occurrence of `old` (from the
/// left, not overlapping) replaced by `new`. An empty `old` occurs before
/// every byte and at the end: `replace("ab", "", "-")` is `"-a-b-"` (as in
/// Go and JavaScript's `replaceAll`).
pub fn replace(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    const MESSAGE: &str = "replace() expects three strings.";
    let s = args::string(th, args, 0, MESSAGE)?;
    let old = args::string(th, args, 1, MESSAGE)?;
    let new = args::string(th, args, 2, MESSAGE)?;
    let count = if old.is_empty() { s.len() + 1 } else { pieces(s, old).count() - 1 };
    if count == 0 || old == new {
        return Ok(args[0]);
    }
    // Too large for memory (and refused) when it overflows.
    let size = (s.len() - count * old.len()).saturating_add(count.saturating_mul(new.len()));
    let mut out = vec_with_room(vm, th, size)?;
    if old.is_empty() {
        for &b in s {
            out.extend_from_slice(new);
            out.push(b);
        }
        out.extend_from_slice(new);
    } else {
        for (i, piece) in pieces(s, old).enumerate() {
            if i > 0 {
                out.extend_from_slice(new);
            }
            out.extend_from_slice(piece);
        }
    }
    string_value(vm, th, &out)
}

/// `startsWith(s, p)`: whether the string `s` begins with the string `p`.
pub fn starts_with(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    const MESSAGE: &str = "startsWith() expects two strings.";
    let s = args::string(th, args, 0, MESSAGE)?;
    let p = args::string(th, args, 1, MESSAGE)?;
    Ok(Value::bool(s.starts_with(p)))
}

/// `endsWith(s, p)`: whether the string `s` ends with the string `p`.
pub fn ends_with(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    const MESSAGE: &str = "endsWith() expects two strings.";
    let s = args::string(th, args, 0, MESSAGE)?;
    let p = args::string(th, args, 1, MESSAGE)?;
    Ok(Value::bool(s.ends_with(p)))
}

#[cfg(test)]
mod tests {
    use super::{find, pieces};

    #[test]
    fn find_finds_the_first_occurrence() {
        assert_eq!(find(b"hello", b"l", 0), Some(2));
        assert_eq!(find(b"hello", b"lo", 0), Some(3));
        assert_eq!(find(b"hello", b"", 0), Some(0));
        assert_eq!(find(b"hello", b"", 5), Some(5));
        assert_eq!(find(b"hello", b"", 6), None);
        assert_eq!(find(b"hello", b"hello!", 0), None);
        assert_eq!(find(b"aaab", b"ab", 0), Some(2));
        assert_eq!(find(b"abab", b"ab", 1), Some(2));
        assert_eq!(find(b"", b"a", 0), None);
    }

    #[test]
    fn pieces_split_like_javascript() {
        let split = |s: &'static [u8], sep: &'static [u8]| pieces(s, sep).collect::<Vec<_>>();
        assert_eq!(split(b"a,b,", b","), [&b"a"[..], b"b", b""]);
        assert_eq!(split(b"", b","), [&b""[..]]);
        assert!(split(b"", b"").is_empty());
        assert_eq!(split(b"ab", b""), [&b"a"[..], b"b"]);
        assert_eq!(split(b"a--b", b"--"), [&b"a"[..], b"b"]);
        assert_eq!(split(b"---", b"--"), [&b""[..], b"-"]);
    }
}
