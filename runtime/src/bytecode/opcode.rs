//! The instruction set: opcodes, their operand layouts and stack effects.
//!
//! Every backend (compiler emission, `.tvmc` verifier, interpreter, x86-64
//! lowering, disassembler) reads instructions through the tables here, so an
//! opcode's shape is defined once. Operands are little-endian: `u8` for
//! argument counts and flags, `u32` for every index (no 256 limits), `i32`
//! for jump offsets relative to the end of the jump instruction.

/// Operand kinds, in encoding order, for each opcode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// Index into the function's constant table.
    Const,
    /// Local slot in the current frame (slot 0 is the callee / `this`).
    Local,
    /// Global slot of the program.
    Global,
    /// Index into the closure's upvalues.
    Upvalue,
    /// Inline-cache index of the function.
    Cache,
    /// Signed jump offset relative to the next instruction.
    Jump,
    /// Argument count (u8).
    Argc,
    /// Element count (u32).
    Count,
}

impl Operand {
    pub fn size(self) -> usize {
        match self {
            Operand::Argc => 1,
            _ => 4,
        }
    }
}

macro_rules! opcodes {
    ($( $name:ident = $num:expr, $text:expr, [$($operand:ident),*]; )*) => {
        /// One bytecode instruction's opcode.
        #[repr(u8)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum Op { $( $name = $num, )* }

        impl Op {
            /// Every opcode, in numeric order.
            pub const ALL: &'static [Op] = &[ $( Op::$name, )* ];

            pub fn from_byte(byte: u8) -> Option<Op> {
                match byte {
                    $( $num => Some(Op::$name), )*
                    _ => None,
                }
            }

            /// The mnemonic shown by `disasm`.
            pub fn mnemonic(self) -> &'static str {
                match self { $( Op::$name => $text, )* }
            }

            /// The fixed operands (the upvalue list of `Closure` comes after them).
            pub fn operands(self) -> &'static [Operand] {
                match self { $( Op::$name => &[$(Operand::$operand),*], )* }
            }
        }
    };
}

opcodes! {
    Constant = 0, "CONSTANT", [Const];
    Nil = 1, "NIL", [];
    True = 2, "TRUE", [];
    False = 3, "FALSE", [];
    Pop = 4, "POP", [];
    GetLocal = 5, "GET_LOCAL", [Local];
    SetLocal = 6, "SET_LOCAL", [Local];
    GetGlobal = 7, "GET_GLOBAL", [Global];
    DefineGlobal = 8, "DEFINE_GLOBAL", [Global];
    SetGlobal = 9, "SET_GLOBAL", [Global];
    GetUpvalue = 10, "GET_UPVALUE", [Upvalue];
    SetUpvalue = 11, "SET_UPVALUE", [Upvalue];
    GetProperty = 12, "GET_PROPERTY", [Const, Cache];
    SetProperty = 13, "SET_PROPERTY", [Const, Cache];
    GetSuper = 14, "GET_SUPER", [Const];
    Equal = 15, "EQUAL", [];
    Greater = 16, "GREATER", [];
    Less = 17, "LESS", [];
    Add = 18, "ADD", [];
    Subtract = 19, "SUBTRACT", [];
    Multiply = 20, "MULTIPLY", [];
    Divide = 21, "DIVIDE", [];
    Modulo = 22, "MODULO", [];
    Not = 23, "NOT", [];
    Negate = 24, "NEGATE", [];
    Print = 25, "PRINT", [];
    Jump = 26, "JUMP", [Jump];
    JumpIfFalse = 27, "JUMP_IF_FALSE", [Jump];
    Loop = 28, "LOOP", [Jump];
    Call = 29, "CALL", [Argc, Cache];
    Invoke = 30, "INVOKE", [Const, Argc, Cache];
    SuperInvoke = 31, "SUPER_INVOKE", [Const, Argc];
    Closure = 32, "CLOSURE", [Const];
    CloseUpvalue = 33, "CLOSE_UPVALUE", [];
    Return = 34, "RETURN", [];
    Class = 35, "CLASS", [Const];
    Inherit = 36, "INHERIT", [];
    Method = 37, "METHOD", [Const];
    Array = 38, "ARRAY", [Count];
    GetIndex = 39, "GET_INDEX", [];
    SetIndex = 40, "SET_INDEX", [];
    Spawn = 41, "SPAWN", [Argc];
    MonitorEnter = 42, "MONITOR_ENTER", [];
    MonitorExit = 43, "MONITOR_EXIT", [];
    NotEqual = 44, "NOT_EQUAL", [];
    GreaterEqual = 45, "GREATER_EQUAL", [];
    LessEqual = 46, "LESS_EQUAL", [];
}

