//! Expressions: a Pratt parser with clox's precedence table, plus arrays,
//! indexing, `%` and `spawn`.

use super::Parser;
use crate::frontend::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use crate::frontend::token::TokenKind;

#[derive(Copy, Clone, PartialEq, PartialOrd)]
pub(super) enum Prec {
    None,
    Assignment,
    Or,
    And,
    Equality,
    Comparison,
    Term,
    Factor,
    Unary,
    Call,
    Primary,
}

impl Prec {
    fn next(self) -> Prec {
        use Prec::*;
        match self {
            None => Assignment,
            Assignment => Or,
            Or => And,
            And => Equality,
            Equality => Comparison,
            Comparison => Term,
            Term => Factor,
            Factor => Unary,
            Unary => Call,
            Call | Primary => Primary,
        }
    }
}

fn infix_precedence(kind: TokenKind) -> Prec {
    use TokenKind::*;
    match kind {
        LeftParen | Dot | LeftBracket => Prec::Call,
        Minus | Plus => Prec::Term,
        Slash | Star | Percent => Prec::Factor,
        BangEqual | EqualEqual => Prec::Equality,
        Greater | GreaterEqual | Less | LessEqual => Prec::Comparison,
        And => Prec::And,
        Or => Prec::Or,
        _ => Prec::None,
    }
}

/// Clox allows at most this many arguments (and parameters).
pub(super) const MAX_ARGS: usize = 255;

