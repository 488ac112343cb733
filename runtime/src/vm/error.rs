//! Runtime errors: the message, the stack trace captured where it happened,
//! and the `Trap` marker that unwinds interpreter and native frames.
//!
//! A runtime error ends its thread (Lox has no catch), so unwinding is plain
//! error propagation: every frame returns `Err(Trap)` (native code returns
//! a non-zero status) until the thread's entry reports it.

use super::Thread;
use crate::bytecode::module::FunctionKind;
use std::io::Write;
use termcolor::{Buffer, Color, ColorSpec, WriteColor};

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
    /// The column (in characters, from 1) of the token the instruction
    /// came from; 0 when the module records none.
    pub column: u32,
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
            let at = (frame.pc as usize).saturating_sub(1);
            let (line, column) = (function.line_at(at), function.column_at(at));
            let name = match function.kind {
                FunctionKind::Script | FunctionKind::FileScript => None,
                _ => Some(function.proto.short_name.clone()),
            };
            let qualified = match function.kind {
                FunctionKind::Script | FunctionKind::FileScript => "script".to_string(),
                _ => function.proto.name.clone(),
            };
            TraceLine { line, column, function: name, qualified, file: function.source_name().to_string() }
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
/// format: `error: MESSAGE`, `--> file:line:col`, the source line and a caret when the
/// file can be read (or is one of `options.sources`), the frames as the
/// program names them with their file, line and column (the middle of a very deep
/// stack shortened, saying how many frames it leaves out) and `note: in
/// thread N` for a spawned thread; coloured as rustc colours its errors
/// when `options.color` is set (the short format never is).
pub fn report(error: &RuntimeError, thread_id: u64, options: &super::Options) {
    let text = match options.error_format {
        ErrorFormat::Short => {
            let mut text = String::new();
            text.push_str(&error.message);
            text.push('\n');
            write_trace(&mut text, &error.trace);
            if thread_id != 1 {
                text.push_str(&format!("in <thread {}>\n", thread_id));
            }
            text.into_bytes()
        }
        ErrorFormat::Human => {
            let mut out = if options.color { Buffer::ansi() } else { Buffer::no_color() };
            // Writing to a buffer in memory cannot fail.
            let _ = human_report(&mut out, error, thread_id, &options.sources);
            out.into_inner()
        }
    };
    crate::output::write_stderr(&text);
}

/// The styles of the human format: codespan-reporting's (the compiler's
/// diagnostics), which follow rustc's.
fn style(color: Color) -> ColorSpec {
    let mut spec = ColorSpec::new();
    spec.set_fg(Some(color)).set_bold(true).set_intense(true);
    spec
}

fn bold() -> ColorSpec {
    let mut spec = ColorSpec::new();
    spec.set_bold(true).set_intense(true);
    spec
}

fn border() -> ColorSpec {
    let mut spec = ColorSpec::new();
    spec.set_fg(Some(Color::Cyan));
    spec
}

fn human_report(
    out: &mut Buffer,
    error: &RuntimeError,
    thread_id: u64,
    sources: &[(String, Vec<u8>)],
) -> std::io::Result<()> {
    out.set_color(&style(Color::Red))?;
    write!(out, "error")?;
    out.set_color(&bold())?;
    write!(out, ": {}", error.message)?;
    out.reset()?;
    writeln!(out)?;
    if let Some(top) = error.trace.first() {
        out.set_color(&border())?;
        write!(out, "  --> ")?;
        out.reset()?;
        writeln!(out, "{}", position(top))?;
        if let Some(source) = source_line(&top.file, top.line, sources) {
            let number = top.line.to_string();
            let pad = " ".repeat(number.len());
            out.set_color(&border())?;
            write!(out, "{pad} |")?;
            out.reset()?;
            writeln!(out)?;
            out.set_color(&border())?;
            write!(out, "{number} |")?;
            out.reset()?;
            writeln!(out, " {source}")?;
            out.set_color(&border())?;
            write!(out, "{pad} |")?;
            out.reset()?;
            // The caret under the column's character (tabs kept, so that
            // it lines up however wide the terminal draws them).
            let before = source.chars().take((top.column as usize).saturating_sub(1));
            if top.column > 0 && source.chars().count() >= top.column as usize {
                let indent: String = before.map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                write!(out, " {indent}")?;
                out.set_color(&style(Color::Red))?;
                write!(out, "^")?;
            }
            out.reset()?;
            writeln!(out)?;
        }
    }
    let elide = error.trace.len() > TRACE_HEAD + TRACE_TAIL + 1;
    for (i, frame) in error.trace.iter().enumerate() {
        if elide && i == TRACE_HEAD {
            writeln!(out, "    ... {} more frames ...", error.trace.len() - TRACE_HEAD - TRACE_TAIL)?;
        }
        if elide && i >= TRACE_HEAD && i < error.trace.len() - TRACE_TAIL {
            continue;
        }
        writeln!(out, "    at {} ({})", frame.qualified, position(frame))?;
    }
    if thread_id != 1 {
        out.set_color(&style(Color::Green))?;
        write!(out, "note")?;
        out.reset()?;
        writeln!(out, ": in thread {}", thread_id)?;
    }
    Ok(())
}

/// `file:line:column`, or `file:line` when no column is recorded.
fn position(frame: &TraceLine) -> String {
    match frame.column {
        0 => format!("{}:{}", frame.file, frame.line),
        column => format!("{}:{}:{}", frame.file, frame.line, column),
    }
}

/// Line `line` of source `name`: from `sources` when it is one of them,
/// else from the file when it can be read (a program whose source moved or
/// was deleted reports without it; a name in angle brackets is no file).
fn source_line(name: &str, line: u32, sources: &[(String, Vec<u8>)]) -> Option<String> {
    let read;
    let bytes = match sources.iter().find(|(n, _)| n == name) {
        Some((_, bytes)) => bytes,
        None if name.starts_with('<') => return None,
        None => {
            read = std::fs::read(name).ok()?;
            &read
        }
    };
    let text = bytes.split(|&b| b == b'\n').nth(line.checked_sub(1)? as usize)?;
    let text = if line == 1 { text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text) } else { text };
    Some(String::from_utf8_lossy(text).trim_end_matches('\r').to_string())
}