/// Size in bytes of one upvalue descriptor after a `Closure` instruction:
/// `is_local: u8`, `index: u32`.
pub const UPVALUE_DESCRIPTOR_SIZE: usize = 5;

/// Reads a little-endian u32 operand at `at`.
#[inline(always)]
pub fn read_u32(code: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([code[at], code[at + 1], code[at + 2], code[at + 3]])
}

/// The most fixed operands an instruction has.
pub const MAX_OPERANDS: usize = 3;

/// A decoded instruction: opcode, offset and operand values.
#[derive(Clone, Debug, PartialEq)]
pub struct Instruction {
    pub offset: usize,
    pub op: Op,
    /// Operand values in the order of `op.operands()` (jumps as i32 cast to
    /// i64); unused entries are 0. A fixed array: decoding never allocates.
    pub args: [i64; MAX_OPERANDS],
    /// For `Closure`: (is_local, index) per captured variable; filled by
    /// `decode_closure_upvalues` since the count lives in the target function.
    pub size: usize,
}

impl Instruction {
    /// Absolute target of a jump instruction.
    pub fn jump_target(&self) -> i64 {
        self.offset as i64 + self.size as i64 + self.args[0]
    }
}

/// Decodes the fixed part of the instruction at `offset`. Returns `None` when
/// the opcode is unknown or the operands run past the end of `code`.
/// The `Closure` upvalue list is not included in `size`.
pub fn decode_fixed(code: &[u8], offset: usize) -> Option<Instruction> {
    let op = Op::from_byte(*code.get(offset)?)?;
    let mut at = offset + 1;
    let mut args = [0i64; MAX_OPERANDS];
    for (i, operand) in op.operands().iter().enumerate() {
        let size = operand.size();
        if at + size > code.len() {
            return None;
        }
        let value = match operand {
            Operand::Argc => code[at] as i64,
            Operand::Jump => read_u32(code, at) as i32 as i64,
            _ => read_u32(code, at) as i64,
        };
        args[i] = value;
        at += size;
    }
    Some(Instruction { offset, op, args, size: at - offset })
}

/// How an instruction changes the operand stack and where control goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StackEffect {
    pub pops: u32,
    pub pushes: u32,
    /// Lowest depth required before the instruction (peeks count here).
    pub needs: u32,
    pub falls_through: bool,
}

/// The stack effect of a decoded instruction (`Closure` pushes one value
/// whatever it captures).
pub fn stack_effect(ins: &Instruction) -> StackEffect {
    let a = ins.args[0] as u32;
    let (pops, pushes, needs, falls_through) = match ins.op {
        Op::Constant | Op::Nil | Op::True | Op::False | Op::GetLocal | Op::GetGlobal => (0, 1, 0, true),
        Op::GetUpvalue | Op::Class | Op::Closure => (0, 1, 0, true),
        Op::Pop | Op::DefineGlobal | Op::Print | Op::CloseUpvalue => (1, 0, 0, true),
        Op::MonitorEnter | Op::MonitorExit => (1, 0, 0, true),
        Op::SetLocal | Op::SetGlobal | Op::SetUpvalue => (0, 0, 1, true),
        Op::GetProperty | Op::Not | Op::Negate => (1, 1, 0, true),
        Op::SetProperty | Op::GetSuper | Op::GetIndex => (2, 1, 0, true),
        Op::Equal | Op::NotEqual | Op::Greater | Op::GreaterEqual | Op::Less | Op::LessEqual => (2, 1, 0, true),
        Op::Add | Op::Subtract | Op::Multiply | Op::Divide | Op::Modulo => (2, 1, 0, true),
        Op::SetIndex => (3, 1, 0, true),
        Op::Jump | Op::Loop => (0, 0, 0, false),
        Op::JumpIfFalse => (0, 0, 1, true),
        Op::Call | Op::Spawn => (a + 1, 1, 0, true),
        Op::Invoke => (ins.args[1] as u32 + 1, 1, 0, true),
        Op::SuperInvoke => (ins.args[1] as u32 + 2, 1, 0, true),
        Op::Return => (1, 0, 0, false),
        Op::Inherit | Op::Method => (1, 0, 2, true),
        Op::Array => (a, 1, 0, true),
    };
    StackEffect { pops, pushes, needs, falls_through }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_numbers_roundtrip() {
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i);
            assert_eq!(Op::from_byte(i as u8), Some(*op));
        }
        assert_eq!(Op::from_byte(Op::ALL.len() as u8), None);
    }

    #[test]
    fn decode_reads_operands() {
        let code = [Op::Invoke as u8, 7, 0, 0, 0, 3, 9, 0, 0, 0];
        let ins = decode_fixed(&code, 0).unwrap();
        assert_eq!(ins.args, [7, 3, 9]);
        assert_eq!(ins.size, 10);
        assert!(decode_fixed(&code[..9], 0).is_none());
    }
}
