//! Name resolution during parsing: locals, scopes, upvalues (clox's rules).

use super::lints::Declared;
use super::Parser;
use crate::frontend::ast::{FunctionDecl, FunctionKind, ScopeEnd, Stmt, VarRef, VarTarget};
use crate::frontend::token::TokenKind;
use std::collections::HashMap;

pub(super) struct Local {
    name: String,
    /// Scope depth, or -1 while its initializer is being parsed.
    depth: i32,
    captured: bool,
    /// Read somewhere (for the unused-variable warning).
    read: bool,
    /// Where the program declared it (None: nothing to warn about).
    declared: Option<Declared>,
}

pub(super) struct FunctionScope {
    pub kind: FunctionKind,
    pub name: String,
    locals: Vec<Local>,
    /// The slots of the locals in scope by name, innermost last: finding a
    /// name costs the same however many locals a function has.
    by_name: HashMap<String, Vec<u32>>,
    pub upvalues: Vec<(bool, u32)>,
    pub depth: i32,
    /// Hidden slots of the `lock` statements around the current point.
    pub locks: Vec<u32>,
    /// The loops around the current point, innermost last.
    pub loops: Vec<LoopContext>,
    pub line: u32,
}

/// A loop whose body is being parsed: `break` and `continue` leave it.
#[derive(Copy, Clone, Debug)]
pub(super) struct LoopContext {
    /// Locals deeper than this are the loop's own (popped on leaving it).
    pub depth: i32,
    /// The enclosing `lock`s outside the loop (the rest are left on leaving).
    pub locks: usize,
}

pub(super) struct ClassScope {
    pub has_superclass: bool,
    pub name: String,
}

impl FunctionScope {
    pub fn new(kind: FunctionKind, name: String) -> FunctionScope {
        let slot0 = if matches!(kind, FunctionKind::Function | FunctionKind::FileScript) { "" } else { "this" };
        FunctionScope {
            kind,
            name,
            locals: vec![Local { name: slot0.to_string(), depth: 0, captured: false, read: true, declared: None }],
            by_name: HashMap::from([(slot0.to_string(), vec![0])]),
            upvalues: Vec::new(),
            depth: 0,
            locks: Vec::new(),
            loops: Vec::new(),
            line: 0,
        }
    }
}

