//! Declarations and statements, including classes, functions and `lock`.

use super::expr::MAX_ARGS;
use super::scope::{ClassScope, FunctionScope};
use super::Parser;
use crate::frontend::ast::*;
use crate::frontend::token::TokenKind;

/// Name of the hidden local that holds a `lock` statement's object.
const LOCK_SLOT_NAME: &str = " lock";

impl Parser<'_> {
    /// A declaration, with panic-mode recovery after an error.
    pub(super) fn declaration(&mut self) -> Option<Stmt> {
        let stmt = if self.matches(TokenKind::Class) {
            self.class_declaration()
        } else if self.matches(TokenKind::Fun) {
            self.fun_declaration()
        } else if self.matches(TokenKind::Var) {
            self.var_declaration()
        } else {
            self.statement()
        };
        if self.panic_mode {
            self.synchronize();
        }
        Some(stmt)
    }

    pub(super) fn statement(&mut self) -> Stmt {
        if !self.enter() {
            self.skip_to_end();
            self.leave();
            return Stmt::Block(Vec::new(), ScopeEnd::default());
        }
        let stmt = self.statement_inner();
        self.leave();
        stmt
    }

    fn statement_inner(&mut self) -> Stmt {
        use TokenKind::*;
        if self.matches(Print) {
            let value = self.expression();
            self.consume(Semicolon, "Expect ';' after value.");
            Stmt::Print(value, self.previous.line)
        } else if self.matches(For) {
            self.for_statement()
        } else if self.matches(If) {
            self.if_statement()
        } else if self.matches(Return) {
            self.return_statement()
        } else if self.matches(While) {
            self.while_statement()
        } else if self.matches(Lock) {
            self.lock_statement()
        } else if self.matches(Break) {
            self.loop_exit_statement(true)
        } else if self.matches(Continue) {
            self.loop_exit_statement(false)
        } else if self.matches(Import) {
            self.import_statement()
        } else if self.matches(LeftBrace) {
            self.begin_scope();
            let body = self.block();
            let end = self.end_scope();
            Stmt::Block(body, end)
        } else {
            self.expression_statement()
        }
    }

    pub(super) fn expression_statement(&mut self) -> Stmt {
        let value = self.expression();
        self.consume(TokenKind::Semicolon, "Expect ';' after expression.");
        Stmt::Expr(value, self.previous.line)
    }

    /// Declarations up to the closing `}`.
    fn block(&mut self) -> Vec<Stmt> {
        let mut body = Vec::new();
        let mut exited = false;
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.note_unreachable(&mut exited);
            if let Some(stmt) = self.declaration() {
                exited |= stmt.leaves();
                body.push(stmt);
            }
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after block.");
        body
    }

    pub(super) fn var_declaration(&mut self) -> Stmt {
        let target = self.parse_variable("Expect variable name.");
        let name = self.previous.text.clone();
        let init = if self.matches(TokenKind::Equal) { Some(self.expression()) } else { None };
        self.consume(TokenKind::Semicolon, "Expect ';' after variable declaration.");
        self.mark_initialized();
        Stmt::Var { name, target, init, line: self.previous.line }
    }

    fn fun_declaration(&mut self) -> Stmt {
        let target = self.parse_variable("Expect function name.");
        self.mark_initialized();
        let name = self.previous.text.clone();
        let decl = self.function(FunctionKind::Function, name);
        Stmt::Function { decl: Box::new(decl), target }
    }

    /// Parameters and body of a function whose name was just consumed.
    fn function(&mut self, kind: FunctionKind, name: String) -> FunctionDecl {
        // Functions nest through declarations, not statements: count them.
        if !self.enter() {
            self.skip_to_end();
        }
        let decl = self.function_body(kind, name);
        self.leave();
        decl
    }

    fn function_body(&mut self, kind: FunctionKind, name: String) -> FunctionDecl {
        let line = self.previous.line;
        let mut scope = FunctionScope::new(kind, name);
        scope.line = line;
        self.functions.push(scope);
        self.begin_scope();
        self.consume(TokenKind::LeftParen, "Expect '(' after function name.");
        let mut params = Vec::new();
        if !self.check(TokenKind::RightParen) {
            loop {
                if params.len() == MAX_ARGS {
                    self.error_at_current("Can't have more than 255 parameters.");
                }
                if let VarTarget::Local(slot) = self.parse_variable("Expect parameter name.") {
                    // Parameters are part of a function's interface: never warned about.
                    self.mark_read(slot);
                }
                params.push(self.previous.text.clone());
                self.mark_initialized();
                if !self.matches(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after parameters.");
        self.consume(TokenKind::LeftBrace, "Expect '{' before function body.");
        let body = self.block();
        let end_line = self.previous.line;
        self.finish_function(body, params, line, end_line)
    }

    fn class_declaration(&mut self) -> Stmt {
        if !self.enter() {
            self.skip_to_end();
        }
        let class = self.class_body();
        self.leave();
        class
    }

    fn class_body(&mut self) -> Stmt {
        self.consume(TokenKind::Identifier, "Expect class name.");
        let name = self.previous.text.clone();
        let line = self.previous.line;
        let target = self.declare_consumed();
        self.mark_initialized();
        self.classes.push(ClassScope { has_superclass: false, name: name.clone() });

        let mut superclass = None;
        if self.matches(TokenKind::Less) {
            self.consume(TokenKind::Identifier, "Expect superclass name.");
            let super_name = self.previous.text.clone();
            let read = Expr { kind: ExprKind::Variable(self.resolve(&super_name)), line: self.previous.line };
            if super_name == name {
                self.error("A class can't inherit from itself.");
            }
            self.begin_scope();
            let slot = self.add_local("super".to_string());
            self.mark_initialized();
            if let Some(class) = self.classes.last_mut() {
                class.has_superclass = true;
            }
            superclass = Some(Superclass { read, slot, end: ScopeEnd::default() });
        }
        let class_ref = self.resolve(&name);
        self.consume(TokenKind::LeftBrace, "Expect '{' before class body.");
        let mut methods = Vec::new();
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.consume(TokenKind::Identifier, "Expect method name.");
            let method_name = self.previous.text.clone();
            let kind = if method_name == "init" { FunctionKind::Initializer } else { FunctionKind::Method };
            let class_name = self.classes.last().map(|c| c.name.clone()).unwrap_or_default();
            methods.push(self.function(kind, format!("{}.{}", class_name, method_name)));
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after class body.");
        let end_line = self.previous.line;
        if let Some(s) = superclass.as_mut() {
            s.end = self.end_scope();
        }
        self.classes.pop();
        Stmt::Class(Box::new(ClassDecl { name, target, superclass, class_ref, methods, line, end_line }))
    }

    fn if_statement(&mut self) -> Stmt {
        self.consume(TokenKind::LeftParen, "Expect '(' after 'if'.");
        let cond = self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after condition.");
        let line = self.previous.line;
        let then = Box::new(self.statement());
        let otherwise = if self.matches(TokenKind::Else) { Some(Box::new(self.statement())) } else { None };
        Stmt::If { cond, then, otherwise, line }
    }

    fn return_statement(&mut self) -> Stmt {
        let kind = self.scope().kind;
        if kind == FunctionKind::Script || kind == FunctionKind::FileScript {
            self.error("Can't return from top-level code.");
        }
        let locks: Vec<u32> = self.scope().locks.iter().rev().copied().collect();
        if self.matches(TokenKind::Semicolon) {
            return Stmt::Return { value: None, locks, line: self.previous.line };
        }
        if kind == FunctionKind::Initializer {
            self.error("Can't return a value from an initializer.");
        }
        let value = self.expression();
        self.consume(TokenKind::Semicolon, "Expect ';' after return value.");
        Stmt::Return { value: Some(value), locks, line: self.previous.line }
    }

    /// Warns once when a statement follows a `return`, `break` or
    /// `continue` of the same block (`exited`), which it then clears.
    pub(super) fn note_unreachable(&mut self, exited: &mut bool) {
        if std::mem::take(exited) {
            let token = self.current.clone();
            self.warn_at(&token, "Unreachable statement.".to_string());
        }
    }

    /// `import "path";`, only at the top level of a file.
    fn import_statement(&mut self) -> Stmt {
        let line = self.previous.line;
        let at_top = self.functions.len() == 1 && self.scope().depth == 0 && self.nesting <= 1;
        if !at_top {
            self.error("Can only import at top level.");
        }
        self.consume(TokenKind::String, "Expect a file name string after 'import'.");
        let token = self.previous.clone();
        let path = if token.kind == TokenKind::String {
            let inner =
                self.lexer.slice((token.start + 1).min(token.end), token.end.saturating_sub(1).max(token.start));
            super::literal::string_bytes(inner).unwrap_or_else(|_| {
                self.error("Invalid escape sequence.");
                Vec::new()
            })
        } else {
            Vec::new()
        };
        self.consume(TokenKind::Semicolon, "Expect ';' after import.");
        Stmt::Import { path, file: None, line, span: token.start..token.end }
    }

    /// `lock (object) statement`.
    fn lock_statement(&mut self) -> Stmt {
        self.consume(TokenKind::LeftParen, "Expect '(' after 'lock'.");
        self.begin_scope();
        let object = self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after lock object.");
        let line = self.previous.line;
        let slot = self.add_local(LOCK_SLOT_NAME.to_string());
        self.mark_initialized();
        self.scope().locks.push(slot);
        let body = Box::new(self.statement());
        self.scope().locks.pop();
        let end = self.end_scope();
        Stmt::Lock { object, slot, body, end, line }
    }
}
