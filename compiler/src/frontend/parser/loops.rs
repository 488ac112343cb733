//! Loops: `while`, `for`, `for (var x in ...)`, and `break` / `continue`,
//! which leave the innermost loop after undoing what its body began (the
//! `lock`s entered and the locals declared inside it).

use super::scope::LoopContext;
use super::Parser;
use crate::frontend::ast::*;
use crate::frontend::token::TokenKind;

/// Names of the hidden locals of a `for`-`in` loop (a space: no program
/// can name them).
const ITERATION_SLOTS: [&str; 3] = [" iterable", " position", " version"];

impl Parser<'_> {
    /// Parses a loop body with the loop open for `break`/`continue`.
    fn loop_body(&mut self) -> Stmt {
        let scope = self.scope();
        let context = LoopContext { depth: scope.depth, locks: scope.locks.len() };
        scope.loops.push(context);
        let body = self.statement();
        self.scope().loops.pop();
        body
    }

    pub(super) fn while_statement(&mut self) -> Stmt {
        self.consume(TokenKind::LeftParen, "Expect '(' after 'while'.");
        let cond = self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after condition.");
        let line = self.previous.line;
        let body = Box::new(self.loop_body());
        Stmt::While { cond, body, line }
    }

    pub(super) fn for_statement(&mut self) -> Stmt {
        self.begin_scope();
        self.consume(TokenKind::LeftParen, "Expect '(' after 'for'.");
        let line = self.previous.line;
        if self.check(TokenKind::Var) && self.is_for_in() {
            return self.for_in(line);
        }
        let init = if self.matches(TokenKind::Semicolon) {
            None
        } else if self.matches(TokenKind::Var) {
            Some(self.var_declaration())
        } else {
            Some(self.expression_statement())
        };
        let mut cond = None;
        if !self.matches(TokenKind::Semicolon) {
            cond = Some(self.expression());
            self.consume(TokenKind::Semicolon, "Expect ';' after loop condition.");
        }
        let mut increment = None;
        if !self.matches(TokenKind::RightParen) {
            increment = Some(self.expression());
            self.consume(TokenKind::RightParen, "Expect ')' after for clauses.");
        }
        let body = self.loop_body();
        let end = self.end_scope();
        Stmt::For(Box::new(ForLoop { init, cond, increment, body, end, line }))
    }

    /// Whether the tokens ahead are `var NAME in` (`in` is a keyword only there).
    fn is_for_in(&self) -> bool {
        let mut ahead = self.lexer.clone();
        let name = ahead.next_token();
        let word = ahead.next_token();
        name.kind == TokenKind::Identifier && word.kind == TokenKind::Identifier && word.text == "in"
    }

    /// The rest of `for (var NAME in iterable) body`, after `(`; the loop's
    /// outer scope is open.
    fn for_in(&mut self, line: u32) -> Stmt {
        self.consume(TokenKind::Var, "Expect 'var'.");
        self.consume(TokenKind::Identifier, "Expect variable name.");
        let name = self.previous.text.clone();
        self.consume(TokenKind::Identifier, "Expect 'in'.");
        let iterable = self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after for clauses.");
        let slot = self.add_local(ITERATION_SLOTS[0].to_string());
        self.mark_initialized();
        for hidden in &ITERATION_SLOTS[1..] {
            self.add_local(hidden.to_string());
            self.mark_initialized();
        }
        let scope = self.scope();
        let context = LoopContext { depth: scope.depth, locks: scope.locks.len() };
        scope.loops.push(context);
        self.begin_scope();
        self.add_local(name.clone());
        self.mark_initialized();
        let body = self.statement();
        let body_end = self.end_scope();
        self.scope().loops.pop();
        let end = self.end_scope();
        Stmt::ForIn(Box::new(ForIn { iterable, slot, name, body, body_end, end, line }))
    }

    /// `break;` or `continue;`: what leaving the innermost loop undoes.
    pub(super) fn loop_exit_statement(&mut self, is_break: bool) -> Stmt {
        let keyword = if is_break { "break" } else { "continue" };
        let line = self.previous.line;
        let exit = match self.scope().loops.last().copied() {
            Some(context) => self.exit_to(context),
            None => {
                self.error(&format!("Can't use '{}' outside of a loop.", keyword));
                LoopExit::default()
            }
        };
        self.consume(TokenKind::Semicolon, &format!("Expect ';' after '{}'.", keyword));
        if is_break {
            Stmt::Break { exit, line }
        } else {
            Stmt::Continue { exit, line }
        }
    }
}