impl Parser<'_> {
    pub(super) fn begin_scope(&mut self) {
        self.scope().depth += 1;
    }

    /// Ends a scope: its locals are popped (or closed, when captured).
    pub(super) fn end_scope(&mut self) -> ScopeEnd {
        let line = self.previous.line;
        let scope = self.scope();
        scope.depth -= 1;
        let mut pops = Vec::new();
        let mut unread = Vec::new();
        while scope.locals.last().is_some_and(|l| l.depth > scope.depth) {
            let local = scope.locals.pop().expect("checked above");
            if let Some(slots) = scope.by_name.get_mut(&local.name) {
                slots.pop();
            }
            pops.push(local.captured);
            if let (false, Some(declared)) = (local.read, local.declared) {
                unread.push((local.name, declared));
            }
        }
        for (name, declared) in unread.into_iter().rev() {
            self.unused_local(&name, declared);
        }
        ScopeEnd { pops, line }
    }

    /// What leaving the loop `context` undoes from here: the locks entered
    /// and the locals declared since it began, innermost first.
    pub(super) fn exit_to(&mut self, context: LoopContext) -> crate::frontend::ast::LoopExit {
        let scope = self.scope();
        let locks = scope.locks[context.locks..].iter().rev().copied().collect();
        let pops = scope.locals.iter().rev().take_while(|l| l.depth > context.depth).map(|l| l.captured).collect();
        crate::frontend::ast::LoopExit { locks, pops }
    }

    /// Adds a local for `name` (uninitialized) and returns its slot. A
    /// hidden local (its name starts with a space) is never warned about.
    pub(super) fn add_local(&mut self, name: String) -> u32 {
        // Hidden locals (named with a leading space) and a subclass's
        // `super` are the language's, not the program's: never warned about.
        let declared = (!name.starts_with(' ') && name != "super")
            .then_some(Declared { line: self.previous.line, span: self.previous.start..self.previous.end });
        let scope = self.scope();
        let slot = scope.locals.len() as u32;
        scope.by_name.entry(name.clone()).or_default().push(slot);
        scope.locals.push(Local { name, depth: -1, captured: false, read: false, declared });
        slot
    }

    /// Marks local `slot` of the current function as read (parameters,
    /// which are never warned about, and locals read in ways the parser
    /// does not see as a name).
    pub(super) fn mark_read(&mut self, slot: u32) {
        if let Some(local) = self.scope().locals.get_mut(slot as usize) {
            local.read = true;
        }
    }

    /// Declares the identifier just consumed in the current scope.
    fn declare_variable(&mut self) -> Option<u32> {
        if self.scope().depth == 0 {
            return None;
        }
        let name = self.previous.text.clone();
        let scope = self.scope();
        // Locals of the current scope are the most recent ones, so only the
        // innermost local of this name can be in it.
        let innermost = scope.by_name.get(&name).and_then(|slots| slots.last());
        let duplicate = innermost.is_some_and(|&slot| {
            let depth = scope.locals[slot as usize].depth;
            depth == -1 || depth >= scope.depth
        });
        if duplicate {
            self.error("Already a variable with this name in this scope.");
        }
        Some(self.add_local(name))
    }

    /// Consumes a variable name and declares it.
    pub(super) fn parse_variable(&mut self, message: &str) -> VarTarget {
        self.consume(TokenKind::Identifier, message);
        self.declare_consumed()
    }

    /// Declares the identifier just consumed: a local slot or a global.
    pub(super) fn declare_consumed(&mut self) -> VarTarget {
        match self.declare_variable() {
            Some(slot) => VarTarget::Local(slot),
            None => {
                let name = self.previous.text.clone();
                self.lints.global_definitions.insert(name.clone());
                VarTarget::Global(name)
            }
        }
    }

    pub(super) fn mark_initialized(&mut self) {
        let scope = self.scope();
        if scope.depth == 0 {
            return;
        }
        let depth = scope.depth;
        if let Some(local) = scope.locals.last_mut() {
            local.depth = depth;
        }
    }

    /// Resolves a name read at the current point.
    pub(super) fn resolve(&mut self, name: &str) -> VarRef {
        self.resolve_use(name, true)
    }

    /// Resolves a name assigned at the current point (not a read).
    pub(super) fn resolve_write(&mut self, name: &str) -> VarRef {
        self.resolve_use(name, false)
    }

    fn resolve_use(&mut self, name: &str, read: bool) -> VarRef {
        let level = self.functions.len() - 1;
        if let Some(slot) = self.resolve_local(level, name) {
            if read {
                self.mark_read(slot);
            }
            return VarRef::Local(slot);
        }
        if let Some(index) = self.resolve_upvalue(level, name) {
            return VarRef::Upvalue(index);
        }
        self.global_use(name);
        VarRef::Global(name.to_string())
    }

    fn resolve_local(&mut self, level: usize, name: &str) -> Option<u32> {
        let scope = &self.functions[level];
        let slot = *scope.by_name.get(name)?.last()?;
        let uninitialized = scope.locals[slot as usize].depth == -1;
        if uninitialized {
            self.error("Can't read local variable in its own initializer.");
        }
        Some(slot)
    }

    fn resolve_upvalue(&mut self, level: usize, name: &str) -> Option<u32> {
        if level == 0 {
            return None;
        }
        if let Some(local) = self.resolve_local(level - 1, name) {
            let captured = &mut self.functions[level - 1].locals[local as usize];
            captured.captured = true;
            // Captured: a closure may read it (or only write it; no warning either way).
            captured.read = true;
            return Some(self.add_upvalue(level, local, true));
        }
        let upvalue = self.resolve_upvalue(level - 1, name)?;
        Some(self.add_upvalue(level, upvalue, false))
    }

    fn add_upvalue(&mut self, level: usize, index: u32, is_local: bool) -> u32 {
        let upvalues = &mut self.functions[level].upvalues;
        if let Some(i) = upvalues.iter().position(|&u| u == (is_local, index)) {
            return i as u32;
        }
        upvalues.push((is_local, index));
        (upvalues.len() - 1) as u32
    }

    /// Closes the innermost function scope and builds its declaration.
    pub(super) fn finish_function(
        &mut self,
        body: Vec<Stmt>,
        params: Vec<String>,
        line: u32,
        end_line: u32,
    ) -> FunctionDecl {
        let scope = self.functions.pop().expect("a function scope is open");
        for local in scope.locals.iter().filter(|l| !l.read) {
            if let Some(declared) = local.declared.clone() {
                self.unused_local(&local.name, declared);
            }
        }
        let short_name = scope.name.rsplit('.').next().unwrap_or(&scope.name).to_string();
        FunctionDecl {
            name: scope.name,
            short_name,
            kind: scope.kind,
            params,
            body,
            upvalues: scope.upvalues,
            line: if line == 0 { scope.line } else { line },
            end_line,
        }
    }
}
