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
            TraceLine { line, function: name }
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

/// Appends trace lines; the human format elides the middle of very deep stacks.
pub fn write_trace(text: &mut String, trace: &[TraceLine], format: ErrorFormat) {
    let elide = format == ErrorFormat::Human && trace.len() > TRACE_HEAD + TRACE_TAIL + 1;
    for (i, line) in trace.iter().enumerate() {
        if elide && i == TRACE_HEAD {
            text.push_str(&format!("... {} more frames ...\n", trace.len() - TRACE_HEAD - TRACE_TAIL));
        }
        if elide && i >= TRACE_HEAD && i < trace.len() - TRACE_TAIL {
            continue;
        }
        text.push_str(&line.to_string());
        text.push('\n');
    }
}

/// Writes a runtime error report: the message and the trace lines. Spawned
/// threads add a line that names the thread.
pub fn report(error: &RuntimeError, thread_id: u64, format: ErrorFormat) {
    let mut text = String::new();
    text.push_str(&error.message);
    text.push('\n');
    write_trace(&mut text, &error.trace, format);
    if thread_id != 1 {
        text.push_str(&format!("in <thread {}>\n", thread_id));
    }
    crate::output::write_stderr(text.as_bytes());
}
