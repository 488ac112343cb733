//! The scanner: source text to tokens, as clox scans.
//!
//! Errors become `Error` tokens whose text is the message ("Unexpected
//! character.", "Unterminated string."); the parser reports them.

use super::token::{Token, TokenKind};

#[derive(Clone)]
pub struct Lexer<'a> {
    src: &'a [u8],
    start: usize,
    current: usize,
    line: u32,
    line_start: usize,
    token_column: u32,
    /// Where the column was last computed, and that column (columns are
    /// counted incrementally, so long lines stay linear).
    column_at: usize,
    column: u32,
}

impl<'a> Lexer<'a> {
    /// The source bytes `start..end` (of a token).
    pub fn slice(&self, start: usize, end: usize) -> &'a [u8] {
        &self.src[start..end]
    }

    /// A lexer over source bytes: Lox strings are bytes, so string literals
    /// and comments may hold any (clox reads files as bytes too).
    pub fn new(source: &'a [u8]) -> Lexer<'a> {
        Lexer { src: source, start: 0, current: 0, line: 1, line_start: 0, token_column: 1, column_at: 0, column: 1 }
    }

    fn peek(&self) -> u8 {
        self.src.get(self.current).copied().unwrap_or(0)
    }

    fn peek_next(&self) -> u8 {
        self.src.get(self.current + 1).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.current >= self.src.len()
    }

    fn advance(&mut self) -> u8 {
        let c = self.peek();
        self.current += 1;
        if c == b'\n' {
            self.line += 1;
            self.line_start = self.current;
        }
        c
    }

    fn matches(&mut self, expected: u8) -> bool {
        if !self.at_end() && self.peek() == expected {
            self.current += 1;
            true
        } else {
            false
        }
    }

    fn make(&self, kind: TokenKind) -> Token {
        Token {
            kind,
            text: String::from_utf8_lossy(&self.src[self.start..self.current]).into_owned(),
            // clox's line: where the token ends (multi-line strings).
            line: self.line,
            column: self.token_column,
            start: self.start,
            end: self.current,
        }
    }

    fn error(&self, message: &str) -> Token {
        Token { text: message.to_string(), ..self.make(TokenKind::Error) }
    }

    fn skip_whitespace(&mut self) {
        loop {
            match self.peek() {
                b' ' | b'\r' | b'\t' | b'\n' if !self.at_end() => {
                    self.advance();
                }
                b'/' if self.peek_next() == b'/' => {
                    while self.peek() != b'\n' && !self.at_end() {
                        self.advance();
                    }
                }
                _ => return,
            }
        }
    }

    pub fn next_token(&mut self) -> Token {
        self.skip_whitespace();
        self.start = self.current;
        if self.column_at < self.line_start {
            self.column_at = self.line_start;
            self.column = 1;
        }
        let chars = self.src[self.column_at..self.start].iter().filter(|&&b| b & 0xC0 != 0x80).count();
        self.column += chars as u32;
        self.column_at = self.start;
        self.token_column = self.column;
        if self.at_end() {
            return self.make(TokenKind::Eof);
        }
        let c = self.advance();
        if c.is_ascii_alphabetic() || c == b'_' {
            return self.identifier();
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        use TokenKind::*;
        let kind = match c {
            b'(' => LeftParen,
            b')' => RightParen,
            b'{' => LeftBrace,
            b'}' => RightBrace,
            b'[' => LeftBracket,
            b']' => RightBracket,
            b';' => Semicolon,
            b',' => Comma,
            b'.' => Dot,
            b'-' => Minus,
            b'+' => Plus,
            b'/' => Slash,
            b'*' => Star,
            b'%' => Percent,
            b'!' => {
                if self.matches(b'=') {
                    BangEqual
                } else {
                    Bang
                }
            }
            b'=' => {
                if self.matches(b'=') {
                    EqualEqual
                } else {
                    Equal
                }
            }
            b'<' => {
                if self.matches(b'=') {
                    LessEqual
                } else {
                    Less
                }
            }
            b'>' => {
                if self.matches(b'=') {
                    GreaterEqual
                } else {
                    Greater
                }
            }
            b'"' => return self.string(),
            _ => {
                // Consume the rest of a multi-byte character so columns stay right.
                while !self.at_end() && self.peek() & 0xC0 == 0x80 {
                    self.advance();
                }
                return self.error("Unexpected character.");
            }
        };
        self.make(kind)
    }

    fn identifier(&mut self) -> Token {
        while self.peek().is_ascii_alphanumeric() || self.peek() == b'_' {
            self.advance();
        }
        let text = std::str::from_utf8(&self.src[self.start..self.current]).unwrap_or("");
        self.make(Token::keyword(text).unwrap_or(TokenKind::Identifier))
    }

    fn number(&mut self) -> Token {
        // `0x` and hexadecimal digits (the parser reads the value).
        if self.src[self.start] == b'0' && matches!(self.peek(), b'x' | b'X') && self.peek_next().is_ascii_hexdigit() {
            self.advance();
            while self.peek().is_ascii_hexdigit() {
                self.advance();
            }
            return self.make(TokenKind::Number);
        }
        while self.peek().is_ascii_digit() {
            self.advance();
        }
        if self.peek() == b'.' && self.peek_next().is_ascii_digit() {
            self.advance();
            while self.peek().is_ascii_digit() {
                self.advance();
            }
        }
        self.make(TokenKind::Number)
    }

    fn string(&mut self) -> Token {
        while self.peek() != b'"' && !self.at_end() {
            // A backslash escapes the next byte, so `\"` does not end the
            // string (the parser decodes and checks the escapes).
            if self.peek() == b'\\' && self.current + 1 < self.src.len() {
                self.advance();
            }
            self.advance();
        }
        if self.at_end() {
            return self.error("Unterminated string.");
        }
        self.advance();
        self.make(TokenKind::String)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let mut lexer = Lexer::new(src.as_bytes());
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token();
            out.push(t.kind);
            if t.kind == TokenKind::Eof {
                return out;
            }
        }
    }

    #[test]
    fn scans_operators_and_keywords() {
        use TokenKind::*;
        assert_eq!(
            kinds("a[1] % 2 >= spawn lock"),
            vec![Identifier, LeftBracket, Number, RightBracket, Percent, Number, GreaterEqual, Spawn, Lock, Eof]
        );
    }

    #[test]
    fn reports_unterminated_string_and_columns() {
        let mut lexer = Lexer::new(b"x\n  \"abc");
        assert_eq!(lexer.next_token().column, 1);
        let t = lexer.next_token();
        assert_eq!((t.kind, t.text.as_str(), t.line, t.column), (TokenKind::Error, "Unterminated string.", 2, 3));
    }
}
