//! The parser: tokens to a resolved syntax tree, with clox's error handling.
//!
//! It follows the structure of clox's single-pass compiler (Pratt parsing
//! for expressions, recursive descent for statements, scopes resolved on the
//! fly) so that it reports the same errors, in the same order, with the same
//! panic-mode recovery, but it builds `ast` nodes instead of bytecode.
//! `expr.rs` parses expressions, `stmt.rs` statements and declarations,
//! `scope.rs` resolves names.

mod expr;
pub mod lints;
mod literal;
mod loops;
mod scope;
mod stmt;

use super::ast::{FunctionDecl, FunctionKind};
use super::diagnostic::{At, Diagnostic};
use super::lexer::Lexer;
use super::token::{Token, TokenKind};
use scope::{ClassScope, FunctionScope};

/// Parses one source file into its top-level function (`kind` is `Script`
/// for the main file, `FileScript` for an imported one) and what it found
/// for warnings. Returns every error found on failure.
pub fn parse(source: &[u8], kind: FunctionKind) -> Result<(FunctionDecl, lints::Findings), Vec<Diagnostic>> {
    let mut parser = Parser::new(source);
    parser.advance();
    parser.functions.push(FunctionScope::new(kind, "script".into()));
    let mut body = Vec::new();
    let mut exited = false;
    while !parser.matches(TokenKind::Eof) {
        parser.note_unreachable(&mut exited);
        if let Some(stmt) = parser.declaration() {
            exited |= stmt.leaves();
            body.push(stmt);
        }
    }
    let end_line = parser.previous.line;
    let script = parser.finish_function(body, Vec::new(), 1, end_line);
    if parser.diagnostics.is_empty() {
        Ok((script, parser.lints))
    } else {
        Err(parser.diagnostics)
    }
}

/// Deepest nesting of expressions, statements, functions and classes
/// accepted, operator chains included (a guard for the recursive parser,
/// emitter and tree destructor, far beyond real programs).
pub const MAX_NESTING: usize = 10_000;

pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    /// Current nesting depth of expressions and statements.
    nesting: usize,
    /// Parsing gave up (nesting too deep): no further errors are reported.
    abandoned: bool,
    current: Token,
    previous: Token,
    panic_mode: bool,
    diagnostics: Vec<Diagnostic>,
    functions: Vec<FunctionScope>,
    classes: Vec<ClassScope>,
    lints: lints::Findings,
}

impl<'a> Parser<'a> {
    fn new(source: &'a [u8]) -> Parser<'a> {
        let placeholder = Token { kind: TokenKind::Eof, text: String::new(), line: 1, column: 1, start: 0, end: 0 };
        Parser {
            lexer: Lexer::new(source),
            nesting: 0,
            abandoned: false,
            current: placeholder.clone(),
            previous: placeholder,
            panic_mode: false,
            diagnostics: Vec::new(),
            functions: Vec::new(),
            classes: Vec::new(),
            lints: lints::Findings::default(),
        }
    }

    fn advance(&mut self) {
        self.previous = std::mem::replace(&mut self.current, self.lexer.next_token());
        while self.current.kind == TokenKind::Error {
            let token = self.current.clone();
            self.error_at(&token, &token.text.clone());
            self.current = self.lexer.next_token();
        }
    }

    fn check(&self, kind: TokenKind) -> bool {
        self.current.kind == kind
    }

    fn matches(&mut self, kind: TokenKind) -> bool {
        if !self.check(kind) {
            return false;
        }
        self.advance();
        true
    }

    fn consume(&mut self, kind: TokenKind, message: &str) {
        if self.check(kind) {
            self.advance();
        } else {
            self.error_at_current(message);
        }
    }

    fn error_at(&mut self, token: &Token, message: &str) {
        if self.panic_mode || self.abandoned {
            return;
        }
        self.panic_mode = true;
        let at = match token.kind {
            TokenKind::Eof => At::End,
            TokenKind::Error => At::Nothing,
            _ => At::Token(token.text.clone()),
        };
        self.diagnostics.push(Diagnostic {
            message: message.to_string(),
            line: token.line,
            at,
            span: token.start..token.end,
            file: 0,
        });
    }

    /// An error at the token just consumed.
    fn error(&mut self, message: &str) {
        let token = self.previous.clone();
        self.error_at(&token, message);
    }

    fn error_at_current(&mut self, message: &str) {
        let token = self.current.clone();
        self.error_at(&token, message);
    }

    /// Skips to a likely statement boundary after an error.
    fn synchronize(&mut self) {
        self.panic_mode = false;
        while self.current.kind != TokenKind::Eof {
            if self.previous.kind == TokenKind::Semicolon {
                return;
            }
            use TokenKind::*;
            if matches!(self.current.kind, Class | Fun | Var | For | If | While | Print | Return | Lock) {
                return;
            }
            self.advance();
        }
    }

    /// Enters one level of nesting; false (after reporting) when too deep.
    fn enter(&mut self) -> bool {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            self.error_at_current("Too deeply nested.");
            self.abandoned = true;
            return false;
        }
        true
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    /// Skips the rest of the file (after `Too deeply nested.`: nothing
    /// sensible can follow, and every construct then finds the end).
    fn skip_to_end(&mut self) {
        while !self.check(TokenKind::Eof) {
            self.advance();
        }
    }

    fn scope(&mut self) -> &mut FunctionScope {
        self.functions.last_mut().expect("a function scope is always open")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        parse(src.as_bytes(), FunctionKind::Script).err().unwrap_or_default().iter().map(|d| d.short()).collect()
    }

    #[test]
    fn reports_like_clox() {
        assert_eq!(errors("print 1"), vec!["[line 1] Error at end: Expect ';' after value."]);
        assert_eq!(errors("var 1 = 2;"), vec!["[line 1] Error at '1': Expect variable name."]);
        assert_eq!(errors("return 1;"), vec!["[line 1] Error at 'return': Can't return from top-level code."]);
        assert_eq!(errors("print this;"), vec!["[line 1] Error at 'this': Can't use 'this' outside of a class."]);
        assert_eq!(
            errors("{ var a = a; }"),
            vec!["[line 1] Error at 'a': Can't read local variable in its own initializer."]
        );
    }

    #[test]
    fn recovers_and_reports_every_statement() {
        let e = errors("print 1\nprint 2;\nvar = 3;\nprint 4");
        assert_eq!(e.len(), 3, "{:?}", e);
    }

    #[test]
    fn no_fixed_local_limit() {
        let mut src = String::from("fun f() {\n");
        for i in 0..1000 {
            src.push_str(&format!("var v{} = {};\n", i, i));
        }
        src.push_str("}\n");
        assert!(parse(src.as_bytes(), FunctionKind::Script).is_ok());
    }
}
