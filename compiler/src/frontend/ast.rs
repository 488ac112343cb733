//! The resolved syntax tree.
//!
//! The parser resolves names while it parses (as clox's single-pass compiler
//! does), so every variable reference already says whether it is a local
//! slot, an upvalue or a global, every block lists the locals it pops, and
//! every function lists what it captures. Each node carries the source line
//! its main instruction is attributed to (clox's line for that instruction),
//! so runtime errors report the same lines as clox.

pub type Line = u32;

/// Where a variable lives.
#[derive(Clone, Debug, PartialEq)]
pub enum VarRef {
    Local(u32),
    Upvalue(u32),
    Global(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub line: Line,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Negate,
    Not,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Equal,
    NotEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(f64),
    /// A string literal's bytes (the source may hold any bytes there).
    Str(Vec<u8>),
    Nil,
    True,
    False,
    Variable(VarRef),
    Assign(VarRef, Box<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Call(Box<Expr>, Vec<Expr>),
    /// `object.name(args)`, compiled to one `INVOKE`.
    Invoke(Box<Expr>, String, Vec<Expr>),
    Get(Box<Expr>, String),
    Set(Box<Expr>, String, Box<Expr>),
    /// `super.name`: `this` and the superclass variable.
    SuperGet {
        this: VarRef,
        superclass: VarRef,
        name: String,
    },
    /// `super.name(args)`.
    SuperCall {
        this: VarRef,
        superclass: VarRef,
        name: String,
        args: Vec<Expr>,
    },
    Array(Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
    SetIndex(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `spawn callee(args)`.
    Spawn(Box<Expr>, Vec<Expr>),
}

/// The locals a scope pops when it ends (innermost first): `true` when
/// captured by a closure (closed instead of popped).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ScopeEnd {
    pub pops: Vec<bool>,
    pub line: Line,
}

/// How a declaration binds its name.
#[derive(Clone, Debug, PartialEq)]
pub enum VarTarget {
    /// A local: its value stays in this slot.
    Local(u32),
    Global(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// An expression statement (`line` is the `;`).
    Expr(Expr, Line),
    Print(Expr, Line),
    Var {
        name: String,
        target: VarTarget,
        init: Option<Expr>,
        line: Line,
    },
    Block(Vec<Stmt>, ScopeEnd),
    If {
        cond: Expr,
        then: Box<Stmt>,
        otherwise: Option<Box<Stmt>>,
        line: Line,
    },
    While {
        cond: Expr,
        body: Box<Stmt>,
        line: Line,
    },
    For(Box<ForLoop>),
    Function {
        decl: Box<FunctionDecl>,
        target: VarTarget,
    },
    Class(Box<ClassDecl>),
    /// `value` is `None` for a bare `return;`. `locks` are the hidden slots
    /// of the enclosing `lock` statements to leave, innermost first.
    Return {
        value: Option<Expr>,
        locks: Vec<u32>,
        line: Line,
    },
    /// The classic dialect's `lock NAME` / `unlock NAME`.
    Monitor {
        enter: bool,
        object: Expr,
        line: Line,
    },
    /// `lock (object) body`: the object lives in hidden local `slot`.
    Lock {
        object: Expr,
        slot: u32,
        body: Box<Stmt>,
        end: ScopeEnd,
        line: Line,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForLoop {
    pub init: Option<Stmt>,
    pub cond: Option<Expr>,
    pub increment: Option<Expr>,
    pub body: Stmt,
    pub end: ScopeEnd,
    pub line: Line,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FunctionKind {
    Function,
    Method,
    Initializer,
    Script,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDecl {
    /// Qualified name: `fib`, `Tree.check`, `script`.
    pub name: String,
    /// Name as clox prints it in traces and `<fn NAME>`.
    pub short_name: String,
    pub kind: FunctionKind,
    pub params: Vec<String>,
    pub body: Vec<Stmt>,
    /// (is_local, index) for each captured variable.
    pub upvalues: Vec<(bool, u32)>,
    /// Line of the declaration and of the closing brace (implicit return).
    pub line: Line,
    pub end_line: Line,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Superclass {
    /// Reads the superclass variable.
    pub read: Expr,
    /// The hidden `super` local's slot.
    pub slot: u32,
    pub end: ScopeEnd,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClassDecl {
    pub name: String,
    pub target: VarTarget,
    pub superclass: Option<Superclass>,
    /// Reads the class variable back (to attach methods).
    pub class_ref: VarRef,
    pub methods: Vec<FunctionDecl>,
    pub line: Line,
    /// Line of the closing brace.
    pub end_line: Line,
}

/// A parsed program: the top-level script function.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub script: FunctionDecl,
}
