//! The compiled program as plain data: a module of function prototypes.
//!
//! This is what the compiler produces, what `.tvmc` files serialize, and what
//! the loader turns into heap objects. It holds no heap pointers, so it can be
//! built, written, read and verified without a running VM.

/// A constant-table entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    Number(f64),
    /// A string's bytes (Lox strings are bytes, not necessarily UTF-8).
    String(Vec<u8>),
    /// Index of a function prototype in the module.
    Function(u32),
}

/// What kind of code a function holds (affects `this`, `init` and printing).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FunctionKind {
    Script = 0,
    Function = 1,
    Method = 2,
    Initializer = 3,
    /// The top-level code of an imported file (run by its first import).
    FileScript = 4,
}

impl FunctionKind {
    pub fn from_byte(b: u8) -> Option<FunctionKind> {
        match b {
            0 => Some(FunctionKind::Script),
            1 => Some(FunctionKind::Function),
            2 => Some(FunctionKind::Method),
            3 => Some(FunctionKind::Initializer),
            4 => Some(FunctionKind::FileScript),
            _ => None,
        }
    }
}

/// Debug information about one local variable (for gdb and `disasm`).
#[derive(Clone, Debug, PartialEq)]
pub struct LocalInfo {
    pub name: String,
    pub slot: u32,
    /// Bytecode range [start, end) where the variable is in scope.
    pub start: u32,
    pub end: u32,
    /// Captured by a closure (its slot may hold a closed-over copy later).
    pub is_parameter: bool,
}

/// One function's code and metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionProto {
    /// Name as the program writes it; methods are `Class.method`, the script is `script`.
    pub name: String,
    /// Short name used in runtime traces (`fn()`), as clox prints it.
    pub short_name: String,
    pub kind: FunctionKind,
    pub arity: u8,
    pub upvalue_count: u32,
    /// Number of inline-cache entries the code refers to.
    pub cache_count: u32,
    /// Source line of the declaration.
    pub line: u32,
    /// The file it is in (an index into `Module::sources`).
    pub source: u32,
    pub code: Vec<u8>,
    /// Run-length line table: (first bytecode offset, line), offsets ascending.
    pub lines: Vec<(u32, u32)>,
    pub constants: Vec<Constant>,
    pub locals: Vec<LocalInfo>,
}

impl FunctionProto {
    /// The source line of the instruction at `offset`.
    pub fn line_at(&self, offset: usize) -> u32 {
        line_in_table(&self.lines, offset)
    }
}

/// Looks up the line for `offset` in a run-length line table.
pub fn line_in_table(lines: &[(u32, u32)], offset: usize) -> u32 {
    let idx = lines.partition_point(|&(start, _)| start as usize <= offset);
    if idx == 0 {
        lines.first().map(|l| l.1).unwrap_or(0)
    } else {
        lines[idx - 1].1
    }
}

/// A compilation unit: functions (index 0 is the top-level script) and the
/// names of the globals its code refers to by slot.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The program's source files, as given to the compiler: the main file
    /// first, then the files it imports (`FunctionProto::source` indexes it).
    pub sources: Vec<String>,
    /// Global slot i of this module is the program variable `globals[i]`.
    pub globals: Vec<String>,
    pub functions: Vec<FunctionProto>,
}

impl Module {
    pub fn script(&self) -> &FunctionProto {
        &self.functions[0]
    }

    /// The main source file's name.
    pub fn source_name(&self) -> &str {
        self.sources.first().map(String::as_str).unwrap_or("")
    }

    /// The name of the file function `index` is in.
    pub fn source_of(&self, index: usize) -> &str {
        let source = self.functions.get(index).map(|f| f.source as usize).unwrap_or(0);
        self.sources.get(source).map(String::as_str).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_lookup_uses_runs() {
        let lines = vec![(0, 1), (5, 3), (9, 4)];
        assert_eq!(line_in_table(&lines, 0), 1);
        assert_eq!(line_in_table(&lines, 4), 1);
        assert_eq!(line_in_table(&lines, 5), 3);
        assert_eq!(line_in_table(&lines, 100), 4);
    }
}
