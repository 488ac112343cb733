//! Runtime errors: the message, the stack trace captured where it happened,
//! and the `Trap` marker that unwinds interpreter and native frames.
//!
//! A runtime error ends its thread (Lox has no catch), so unwinding is plain
//! error propagation: every frame returns `Err(Trap)` (native code returns
//! a non-zero status) until the thread's entry reports it.

use super::Thread;
use crate::bytecode::module::FunctionKind;

/// Marker: a runtime error is pending in `Thread::error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trap;

/// A runtime error with its trace, innermost frame first.
#[derive(Debug, Clone)]
pub struct RuntimeError {
    pub message: String,
    pub trace: Vec<TraceLine>,
}

/// One line of a stack trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceLine {
    pub line: u32,
    /// Function name as clox prints it; `None` for a script.
    pub function: Option<String>,
    /// The name as the program names it (`Counter.bump`, `fib`, `script`).
    pub qualified: String,
    /// The source file the function is in.
    pub file: String,
}

impl std::fmt::Display for TraceLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.function {
            Some(name) => write!(f, "[line {}] in {}()", self.line, name),
            None => write!(f, "[line {}] in script", self.line),
        }
    }
}

/// The current call stack of `th`, innermost first.
pub fn capture_trace(th: &Thread) -> Vec<TraceLine> {
    th.active_frames()
        .iter()
        .rev()
        .map(|frame| {
            // SAFETY: active frames hold live closures (they are on the stack).
            let function = unsafe { &*(*frame.closure).function };
            let line = function.line_at((frame.pc as usize).saturating_sub(1));
            let name = match function.kind {
                FunctionKind::Script | FunctionKind::FileScript => None,
                _ => Some(function.proto.short_name.clone()),
            };
            let qualified = match function.kind {
                FunctionKind::Script | FunctionKind::FileScript => "script".to_string(),
                _ => function.proto.name.clone(),
            };
            TraceLine { line, function: name, qualified, file: function.source_name().to_string() }
        })
        .collect()
}

/// Records a runtime error at the current position of `th` and returns the
/// trap to propagate. The current frame's `pc` must be up to date.
#[cold]
pub fn raise(th: &mut Thread, message: impl Into<String>) -> Trap {
    let trace = capture_trace(th);
    th.error = Some(Box::new(RuntimeError { message: message.into(), trace }));
    Trap
}

/// How runtime errors are reported.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ErrorFormat {
    /// For people: a very deep trace is shortened, saying how many frames
    /// it leaves out.
    #[default]
    Human,
    /// Exactly clox's lines: every frame of the trace.
    Short,
}

/// Innermost and outermost frames the human format shows of a deep trace;
/// the middle (typically runaway recursion) is summarized in one line.
const TRACE_HEAD: usize = 32;
const TRACE_TAIL: usize = 8;

/// Appends the trace lines of the short format: clox's, every frame.
pub fn write_trace(text: &mut String, trace: &[TraceLine]) {
    for line in trace {
        text.push_str(&line.to_string());
        text.push('\n');
    }
}

/// Writes a runtime error report to stderr. Short format: the message,
/// clox's trace lines and, for a spawned thread, `in <thread N>`. Human
/// format: `error: MESSAGE`, `--> file:line`, the source line when the
/// file can be read, the frames as the program names them with their file
/// and line (the middle of a very deep stack shortened, saying how many
/// frames it leaves out) and `note: in thread N` for a spawned thread.
pub fn report(error: &RuntimeError, thread_id: u64, format: ErrorFormat) {
    let mut text = String::new();
    match format {
        ErrorFormat::Short => {
            text.push_str(&error.message);
            text.push('\n');
            write_trace(&mut text, &error.trace);
            if thread_id != 1 {
                text.push_str(&format!("in <thread {}>\n", thread_id));
            }
        }
        ErrorFormat::Human => human_report(&mut text, error, thread_id),
    }
    crate::output::write_stderr(text.as_bytes());
}

fn human_report(text: &mut String, error: &RuntimeError, thread_id: u64) {
    use std::fmt::Write;
    let _ = writeln!(text, "error: {}", error.message);
    if let Some(top) = error.trace.first() {
        let _ = writeln!(text, "  --> {}:{}", top.file, top.line);
        if let Some(source) = source_line(&top.file, top.line) {
            let width = top.line.to_string().len();
            let _ = writeln!(text, "{:width$} |", "");
            let _ = writeln!(text, "{} | {}", top.line, source);
            let _ = writeln!(text, "{:width$} |", "");
        }
    }
    let elide = error.trace.len() > TRACE_HEAD + TRACE_TAIL + 1;
    for (i, frame) in error.trace.iter().enumerate() {
        if elide && i == TRACE_HEAD {
            let _ = writeln!(text, "    ... {} more frames ...", error.trace.len() - TRACE_HEAD - TRACE_TAIL);
        }
        if elide && i >= TRACE_HEAD && i < error.trace.len() - TRACE_TAIL {
            continue;
        }
        let _ = writeln!(text, "    at {} ({}:{})", frame.qualified, frame.file, frame.line);
    }
    if thread_id != 1 {
        let _ = writeln!(text, "note: in thread {}", thread_id);
    }
}

/// Line `line` of file `path`, when it can be read (a program whose
/// source moved or was deleted reports without it).
fn source_line(path: &str, line: u32) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let text = bytes.split(|&b| b == b'\n').nth(line.checked_sub(1)? as usize)?;
    Some(String::from_utf8_lossy(text).trim_end_matches('\r').to_string())
}
