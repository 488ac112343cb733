//! The classic line-oriented TinyVM dialect, lowered to the same syntax tree
//! (and so the same bytecode) as the main language.
//!
//! One instruction per line; `/` starts a comment. Each `function NAME`
//! becomes a global function; `main` is called at the end of the script.
//! `set` declares or assigns a local, `setshared` a global; names in `add`
//! and `print` resolve to the function's locals first, then to globals.

use super::ast::*;
use super::diagnostic::{At, Diagnostic};
use std::collections::HashMap;

/// Hidden natives the lowering calls (not reachable from source code).
const STR: &str = "$str";
const SLEEP: &str = "$sleep";
const STACK_TRACE: &str = "$print_stack_trace";

/// The detection rule: the first line that is neither blank nor a comment
/// is exactly `function NAME`.
pub fn is_classic(source: &str) -> bool {
    source
        .lines()
        .map(strip_comment)
        .find(|l| !l.trim().is_empty())
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.len() == 2 && words[0] == "function" && is_name(words[1])
        })
        .unwrap_or(false)
}

fn strip_comment(line: &str) -> &str {
    match line.find('/') {
        Some(i) => &line[..i],
        None => line,
    }
}

fn is_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

struct Line<'a> {
    number: u32,
    /// Byte offset of the line in the source.
    start: usize,
    text: &'a str,
    words: Vec<&'a str>,
}

struct Lowering<'a> {
    diagnostics: Vec<Diagnostic>,
    functions: HashMap<&'a str, u32>,
}

/// Parses a classic program into the script that defines its functions and calls `main`.
pub fn parse(source: &str) -> Result<FunctionDecl, Vec<Diagnostic>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, raw) in source.split('\n').enumerate() {
        let text = strip_comment(raw);
        let words: Vec<&str> = text.split_whitespace().collect();
        if !words.is_empty() {
            lines.push(Line { number: i as u32 + 1, start, text, words });
        }
        start += raw.len() + 1;
    }
    let mut lowering = Lowering { diagnostics: Vec::new(), functions: HashMap::new() };
    for line in &lines {
        if line.words[0] == "function"
            && line.words.len() == 2
            && lowering.functions.insert(line.words[1], line.number).is_some()
        {
            lowering.error(line, line.words[1], "Function already defined.");
        }
    }
    let mut script_body = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let header = &lines[i];
        i += 1;
        if header.words[0] != "function" {
            lowering.error(header, header.words[0], "Expected 'function NAME' before instructions.");
            continue;
        }
        if header.words.len() != 2 {
            lowering.error(header, header.words[0], "'function' takes 1 operand.");
            continue;
        }
        let first = i;
        while i < lines.len() && lines[i].words[0] != "function" {
            i += 1;
        }
        let decl = lowering.function(header, &lines[first..i]);
        script_body.push(Stmt::Function { target: VarTarget::Global(decl.name.clone()), decl: Box::new(decl) });
    }
    let last_line = lines.last().map(|l| l.number).unwrap_or(1);
    match lowering.functions.get("main") {
        Some(_) => {
            let call = call(global("main", last_line), vec![], last_line);
            script_body.push(Stmt::Expr(call, last_line));
        }
        None => lowering.diagnostics.push(Diagnostic {
            message: "No 'main' function.".into(),
            line: last_line,
            at: At::End,
            span: source.len()..source.len(),
            file: 0,
        }),
    }
    if !lowering.diagnostics.is_empty() {
        return Err(lowering.diagnostics);
    }
    let script = FunctionDecl {
        name: "script".into(),
        short_name: "script".into(),
        kind: FunctionKind::Script,
        params: vec![],
        body: script_body,
        upvalues: vec![],
        line: 1,
        end_line: last_line,
    };
    Ok(script)
}

fn global(name: &str, line: u32) -> Expr {
    Expr { kind: ExprKind::Variable(VarRef::Global(name.to_string())), line }
}

fn call(callee: Expr, args: Vec<Expr>, line: u32) -> Expr {
    Expr { kind: ExprKind::Call(Box::new(callee), args), line }
}

impl<'a> Lowering<'a> {
    fn error(&mut self, line: &Line, word: &str, message: &str) {
        let offset = line.text.find(word).unwrap_or(0);
        let start = line.start + offset;
        self.diagnostics.push(Diagnostic {
            message: message.to_string(),
            line: line.number,
            at: At::Token(word.to_string()),
            span: start..start + word.len(),
            file: 0,
        });
    }