impl Parser<'_> {
    fn expr(&self, kind: ExprKind) -> Expr {
        Expr { kind, line: self.previous.line }
    }

    pub(super) fn expression(&mut self) -> Expr {
        self.parse_precedence(Prec::Assignment)
    }

    fn parse_precedence(&mut self, prec: Prec) -> Expr {
        if !self.enter() {
            self.skip_to_end();
            self.leave();
            return self.expr(ExprKind::Nil);
        }
        let e = self.parse_precedence_inner(prec);
        self.leave();
        e
    }

    fn parse_precedence_inner(&mut self, prec: Prec) -> Expr {
        self.advance();
        let can_assign = prec <= Prec::Assignment;
        let Some(mut left) = self.prefix(can_assign) else {
            self.error("Expect expression.");
            return self.expr(ExprKind::Nil);
        };
        // Each operator of a chain (`a + b + c`, `a.b.c`, `f()()`) nests the
        // tree one level deeper without recursing here, so it counts
        // towards the nesting limit too: the emitter recurses over the tree.
        let mut links = 0;
        while prec <= infix_precedence(self.current.kind) {
            links += 1;
            if !self.enter() {
                self.skip_to_end();
                break;
            }
            self.advance();
            left = self.infix(left, can_assign);
        }
        for _ in 0..links {
            self.leave();
        }
        if can_assign && self.matches(TokenKind::Equal) {
            self.error("Invalid assignment target.");
        }
        left
    }

    fn prefix(&mut self, can_assign: bool) -> Option<Expr> {
        use TokenKind::*;
        Some(match self.previous.kind {
            LeftParen => {
                let inner = self.expression();
                self.consume(RightParen, "Expect ')' after expression.");
                inner
            }
            LeftBracket => self.array(),
            Minus | Bang => {
                let op = if self.previous.kind == Minus { UnaryOp::Negate } else { UnaryOp::Not };
                let operand = self.parse_precedence(Prec::Unary);
                self.expr(ExprKind::Unary(op, Box::new(operand)))
            }
            Number => {
                let n = super::literal::number(&self.previous.text);
                self.expr(ExprKind::Number(n))
            }
            String => {
                // The bytes between the quotes, escapes decoded.
                let (start, end) = (self.previous.start, self.previous.end);
                let inner = self.lexer.slice((start + 1).min(end), end.saturating_sub(1).max(start));
                match super::literal::string_bytes(inner) {
                    Ok(bytes) => self.expr(ExprKind::Str(bytes)),
                    Err(_) => {
                        self.error("Invalid escape sequence.");
                        self.expr(ExprKind::Nil)
                    }
                }
            }
            False => self.expr(ExprKind::False),
            True => self.expr(ExprKind::True),
            Nil => self.expr(ExprKind::Nil),
            Identifier => {
                let name = self.previous.text.clone();
                self.named_variable(&name, can_assign)
            }
            This => self.this(),
            Super => self.super_(),
            Spawn => self.spawn(),
            _ => return None,
        })
    }

    fn infix(&mut self, left: Expr, can_assign: bool) -> Expr {
        use TokenKind::*;
        match self.previous.kind {
            LeftParen => {
                let args = self.arguments();
                self.expr(ExprKind::Call(Box::new(left), args))
            }
            Dot => self.dot(left, can_assign),
            LeftBracket => self.index(left, can_assign),
            And | Or => {
                let is_and = self.previous.kind == And;
                let right = self.parse_precedence(if is_and { Prec::And } else { Prec::Or });
                let kind = if is_and {
                    ExprKind::And(Box::new(left), Box::new(right))
                } else {
                    ExprKind::Or(Box::new(left), Box::new(right))
                };
                self.expr(kind)
            }
            kind => {
                let op = match kind {
                    Plus => BinaryOp::Add,
                    Minus => BinaryOp::Subtract,
                    Star => BinaryOp::Multiply,
                    Slash => BinaryOp::Divide,
                    Percent => BinaryOp::Modulo,
                    EqualEqual => BinaryOp::Equal,
                    BangEqual => BinaryOp::NotEqual,
                    Greater => BinaryOp::Greater,
                    GreaterEqual => BinaryOp::GreaterEqual,
                    Less => BinaryOp::Less,
                    _ => BinaryOp::LessEqual,
                };
                let right = self.parse_precedence(infix_precedence(kind).next());
                self.expr(ExprKind::Binary(op, Box::new(left), Box::new(right)))
            }
        }
    }

    fn named_variable(&mut self, name: &str, can_assign: bool) -> Expr {
        let assigning = can_assign && self.check(TokenKind::Equal);
        let target = if assigning { self.resolve_write(name) } else { self.resolve(name) };
        if can_assign && self.matches(TokenKind::Equal) {
            let value = self.expression();
            return self.expr(ExprKind::Assign(target, Box::new(value)));
        }
        self.expr(ExprKind::Variable(target))
    }

    /// Argument list after `(`.
    pub(super) fn arguments(&mut self) -> Vec<Expr> {
        let mut args = Vec::new();
        if !self.check(TokenKind::RightParen) {
            loop {
                let arg = self.expression();
                if args.len() == MAX_ARGS {
                    self.error("Can't have more than 255 arguments.");
                }
                args.push(arg);
                if !self.matches(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after arguments.");
        args
    }

    fn dot(&mut self, object: Expr, can_assign: bool) -> Expr {
        self.consume(TokenKind::Identifier, "Expect property name after '.'.");
        let name = self.previous.text.clone();
        if can_assign && self.matches(TokenKind::Equal) {
            let value = self.expression();
            self.expr(ExprKind::Set(Box::new(object), name, Box::new(value)))
        } else if self.matches(TokenKind::LeftParen) {
            let args = self.arguments();
            self.expr(ExprKind::Invoke(Box::new(object), name, args))
        } else {
            self.expr(ExprKind::Get(Box::new(object), name))
        }
    }

    fn array(&mut self) -> Expr {
        let mut items = Vec::new();
        while !self.check(TokenKind::RightBracket) && !self.check(TokenKind::Eof) {
            items.push(self.expression());
            if !self.matches(TokenKind::Comma) {
                break;
            }
        }
        self.consume(TokenKind::RightBracket, "Expect ']' after array elements.");
        self.expr(ExprKind::Array(items))
    }

    fn index(&mut self, object: Expr, can_assign: bool) -> Expr {
        let index = self.expression();
        self.consume(TokenKind::RightBracket, "Expect ']' after index.");
        if can_assign && self.matches(TokenKind::Equal) {
            let value = self.expression();
            return self.expr(ExprKind::SetIndex(Box::new(object), Box::new(index), Box::new(value)));
        }
        self.expr(ExprKind::Index(Box::new(object), Box::new(index)))
    }

    fn this(&mut self) -> Expr {
        if self.classes.is_empty() {
            self.error("Can't use 'this' outside of a class.");
            return self.expr(ExprKind::Nil);
        }
        let target = self.resolve("this");
        self.expr(ExprKind::Variable(target))
    }

    fn super_(&mut self) -> Expr {
        match self.classes.last() {
            None => self.error("Can't use 'super' outside of a class."),
            Some(class) if !class.has_superclass => self.error("Can't use 'super' in a class with no superclass."),
            _ => {}
        }
        self.consume(TokenKind::Dot, "Expect '.' after 'super'.");
        self.consume(TokenKind::Identifier, "Expect superclass method name.");
        let name = self.previous.text.clone();
        let this = self.resolve("this");
        if self.matches(TokenKind::LeftParen) {
            let args = self.arguments();
            let superclass = self.resolve("super");
            return self.expr(ExprKind::SuperCall { this, superclass, name, args });
        }
        let superclass = self.resolve("super");
        self.expr(ExprKind::SuperGet { this, superclass, name })
    }

    /// `spawn callee(args)`: the operand must be a call.
    fn spawn(&mut self) -> Expr {
        let call = self.parse_precedence(Prec::Call);
        match call.kind {
            ExprKind::Call(callee, args) => Expr { kind: ExprKind::Spawn(callee, args), line: call.line },
            ExprKind::Invoke(object, name, args) => {
                let line = call.line;
                let callee = Expr { kind: ExprKind::Get(object, name), line };
                Expr { kind: ExprKind::Spawn(Box::new(callee), args), line }
            }
            _ => {
                self.error("Expect a call after 'spawn'.");
                self.expr(ExprKind::Nil)
            }
        }
    }
}
