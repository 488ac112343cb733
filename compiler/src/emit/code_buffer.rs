//! The per-function emitter: code buffer, constants, lines, jumps, locals.

use std::collections::HashMap;
use tinyvm_runtime::bytecode::opcode::{self, Capture};
use tinyvm_runtime::bytecode::{Constant, LocalInfo, Op};

pub(super) struct FunctionEmitter {
    pub code: Vec<u8>,
    pub lines: Vec<(u32, u32)>,
    /// Run-length column table, as `lines` (0: no column).
    pub columns: Vec<(u32, u32)>,
    /// The column the next instructions are attributed to: the expression
    /// being emitted (`ast_walk`'s `expr` sets and restores it).
    pub column: u32,
    pub constants: Vec<Constant>,
    pub cache_count: u32,
    pub locals: Vec<LocalInfo>,
    strings: HashMap<Vec<u8>, u32>,
    numbers: HashMap<u64, u32>,
    /// Locals in scope: (name, slot, start offset, is_parameter).
    open_locals: Vec<(String, u32, u32, bool)>,
}

impl FunctionEmitter {
    pub fn new() -> FunctionEmitter {
        FunctionEmitter {
            code: Vec::new(),
            lines: Vec::new(),
            columns: Vec::new(),
            column: 0,
            constants: Vec::new(),
            cache_count: 0,
            locals: Vec::new(),
            strings: HashMap::new(),
            numbers: HashMap::new(),
            open_locals: Vec::new(),
        }
    }

    pub fn offset(&self) -> usize {
        self.code.len()
    }

    /// Appends `op` with its operand values (one per operand in the opcode
    /// table), attributed to `line`; returns where it starts.
    pub fn emit(&mut self, op: Op, args: &[i64], line: u32) -> usize {
        let offset = self.code.len() as u32;
        add_run(&mut self.lines, offset, line);
        add_run(&mut self.columns, offset, self.column);
        opcode::encode(op, args, &mut self.code)
    }

    /// An instruction without operands.
    pub fn op(&mut self, op: Op, line: u32) {
        self.emit(op, &[], line);
    }

    /// An instruction with one index operand.
    pub fn op_u32(&mut self, op: Op, operand: u32, line: u32) {
        self.emit(op, &[operand as i64], line);
    }

    /// A `CLOSURE`'s capture, after the instruction.
    pub fn capture(&mut self, capture: Capture) {
        capture.write(&mut self.code);
    }

    pub fn new_cache(&mut self) -> u32 {
        self.cache_count += 1;
        self.cache_count - 1
    }

    /// The constant for a string (a literal's bytes or a name's).
    pub fn string_constant(&mut self, s: &[u8]) -> u32 {
        if let Some(&k) = self.strings.get(s) {
            return k;
        }
        let k = self.push_constant(Constant::String(s.to_vec()));
        self.strings.insert(s.to_vec(), k);
        k
    }

    pub fn number_constant(&mut self, n: f64) -> u32 {
        if let Some(&k) = self.numbers.get(&n.to_bits()) {
            return k;
        }
        let k = self.push_constant(Constant::Number(n));
        self.numbers.insert(n.to_bits(), k);
        k
    }

    pub fn push_constant(&mut self, c: Constant) -> u32 {
        self.constants.push(c);
        (self.constants.len() - 1) as u32
    }

    /// Emits a forward jump; returns the operand position to patch.
    pub fn jump(&mut self, op: Op, line: u32) -> usize {
        let start = self.emit(op, &[0], line);
        start + op.operand_offset(0)
    }

    /// Points a forward jump at the current offset.
    pub fn patch(&mut self, at: usize) {
        let offset = (self.code.len() - (at + 4)) as i32;
        self.code[at..at + 4].copy_from_slice(&offset.to_le_bytes());
    }

    /// Emits a backward jump to `start`.
    pub fn loop_to(&mut self, start: usize, line: u32) {
        let end = self.code.len() + Op::Loop.fixed_size();
        self.emit(Op::Loop, &[start as i64 - end as i64], line);
    }

    /// A local comes into scope here.
    pub fn open_local(&mut self, name: &str, slot: u32, is_parameter: bool) {
        let start = self.code.len() as u32;
        self.open_locals.push((name.to_string(), slot, start, is_parameter));
    }

    /// The innermost `count` locals go out of scope here.
    pub fn close_locals(&mut self, count: usize) {
        let end = self.code.len() as u32;
        for _ in 0..count {
            if let Some((name, slot, start, is_parameter)) = self.open_locals.pop() {
                if !name.starts_with(' ') {
                    self.locals.push(LocalInfo { name, slot, start, end, is_parameter });
                }
            }
        }
    }

    /// Closes every local still open (at the end of the function).
    pub fn close_all_locals(&mut self) {
        self.close_locals(self.open_locals.len());
        self.locals.sort_by_key(|l| (l.start, l.slot));
    }
}

/// Records that instructions from `offset` on have `value` in a run-length
/// table (an entry for the same offset is replaced).
fn add_run(table: &mut Vec<(u32, u32)>, offset: u32, value: u32) {
    if table.last().map(|l| l.1) != Some(value) {
        if table.last().map(|l| l.0) == Some(offset) {
            table.pop();
        }
        if table.last().map(|l| l.1) != Some(value) {
            table.push((offset, value));
        }
    }
}
