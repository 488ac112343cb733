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

/// Renders all diagnostics of one file in the chosen format.
pub fn render(diagnostics: &[Diagnostic], file_name: &str, source: &str, format: ErrorFormat) -> String {
    match format {
        ErrorFormat::Short => diagnostics.iter().map(|d| d.short() + "\n").collect(),
        ErrorFormat::Human => {
            let file = SimpleFile::new(file_name, source);
            let config = Config { chars: term::Chars::ascii(), ..Config::default() };
            let mut out = String::new();
            for d in diagnostics {
                let label_text = match &d.at {
                    At::Token(t) => format!("at '{}'", t),
                    At::End => "at end of file".to_string(),
                    At::Nothing => String::new(),
                };
                let end = d.span.end.max(d.span.start + 1).min(source.len().max(d.span.start));
                let span = d.span.start.min(source.len())..end;
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
