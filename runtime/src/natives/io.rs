//! Natives that talk to the outside: stdin, stderr, exit, arguments, sleep,
//! and the classic dialect's stack trace. Blocking calls release the VM lock.

use crate::heap::oom::try_reserve;
use crate::heap::{grow_array, new_array, new_string, out_of_memory};
use crate::object::*;
use crate::sync::blocking;
use crate::value::Value;
use crate::vm::error::{capture_trace, raise};
use crate::vm::{Thread, Trap, Vm};
use std::io::{BufRead, Read};

pub fn getc(vm: &mut Vm, th: &mut Thread, _: &[Value]) -> Result<Value, Trap> {
    crate::output::flush_stdout();
    let byte = blocking(vm, th, || {
        let mut b = [0u8; 1];
        loop {
            match std::io::stdin().lock().read(&mut b) {
                Ok(0) => return Ok(-1.0),
                Ok(_) => return Ok(b[0] as f64),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    });
    byte.map(Value::number).map_err(|e| stdin_error(th, &e))
}

/// A failed read of stdin (a directory, a closed terminal): a runtime
/// error, so that a read error is not mistaken for the end of the input.
fn stdin_error(th: &mut Thread, e: &std::io::Error) -> Trap {
    raise(th, format!("Cannot read standard input: {}.", crate::output::io_error_text(e)))
}

pub fn read_line(vm: &mut Vm, th: &mut Thread, _: &[Value]) -> Result<Value, Trap> {
    crate::output::flush_stdout();
    // A line longer than the heap limit could never become a string.
    let max = vm.heap.limit;
    let line = blocking(vm, th, || read_stdin_line(max));
    match line {
        Ok(Some(bytes)) => Ok(Value::object(new_string(vm, th, &bytes)? as *mut Obj)),
        Ok(None) => Ok(Value::NIL),
        Err(LineError::NoMemory) => Err(out_of_memory(th)),
        Err(LineError::Read(e)) => Err(stdin_error(th, &e)),
    }
}

/// Why `read_stdin_line` returned no line.
enum LineError {
    NoMemory,
    Read(std::io::Error),
}

/// The next line of stdin without its line ending (`\n` or `\r\n`), `None`
/// at the end. Reads into memory reserved fallibly, at most `max` bytes
/// (`NoMemory` when the line does not fit).
fn read_stdin_line(max: usize) -> Result<Option<Vec<u8>>, LineError> {
    let mut stdin = std::io::stdin().lock();
    let mut buf = Vec::new();
    loop {
        let chunk = match stdin.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Read(e)),
        };
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if take > max.saturating_sub(buf.len()) || try_reserve(&mut buf, take).is_err() {
            return Err(LineError::NoMemory);
        }
        buf.extend_from_slice(&chunk[..take]);
        stdin.consume(take);
        if done {
            break;
        }
    }
    if buf.is_empty() {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(Some(buf))
}

pub fn print_error(_: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let mut out = Vec::new();
    if crate::print::try_write_value(&mut out, args[0], usize::MAX).is_err() || try_reserve(&mut out, 1).is_err() {
        return Err(out_of_memory(th));
    }
    out.push(b'\n');
    crate::output::write_stderr(&out);
    Ok(Value::NIL)
}

pub fn exit(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let v = args[0];
    if !v.is_number() || v.as_number().fract() != 0.0 {
        return Err(raise(th, "exit() expects an integer status."));
    }
    crate::stats::report_if_enabled(vm, th);
    crate::output::exit(v.as_number() as i32)
}

pub fn args(vm: &mut Vm, th: &mut Thread, _: &[Value]) -> Result<Value, Trap> {
    let array = new_array(vm, th, Vec::new())?;
    th.push(Value::object(array as *mut Obj));
    let filled = (|| {
        for arg in vm.options.args.clone() {
            let s = new_string(vm, th, arg.as_bytes())?;
            th.push(Value::object(s as *mut Obj));
            let grown = grow_array(vm, th, array, 1);
            th.pop();
            grown?;
            // SAFETY: the array is rooted on the stack and has room for the item.
            unsafe { (*array).with_vec(|v| v.push(Value::object(s as *mut Obj))) };
        }
        Ok(())
    })();
    th.pop();
    filled.map(|()| Value::object(array as *mut Obj))
}

pub fn sleep(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let v = args[0];
    if !v.is_number() || v.as_number().is_nan() {
        return Err(raise(th, "sleep() expects a number of milliseconds."));
    }
    let ms = v.as_number().max(0.0);
    // Too long for a Duration (up to infinity): sleep as long as one can.
    let duration = std::time::Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(std::time::Duration::MAX);
    crate::output::flush_stdout();
    blocking(vm, th, || std::thread::sleep(duration));
    Ok(Value::NIL)
}

/// The classic dialect's `print_stack_trace`: the call stack, innermost first
/// (this native's own caller is the innermost frame).
pub fn print_stack_trace(_: &mut Vm, th: &mut Thread, _: &[Value]) -> Result<Value, Trap> {
    let mut text = String::new();
    for line in capture_trace(th) {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    crate::output::write_stdout(text.as_bytes());
    Ok(Value::NIL)
}
