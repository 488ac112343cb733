//! Compile errors and their two renderings: clox's one-line format
//! (`--error-format=short`) and rustc-style snippets (`human`, the default).

use super::program::SourceText;
use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use std::ops::Range;

/// Where an error points, as clox words it.
#[derive(Clone, Debug, PartialEq)]
pub enum At {
    /// `Error at 'x'`.
    Token(String),
    /// `Error at end`.
    End,
    /// `Error` (lexical errors).
    Nothing,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    /// Line as clox reports it.
    pub line: u32,
    pub at: At,
    /// Byte range in the source for the caret.
    pub span: Range<usize>,
    /// The file it is in (an index into the program's sources; 0 is the
    /// main file).
    pub file: usize,
}

/// How diagnostics are printed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorFormat {
    /// rustc-style: message, `--> file:line:col`, source line and caret.
    Human,
    /// clox's `[line N] Error at 'x': message` (alias: `lox`).
    #[value(alias = "lox")]
    Short,
}

impl ErrorFormat {
    /// The same choice for the runtime's error reports.
    pub fn for_runtime(self) -> tinyvm_runtime::vm::ErrorFormat {
        match self {
            ErrorFormat::Human => tinyvm_runtime::vm::ErrorFormat::Human,
            ErrorFormat::Short => tinyvm_runtime::vm::ErrorFormat::Short,
        }
    }
}

impl Diagnostic {
    /// clox's format.
    pub fn short(&self) -> String {
        let at = match &self.at {
            At::Token(t) => format!(" at '{}'", t),
            At::End => " at end".to_string(),
            At::Nothing => String::new(),
        };
        format!("[line {}] Error{}: {}", self.line, at, self.message)
    }
}

/// The source as text for snippets: bytes that are not UTF-8 (possible in
/// string literals and comments) show as U+FFFD. Returns the text and a map
/// from byte offsets of the source to offsets in the text.
fn lossy_text(source: &[u8]) -> (String, Box<dyn Fn(usize) -> usize>) {
    let mut text = String::with_capacity(source.len());
    // (source offset, text offset) where a replacement starts shifting them.
    let mut shifts: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    for chunk in source.utf8_chunks() {
        text.push_str(chunk.valid());
        at += chunk.valid().len();
        for _ in chunk.invalid() {
            text.push(char::REPLACEMENT_CHARACTER);
            at += 1;
            shifts.push((at, text.len()));
        }
    }
    let map = move |offset: usize| match shifts.partition_point(|&(s, _)| s <= offset) {
        0 => offset,
        i => shifts[i - 1].1 + (offset - shifts[i - 1].0),
    };
    (text, Box::new(map))
}

/// Renders compile errors (of any file of the program) in the chosen
/// format, then the closing `could not compile` line of the human format.
/// In the short format, errors in the main file are exactly clox's lines;
/// errors in an imported file say which file first (`util.tvm: [line 3]
/// Error at ...`).
pub fn render(diagnostics: &[Diagnostic], files: &[SourceText], format: ErrorFormat) -> String {
    let main = files.first().map(|f| f.name.as_str()).unwrap_or("");
    match format {
        ErrorFormat::Short => diagnostics.iter().map(|d| short_line(d, files) + "\n").collect(),
        ErrorFormat::Human => {
            let mut out = snippets(diagnostics, files, Severity::Error);
            let count = diagnostics.len();
            out.push_str(&format!(
                "error: could not compile `{}` due to {} previous error{}\n",
                main,
                count,
                if count == 1 { "" } else { "s" }
            ));
            out
        }
    }
}

/// Renders warnings (human format), then `warning: `main` generated N warnings`.
pub fn render_warnings(warnings: &[Diagnostic], files: &[SourceText]) -> String {
    let main = files.first().map(|f| f.name.as_str()).unwrap_or("");
    let mut out = snippets(warnings, files, Severity::Warning);
    let count = warnings.len();
    out.push_str(&format!("warning: `{}` generated {} warning{}\n", main, count, if count == 1 { "" } else { "s" }));
    out
}

fn short_line(d: &Diagnostic, files: &[SourceText]) -> String {
    match files.get(d.file) {
        Some(file) if d.file != 0 => format!("{}: {}", file.name, d.short()),
        _ => d.short(),
    }
}

/// Whether a diagnostic stops the build.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// rustc-style reports: `error: MESSAGE` (or `warning:`), `--> file:line:col`,
/// the source line and a caret.
pub fn snippets(diagnostics: &[Diagnostic], files: &[SourceText], severity: Severity) -> String {
    let mut table = SimpleFiles::new();
    let mut maps = Vec::new();
    for file in files {
        let (text, map) = lossy_text(&file.bytes);
        table.add(file.name.clone(), text);
        maps.push(map);
    }
    let config = Config { chars: term::Chars::ascii(), ..Config::default() };
    let mut out = String::new();
    for d in diagnostics {
        let label_text = match &d.at {
            At::Token(t) => format!("at '{}'", t),
            At::End => "at end of file".to_string(),
            At::Nothing => String::new(),
        };
        let (Some(map), Ok(source)) = (maps.get(d.file), table.get(d.file).map(|f| f.source().clone())) else {
            out.push_str(&format!("error: {}\n", d.message));
            continue;
        };
        let (start, end) = (map(d.span.start), map(d.span.end));
        let end = end.max(start + 1).min(source.len().max(start));
        let span = start.min(source.len())..end;
        let report = match severity {
            Severity::Error => Report::error(),
            Severity::Warning => Report::warning(),
        };
        let report = report
            .with_message(d.message.clone())
            .with_labels(vec![Label::primary(d.file, span).with_message(label_text)]);
        match term::emit_into_string(&config, &table, &report) {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push_str(&format!("error: {}\n  --> {}:{}\n", d.message, files[d.file].name, d.line)),
        }
    }
    out
}