    fn function(&mut self, header: &Line<'a>, body: &[Line<'a>]) -> FunctionDecl {
        let name = header.words[1].to_string();
        let mut locals: HashMap<&'a str, u32> = HashMap::new();
        let mut stmts = Vec::new();
        for line in body {
            if let Some(stmt) = self.instruction(line, &mut locals) {
                stmts.push(stmt);
            }
        }
        let end_line = body.last().map(|l| l.number).unwrap_or(header.number);
        FunctionDecl {
            short_name: name.clone(),
            name,
            kind: FunctionKind::Function,
            params: vec![],
            body: stmts,
            upvalues: vec![],
            line: header.number,
            end_line,
        }
    }

    fn operands(&mut self, line: &Line, count: usize) -> bool {
        if line.words.len() != count + 1 {
            let plural = if count == 1 { "" } else { "s" };
            self.error(line, line.words[0], &format!("'{}' takes {} operand{}.", line.words[0], count, plural));
            return false;
        }
        true
    }

    fn integer(&mut self, line: &Line, word: &str) -> Option<Expr> {
        let digits = word.strip_prefix('-').unwrap_or(word);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            self.error(line, word, "Expected an integer constant.");
            return None;
        }
        Some(Expr { kind: ExprKind::Number(word.parse::<f64>().unwrap_or(0.0)), line: line.number })
    }

    fn name(&mut self, line: &Line, word: &str) -> bool {
        if !is_name(word) {
            self.error(line, word, "Expected a variable name.");
            return false;
        }
        true
    }

    /// A variable read: a local of this function, else a shared variable.
    fn read(&self, locals: &HashMap<&str, u32>, word: &str, line: u32) -> Expr {
        let r = match locals.get(word) {
            Some(&slot) => VarRef::Local(slot),
            None => VarRef::Global(word.to_string()),
        };
        Expr { kind: ExprKind::Variable(r), line }
    }

    /// An operand of `add`: a variable or an integer.
    fn operand(&mut self, line: &Line, locals: &HashMap<&str, u32>, word: &str) -> Option<Expr> {
        if is_name(word) {
            Some(self.read(locals, word, line.number))
        } else {
            self.integer(line, word)
        }
    }

    fn instruction(&mut self, line: &Line<'a>, locals: &mut HashMap<&'a str, u32>) -> Option<Stmt> {
        let n = line.number;
        let w = &line.words;
        match w[0] {
            "set" | "setshared" => {
                if !self.operands(line, 2) || !self.name(line, w[1]) {
                    return None;
                }
                let value = self.integer(line, w[2])?;
                Some(self.assign(locals, w[1], value, w[0] == "set", n))
            }
            "add" => {
                if !self.operands(line, 3) || !self.name(line, w[1]) {
                    return None;
                }
                let a = self.operand(line, locals, w[2])?;
                let b = self.operand(line, locals, w[3])?;
                let sum = Expr { kind: ExprKind::Binary(BinaryOp::Add, Box::new(a), Box::new(b)), line: n };
                Some(self.assign(locals, w[1], sum, false, n))
            }
            "print" => {
                if !self.operands(line, 1) || !self.name(line, w[1]) {
                    return None;
                }
                let label = Expr { kind: ExprKind::Str(format!("{} = ", w[1]).into_bytes()), line: n };
                let value = call(global(STR, n), vec![self.read(locals, w[1], n)], n);
                Some(Stmt::Print(
                    Expr { kind: ExprKind::Binary(BinaryOp::Add, Box::new(label), Box::new(value)), line: n },
                    n,
                ))
            }
            "sleep" => {
                if !self.operands(line, 1) {
                    return None;
                }
                let ms = self.integer(line, w[1])?;
                Some(Stmt::Expr(call(global(SLEEP, n), vec![ms], n), n))
            }
            "lock" | "unlock" => {
                if !self.operands(line, 1) || !self.name(line, w[1]) {
                    return None;
                }
                let object = Expr { kind: ExprKind::Str(w[1].as_bytes().to_vec()), line: n };
                Some(Stmt::Monitor { enter: w[0] == "lock", object, line: n })
            }
            "sync" | "async" => {
                if !self.operands(line, 1) {
                    return None;
                }
                if !self.functions.contains_key(w[1]) {
                    self.error(line, w[1], &format!("Unknown function '{}'.", w[1]));
                    return None;
                }
                let callee = global(w[1], n);
                let kind = if w[0] == "sync" {
                    ExprKind::Call(Box::new(callee), vec![])
                } else {
                    ExprKind::Spawn(Box::new(callee), vec![])
                };
                Some(Stmt::Expr(Expr { kind, line: n }, n))
            }
            "print_stack_trace" => {
                self.operands(line, 0).then(|| Stmt::Expr(call(global(STACK_TRACE, n), vec![], n), n))
            }
            "exit" => self.operands(line, 0).then_some(Stmt::Return { value: None, locks: vec![], line: n }),
            other => {
                self.error(line, other, "Unknown instruction.");
                None
            }
        }
    }

    /// `name = value`: a local when `local` or already a local, else shared.
    fn assign(&mut self, locals: &mut HashMap<&'a str, u32>, name: &'a str, value: Expr, local: bool, n: u32) -> Stmt {
        if let Some(&slot) = locals.get(name) {
            return Stmt::Expr(Expr { kind: ExprKind::Assign(VarRef::Local(slot), Box::new(value)), line: n }, n);
        }
        if local {
            let slot = locals.len() as u32 + 1;
            locals.insert(name, slot);
            return Stmt::Var { name: name.to_string(), target: VarTarget::Local(slot), init: Some(value), line: n };
        }
        Stmt::Var { name: name.to_string(), target: VarTarget::Global(name.to_string()), init: Some(value), line: n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_dialect() {
        assert!(is_classic("/ comment\n\nfunction main\nexit\n"));
        assert!(!is_classic("function main() {}\n"));
        assert!(!is_classic("print 1;\nfunction main\n"));
    }

    #[test]
    fn reports_malformed_programs() {
        let errors: Vec<String> = parse("function main\nfrob x\nset a\nset b 1.5\nsync nowhere\n")
            .err()
            .unwrap()
            .iter()
            .map(|d| d.short())
            .collect();
        assert_eq!(
            errors,
            vec![
                "[line 2] Error at 'frob': Unknown instruction.",
                "[line 3] Error at 'set': 'set' takes 2 operands.",
                "[line 4] Error at '1.5': Expected an integer constant.",
                "[line 5] Error at 'nowhere': Unknown function 'nowhere'.",
            ]
        );
        let no_main = parse("function f\nexit\n").err().unwrap();
        assert_eq!(no_main[0].short(), "[line 2] Error at end: No 'main' function.");
    }
}
