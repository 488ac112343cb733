//! Walks statements and expressions and emits their bytecode.

use super::code_buffer::FunctionEmitter;
use super::ModuleBuilder;
use crate::frontend::ast::*;
use tinyvm_runtime::bytecode::opcode::Capture;
use tinyvm_runtime::bytecode::{self as bc, Constant, FunctionProto, Op};

pub(super) struct Codegen<'m, 'p> {
    pub(super) module: &'m mut ModuleBuilder<'p>,
    pub(super) f: FunctionEmitter,
    kind: FunctionKind,
    /// The loops around the statement being emitted (`loops.rs`).
    pub(super) loops: Vec<super::loops::LoopLabels>,
}

/// Compiles one function (and, recursively, the functions it contains).
/// Returns its index in the module.
pub(super) fn compile_function(module: &mut ModuleBuilder, decl: &FunctionDecl) -> usize {
    compile_function_of(module, decl, None)
}

/// `compile_function`, for the script of file `file` when given (its code
/// and the functions in it are that file's).
fn compile_function_of(module: &mut ModuleBuilder, decl: &FunctionDecl, file: Option<usize>) -> usize {
    let outer_source = module.source;
    if let Some(file) = file {
        module.source = file as u32;
    }
    let index = module.reserve_function();
    let mut g = Codegen { module, f: FunctionEmitter::new(), kind: decl.kind, loops: Vec::new() };
    for (i, param) in decl.params.iter().enumerate() {
        g.f.open_local(param, i as u32 + 1, true);
    }
    for stmt in &decl.body {
        g.stmt(stmt);
    }
    g.implicit_return(decl.end_line);
    g.f.close_all_locals();
    let kind = match decl.kind {
        FunctionKind::Script => bc::FunctionKind::Script,
        FunctionKind::FileScript => bc::FunctionKind::FileScript,
        FunctionKind::Function => bc::FunctionKind::Function,
        FunctionKind::Method => bc::FunctionKind::Method,
        FunctionKind::Initializer => bc::FunctionKind::Initializer,
    };
    let f = g.f;
    g.module.functions[index] = FunctionProto {
        name: decl.name.clone(),
        short_name: decl.short_name.clone(),
        kind,
        arity: decl.params.len().min(255) as u8,
        upvalue_count: decl.upvalues.len() as u32,
        cache_count: f.cache_count,
        line: decl.line,
        source: g.module.source,
        code: f.code,
        lines: f.lines,
        constants: f.constants,
        locals: f.locals,
    };
    g.module.source = outer_source;
    index
}

impl Codegen<'_, '_> {
    fn implicit_return(&mut self, line: u32) {
        if self.kind == FunctionKind::Initializer {
            self.f.op_u32(Op::GetLocal, 0, line);
        } else {
            self.f.op(Op::Nil, line);
        }
        self.f.op(Op::Return, line);
    }

    pub(super) fn end_scope(&mut self, end: &ScopeEnd) {
        for &captured in &end.pops {
            self.f.op(if captured { Op::CloseUpvalue } else { Op::Pop }, end.line);
        }
        self.f.close_locals(end.pops.len());
    }

    /// Binds a just-evaluated value to a declared name.
    fn define(&mut self, target: &VarTarget, name: &str, line: u32) {
        match target {
            VarTarget::Global(g) => {
                let slot = self.module.global(g);
                self.f.op_u32(Op::DefineGlobal, slot, line);
            }
            VarTarget::Local(slot) => self.f.open_local(name, *slot, false),
        }
    }

