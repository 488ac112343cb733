//! Compile errors and their two renderings: clox's one-line format
//! (`--error-format=short`) and rustc-style snippets (`human`, the default).

use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::SimpleFile;
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
fn lossy_text(source: &[u8]) -> (String, impl Fn(usize) -> usize) {
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
    (text, map)
}

/// Renders all diagnostics of one file in the chosen format.
pub fn render(diagnostics: &[Diagnostic], file_name: &str, source: &[u8], format: ErrorFormat) -> String {
    match format {
        ErrorFormat::Short => diagnostics.iter().map(|d| d.short() + "\n").collect(),
        ErrorFormat::Human => {
            let (source, text_offset) = lossy_text(source);
            let source = source.as_str();
            let file = SimpleFile::new(file_name, source);
            let config = Config { chars: term::Chars::ascii(), ..Config::default() };
            let mut out = String::new();
            for d in diagnostics {
                let label_text = match &d.at {
                    At::Token(t) => format!("at '{}'", t),
                    At::End => "at end of file".to_string(),
                    At::Nothing => String::new(),
                };
                let (start, end) = (text_offset(d.span.start), text_offset(d.span.end));
                let end = end.max(start + 1).min(source.len().max(start));
                let span = start.min(source.len())..end;
                let report =
                    Report::error()
                        .with_message(d.message.clone())
                        .with_labels(vec![Label::primary((), span).with_message(label_text)]);
                if let Ok(text) = term::emit_into_string(&config, &file, &report) {
                    out.push_str(&text);
                } else {
                    out.push_str(&format!("error: {}\n  --> {}:{}\n", d.message, file_name, d.line));
                }
            }
            let count = diagnostics.len();
            out.push_str(&format!(
                "error: could not compile `{}` due to {} previous error{}\n",
                file_name,
                count,
                if count == 1 { "" } else { "s" }
            ));
            out
        }
    }
}
