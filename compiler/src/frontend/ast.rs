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

/// What leaving a loop early (`break`, `continue`) undoes first, innermost
/// first: the `lock`s entered inside the loop (their hidden slots, to
/// leave) and the locals declared inside it (`true` when captured by a
/// closure: closed instead of popped).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LoopExit {
    pub locks: Vec<u32>,
    pub pops: Vec<bool>,
}

/// `for (var NAME in iterable) body`. The iterable, the position and the
/// map's key-set version live in three hidden locals from `slot` on; each
/// iteration declares NAME afresh in the body's scope.
#[derive(Clone, Debug, PartialEq)]
pub struct ForIn {
    pub iterable: Expr,
    pub slot: u32,
    pub name: String,
    pub body: Stmt,
    /// Ends the scope of NAME (and of the body) at each iteration.
    pub body_end: ScopeEnd,
    /// Ends the scope of the hidden locals after the loop.
    pub end: ScopeEnd,
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
    ForIn(Box<ForIn>),
    Break {
        exit: LoopExit,
        line: Line,
    },
    Continue {
        exit: LoopExit,
        line: Line,
    },
    /// `import "path";` at the top level of a file. `file` is the imported
    /// file's index in the program when this import is the first (its
    /// top-level code runs here), `None` for a later or cyclic import.
    Import {
        path: Vec<u8>,
        file: Option<usize>,
        line: Line,
        span: std::ops::Range<usize>,
    },
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

impl Stmt {
    /// Whether control never goes on after the statement (`return`,
    /// `break`, `continue`).
    pub fn leaves(&self) -> bool {
        matches!(self, Stmt::Return { .. } | Stmt::Break { .. } | Stmt::Continue { .. })
    }
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
    /// The top-level code of an imported file.
    FileScript,
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

impl FunctionDecl {
    /// A function with nothing in it (a placeholder while a file is parsed).
    pub fn empty(kind: FunctionKind) -> FunctionDecl {
        FunctionDecl {
            name: "script".into(),
            short_name: "script".into(),
            kind,
            params: Vec::new(),
            body: Vec::new(),
            upvalues: Vec::new(),
            line: 1,
            end_line: 1,
        }
    }
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

/// A parsed program: the main file's script, then each imported file's.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub files: Vec<ProgramFile>,
}

/// One source file of a program.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramFile {
    /// The file's name as diagnostics and traces show it.
    pub name: String,
    /// Its top-level code (`Script` for the main file, `FileScript` else).
    pub script: FunctionDecl,
}
