//! What the parser notices for warnings (DESIGN.md 1.4): locals never read,
//! statements after `return`/`break`/`continue`, and the program's global
//! reads and definitions, which the driver checks across all files once
//! every file is parsed (`frontend::warnings`).

use super::Parser;
use crate::frontend::diagnostic::{At, Diagnostic};
use crate::frontend::token::Token;
use std::collections::HashSet;
use std::ops::Range;

/// A read (or assignment) of a global by name.
#[derive(Clone, Debug)]
pub struct GlobalUse {
    pub name: String,
    pub line: u32,
    pub span: Range<usize>,
}

/// What one file's parse found for warnings.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// Warnings decided within the file (unused locals, unreachable code).
    pub warnings: Vec<Diagnostic>,
    pub global_uses: Vec<GlobalUse>,
    pub global_definitions: HashSet<String>,
}

/// Where a local was declared (for its warning); None for parameters,
/// `this` and hidden slots, which never warn.
#[derive(Clone, Debug)]
pub(super) struct Declared {
    pub line: u32,
    pub span: Range<usize>,
}

impl Parser<'_> {
    pub(super) fn warn_at(&mut self, token: &Token, message: String) {
        if self.abandoned {
            return;
        }
        // Warnings point with the caret alone.
        let at = At::Nothing;
        self.lints.warnings.push(Diagnostic { message, line: token.line, at, span: token.start..token.end, file: 0 });
    }

    /// A local that goes out of scope without having been read.
    pub(super) fn unused_local(&mut self, name: &str, declared: Declared) {
        if name.starts_with('_') {
            return;
        }
        let message = format!("Local variable '{}' is never read.", name);
        let at = At::Nothing;
        self.lints.warnings.push(Diagnostic { message, line: declared.line, at, span: declared.span, file: 0 });
    }

    /// A read or assignment of global `name` (the token just consumed).
    pub(super) fn global_use(&mut self, name: &str) {
        let token = &self.previous;
        let record = GlobalUse { name: name.to_string(), line: token.line, span: token.start..token.end };
        self.lints.global_uses.push(record);
    }
}