    pub(super) fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Expr(e, line) => {
                self.expr(e);
                self.f.op(Op::Pop, *line);
            }
            Stmt::Print(e, line) => {
                self.expr(e);
                self.f.op(Op::Print, *line);
            }
            Stmt::Var { name, target, init, line } => {
                match init {
                    Some(e) => self.expr(e),
                    None => self.f.op(Op::Nil, *line),
                }
                self.define(target, name, *line);
            }
            Stmt::Block(body, end) => {
                for s in body {
                    self.stmt(s);
                }
                self.end_scope(end);
            }
            Stmt::If { cond, then, otherwise, line } => {
                self.expr(cond);
                let then_jump = self.f.jump(Op::JumpIfFalse, *line);
                self.f.op(Op::Pop, *line);
                self.stmt(then);
                let else_jump = self.f.jump(Op::Jump, *line);
                self.f.patch(then_jump);
                self.f.op(Op::Pop, *line);
                if let Some(other) = otherwise {
                    self.stmt(other);
                }
                self.f.patch(else_jump);
            }
            Stmt::While { cond, body, line } => self.while_loop(cond, body, *line),
            Stmt::For(l) => self.for_loop(l),
            Stmt::ForIn(l) => self.for_in(l),
            Stmt::Break { exit, line } => self.break_loop(exit, *line),
            Stmt::Continue { exit, line } => self.continue_loop(exit, *line),
            Stmt::Import { file, line, .. } => self.import(*file, *line),
            Stmt::Function { decl, target } => {
                self.closure(decl);
                self.define(target, &decl.short_name, decl.end_line);
            }
            Stmt::Class(c) => self.class(c),
            Stmt::Return { value, locks, line } => {
                match value {
                    Some(v) => self.expr(v),
                    None if self.kind == FunctionKind::Initializer => self.f.op_u32(Op::GetLocal, 0, *line),
                    None => self.f.op(Op::Nil, *line),
                }
                for &slot in locks {
                    self.f.op_u32(Op::GetLocal, slot, *line);
                    self.f.op(Op::MonitorExit, *line);
                }
                self.f.op(Op::Return, *line);
            }
            Stmt::Monitor { enter, object, line } => {
                self.expr(object);
                self.f.op(if *enter { Op::MonitorEnter } else { Op::MonitorExit }, *line);
            }
            Stmt::Lock { object, slot, body, end, line } => {
                self.expr(object);
                self.f.open_local(" lock", *slot, false);
                self.f.op_u32(Op::GetLocal, *slot, *line);
                self.f.op(Op::MonitorEnter, *line);
                self.stmt(body);
                self.f.op_u32(Op::GetLocal, *slot, end.line);
                self.f.op(Op::MonitorExit, end.line);
                self.end_scope(end);
            }
        }
    }

    fn class(&mut self, c: &ClassDecl) {
        let name = self.f.string_constant(c.name.as_bytes());
        self.f.op_u32(Op::Class, name, c.line);
        self.define(&c.target, &c.name, c.line);
        if let Some(s) = &c.superclass {
            self.expr(&s.read);
            self.f.open_local("super", s.slot, false);
            self.get(&c.class_ref, s.read.line);
            self.f.op(Op::Inherit, s.read.line);
        }
        self.get(&c.class_ref, c.line);
        for method in &c.methods {
            self.closure(method);
            let method_name = self.f.string_constant(method.short_name.as_bytes());
            self.f.op_u32(Op::Method, method_name, method.end_line);
        }
        self.f.op(Op::Pop, c.end_line);
        if let Some(s) = &c.superclass {
            self.end_scope(&s.end);
        }
    }

    /// `import`: the first import of a file runs its top-level code here,
    /// as a call of its script (`CLOSURE`, `CALL 0`, `POP`); a later one
    /// does nothing.
    fn import(&mut self, file: Option<usize>, line: u32) {
        let Some(file) = file else { return };
        let script = self.module.file_script(file);
        let index = compile_function_of(self.module, script, Some(file));
        let k = self.f.push_constant(Constant::Function(index as u32));
        self.f.op_u32(Op::Closure, k, line);
        let cache = self.f.new_cache();
        self.f.emit(Op::Call, &[0, cache as i64], line);
        self.f.op(Op::Pop, line);
    }

    fn closure(&mut self, decl: &FunctionDecl) {
        let index = compile_function(self.module, decl);
        let k = self.f.push_constant(Constant::Function(index as u32));
        self.f.op_u32(Op::Closure, k, decl.end_line);
        for &(is_local, index) in &decl.upvalues {
            self.f.capture(Capture { is_local, index });
        }
    }

    fn get(&mut self, r: &VarRef, line: u32) {
        match r {
            VarRef::Local(slot) => self.f.op_u32(Op::GetLocal, *slot, line),
            VarRef::Upvalue(i) => self.f.op_u32(Op::GetUpvalue, *i, line),
            VarRef::Global(name) => {
                let slot = self.module.global(name);
                self.f.op_u32(Op::GetGlobal, slot, line);
            }
        }
    }

    fn set(&mut self, r: &VarRef, line: u32) {
        match r {
            VarRef::Local(slot) => self.f.op_u32(Op::SetLocal, *slot, line),
            VarRef::Upvalue(i) => self.f.op_u32(Op::SetUpvalue, *i, line),
            VarRef::Global(name) => {
                let slot = self.module.global(name);
                self.f.op_u32(Op::SetGlobal, slot, line);
            }
        }
    }

    fn args(&mut self, args: &[Expr]) -> u8 {
        for a in args {
            self.expr(a);
        }
        args.len().min(255) as u8
    }

    pub(super) fn expr(&mut self, e: &Expr) {
        let line = e.line;
        match &e.kind {
            ExprKind::Number(n) => {
                let k = self.f.number_constant(*n);
                self.f.op_u32(Op::Constant, k, line);
            }
            ExprKind::Str(s) => {
                let k = self.f.string_constant(s);
                self.f.op_u32(Op::Constant, k, line);
            }
            ExprKind::Nil => self.f.op(Op::Nil, line),
            ExprKind::True => self.f.op(Op::True, line),
            ExprKind::False => self.f.op(Op::False, line),
            ExprKind::Variable(r) => self.get(r, line),
            ExprKind::Assign(r, value) => {
                self.expr(value);
                self.set(r, line);
            }
            ExprKind::Unary(op, operand) => {
                self.expr(operand);
                self.f.op(if *op == UnaryOp::Negate { Op::Negate } else { Op::Not }, line);
            }
            ExprKind::Binary(op, a, b) => {
                self.expr(a);
                self.expr(b);
                self.f.op(binary_op(*op), line);
            }
            ExprKind::And(a, b) => {
                self.expr(a);
                let end = self.f.jump(Op::JumpIfFalse, a.line);
                self.f.op(Op::Pop, a.line);
                self.expr(b);
                self.f.patch(end);
            }
            ExprKind::Or(a, b) => {
                self.expr(a);
                let else_jump = self.f.jump(Op::JumpIfFalse, a.line);
                let end = self.f.jump(Op::Jump, a.line);
                self.f.patch(else_jump);
                self.f.op(Op::Pop, a.line);
                self.expr(b);
                self.f.patch(end);
            }
            ExprKind::Call(callee, args) => {
                self.expr(callee);
                let argc = self.args(args);
                let cache = self.f.new_cache();
                self.f.emit(Op::Call, &[argc as i64, cache as i64], line);
            }
            ExprKind::Invoke(object, name, args) => {
                self.expr(object);
                let argc = self.args(args);
                let k = self.f.string_constant(name.as_bytes());
                let cache = self.f.new_cache();
                self.f.emit(Op::Invoke, &[k as i64, argc as i64, cache as i64], line);
            }
            ExprKind::Get(object, name) => {
                self.expr(object);
                let k = self.f.string_constant(name.as_bytes());
                let cache = self.f.new_cache();
                self.f.emit(Op::GetProperty, &[k as i64, cache as i64], line);
            }
            ExprKind::Set(object, name, value) => {
                self.expr(object);
                self.expr(value);
                let k = self.f.string_constant(name.as_bytes());
                let cache = self.f.new_cache();
                self.f.emit(Op::SetProperty, &[k as i64, cache as i64], line);
            }
            ExprKind::SuperGet { this, superclass, name } => {
                self.get(this, line);
                self.get(superclass, line);
                let k = self.f.string_constant(name.as_bytes());
                self.f.op_u32(Op::GetSuper, k, line);
            }
            ExprKind::SuperCall { this, superclass, name, args } => {
                self.get(this, line);
                let argc = self.args(args);
                self.get(superclass, line);
                let k = self.f.string_constant(name.as_bytes());
                self.f.emit(Op::SuperInvoke, &[k as i64, argc as i64], line);
            }
            ExprKind::Array(items) => {
                for item in items {
                    self.expr(item);
                }
                self.f.op_u32(Op::Array, items.len() as u32, line);
            }
            ExprKind::Index(object, index) => {
                self.expr(object);
                self.expr(index);
                self.f.op(Op::GetIndex, line);
            }
            ExprKind::SetIndex(object, index, value) => {
                self.expr(object);
                self.expr(index);
                self.expr(value);
                self.f.op(Op::SetIndex, line);
            }
            ExprKind::Spawn(callee, args) => {
                self.expr(callee);
                let argc = self.args(args);
                self.f.emit(Op::Spawn, &[argc as i64], line);
            }
        }
    }
}

fn binary_op(op: BinaryOp) -> Op {
    match op {
        BinaryOp::Add => Op::Add,
        BinaryOp::Subtract => Op::Subtract,
        BinaryOp::Multiply => Op::Multiply,
        BinaryOp::Divide => Op::Divide,
        BinaryOp::Modulo => Op::Modulo,
        BinaryOp::Equal => Op::Equal,
        BinaryOp::NotEqual => Op::NotEqual,
        BinaryOp::Greater => Op::Greater,
        BinaryOp::GreaterEqual => Op::GreaterEqual,
        BinaryOp::Less => Op::Less,
        BinaryOp::LessEqual => Op::LessEqual,
    }
}
