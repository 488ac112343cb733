//! The instruction set: one table row per opcode (`opcodes!` below), and the
//! one encoder and decoder every consumer goes through.
//!
//! A row holds every fact about an instruction that is not its semantics:
//! number, mnemonic, operand kinds (so their encoding, decoding, listing and
//! the verifier's checks, constant types included), stack effect, control
//! flow, trailing data, what it can do (raise, allocate, call program code,
//! poll a safepoint), how the baseline lowering takes its operands, and
//! which runtime helper implements its slow path. Every column must be
//! given, so a new opcode states all of them; the interpreter's and the
//! lowering's `match`es are exhaustive, and `helper_of!` fails to compile
//! for a row without a helper, so a half-added opcode does not build.
//!
//! Semantics live in the interpreter (`vm/interp.rs`) and the lowering
//! (`codegen/lower/opcodes.rs`). Operands are little-endian: `u8` for
//! argument counts, `u32` for every index (no 256 limits), `i32` for jump
//! offsets relative to the end of the jump instruction.

/// What a constant operand must be.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConstKind {
    /// A number or a string (`CONSTANT`).
    Value,
    /// A string naming a property, method or class.
    Name,
    /// A function prototype other than the script (`CLOSURE`).
    Function,
}

/// Operand kinds, in encoding order.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// Index into the function's constant table.
    Const(ConstKind),
    /// Local slot in the current frame (slot 0 is the callee / `this`).
    Local,
    /// Global slot of the program.
    Global,
    /// Index into the closure's upvalues.
    Upvalue,
    /// Inline-cache index of the function.
    Cache,
    /// Signed offset relative to the next instruction, to a later instruction.
    JumpForward,
    /// Signed offset relative to the next instruction, to this or an earlier one.
    JumpBack,
    /// Argument count (u8).
    Argc,
    /// Element count (u32).
    Count,
}

impl Operand {
    /// Encoded size in bytes.
    pub const fn size(self) -> usize {
        match self {
            Operand::Argc => 1,
            _ => 4,
        }
    }

    pub fn is_jump(self) -> bool {
        matches!(self, Operand::JumpForward | Operand::JumpBack)
    }
}

/// How many values an instruction pops.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Pops {
    Fixed(u32),
    /// The value of operand `.0` plus `.1` (calls pop their arguments and
    /// the callee, `ARRAY` its elements).
    Operand(usize, u32),
}

/// Where control goes after an instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    /// To the next instruction.
    Next,
    /// To the jump target or the next instruction.
    Branch,
    /// To the jump target only.
    Goto,
    /// Out of the function.
    Return,
}

/// Data after the fixed operands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Trailing {
    None,
    /// `CLOSURE`: one `Capture` per upvalue of the function constant.
    Captures,
}

/// How the baseline lowering (`codegen/lower`) takes the operands: where
/// cheap pushes left them pending (in registers or as immediates), or from
/// the operand stack in memory, which it writes out first.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stack {
    Pending,
    InMemory,
}

/// What executing an instruction can do besides its stack effect.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Can(u8);

impl Can {
    pub const NOTHING: Can = Can(0);
    /// Raise a runtime error.
    pub const RAISE: Can = Can(1);
    /// Allocate (and so collect garbage).
    pub const ALLOCATE: Can = Can(2);
    /// Run program code (a call, a spawned thread's start, a native).
    pub const CALL: Can = Can(4);
    /// Poll a safepoint (and so let other threads run).
    pub const POLL: Can = Can(8);
    /// Block the thread (monitors).
    pub const BLOCK: Can = Can(16);

    pub const fn union(self, other: Can) -> Can {
        Can(self.0 | other.0)
    }

    pub const fn has(self, other: Can) -> bool {
        self.0 & other.0 == other.0
    }
}

macro_rules! helpers {
    ($($name:ident),* $(,)?) => {
        /// A runtime helper that generated code calls for a slow path (wired
        /// to its exported function in `codegen/helpers.rs`, whose `match`es
        /// are exhaustive).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Helper { $($name),* }

        impl Helper {
            pub const ALL: &'static [Helper] = &[$(Helper::$name),*];
        }
    };
}

helpers! {
    StackOverflow, UndefinedGlobal, NumbersError, NumberError, Compare, Add, Modulo, GetProperty, SetProperty, GetSuper,
    Call, NewInstance, Invoke, SuperInvoke, Closure, CloseUpvalues, Print, Class, Inherit, Method, Array,
    GetIndex, SetIndex, Spawn, MonitorEnter, MonitorExit, Safepoint, ForInStart, ForInNext, TierUp, TierUpLoop,
}

/// One row of the table.
#[derive(Debug)]
pub struct OpInfo {
    /// As `disasm` shows it.
    pub mnemonic: &'static str,
    /// The fixed operands, in encoding order.
    pub operands: &'static [Operand],
    pub pops: Pops,
    pub pushes: u32,
    /// Lowest depth required before the instruction (its peeks).
    pub needs: u32,
    pub flow: Flow,
    pub trailing: Trailing,
    pub can: Can,
    pub stack: Stack,
    /// The helper of its slow path in generated code.
    pub helper: Option<Helper>,
}

macro_rules! can {
    () => { Can::NOTHING };
    ($first:ident $(| $rest:ident)*) => { Can::$first$(.union(Can::$rest))* };
}

macro_rules! opcodes {
    ($( $name:ident = $num:literal, $text:literal, [$($operand:expr),*],
        pops $pops:expr, push $push:literal, needs $needs:literal, $flow:ident, $trailing:ident,
        [$($can:ident)|*], $stack:ident, $helper:expr; )*) => {
        /// One bytecode instruction's opcode.
        #[repr(u8)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum Op { $( $name = $num, )* }

        /// The table, indexed by opcode number.
        static TABLE: &[OpInfo] = &[ $( OpInfo {
            mnemonic: $text,
            operands: &[$($operand),*],
            pops: $pops,
            pushes: $push,
            needs: $needs,
            flow: Flow::$flow,
            trailing: Trailing::$trailing,
            can: can!($($can)|*),
            stack: Stack::$stack,
            helper: $helper,
        }, )* ];

        impl Op {
            /// Every opcode, in numeric order.
            pub const ALL: &'static [Op] = &[ $( Op::$name, )* ];

            pub fn from_byte(byte: u8) -> Option<Op> {
                match byte {
                    $( $num => Some(Op::$name), )*
                    _ => None,
                }
            }
        }

        // Numbers are dense and in order, so the table is indexed by them.
        const _: () = {
            let mut expected = 0u8;
            $( assert!($num == expected, "opcode numbers must be 0, 1, 2, ... in table order"); expected += 1; )*
            let _ = expected;
        };
    };
}

use Operand::*;

opcodes! {
    // name         num  mnemonic          operands                         stack effect                       flow    trailing  can                          lowering  slow-path helper
    Constant     =  0, "CONSTANT",       [Const(ConstKind::Value)],       pops Pops::Fixed(0), push 1, needs 0, Next,   None,     [],                          Pending,  None;
    Nil          =  1, "NIL",            [],                              pops Pops::Fixed(0), push 1, needs 0, Next,   None,     [],                          Pending,  None;
    True         =  2, "TRUE",           [],                              pops Pops::Fixed(0), push 1, needs 0, Next,   None,     [],                          Pending,  None;
    False        =  3, "FALSE",          [],                              pops Pops::Fixed(0), push 1, needs 0, Next,   None,     [],                          Pending,  None;
    Pop          =  4, "POP",            [],                              pops Pops::Fixed(1), push 0, needs 0, Next,   None,     [],                          Pending,  None;
    GetLocal     =  5, "GET_LOCAL",      [Local],                         pops Pops::Fixed(0), push 1, needs 0, Next,   None,     [],                          Pending,  None;
    SetLocal     =  6, "SET_LOCAL",      [Local],                         pops Pops::Fixed(0), push 0, needs 1, Next,   None,     [],                          InMemory, None;
    GetGlobal    =  7, "GET_GLOBAL",     [Global],                        pops Pops::Fixed(0), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::UndefinedGlobal);
    DefineGlobal =  8, "DEFINE_GLOBAL",  [Global],                        pops Pops::Fixed(1), push 0, needs 0, Next,   None,     [],                          Pending,  None;
    SetGlobal    =  9, "SET_GLOBAL",     [Global],                        pops Pops::Fixed(0), push 0, needs 1, Next,   None,     [RAISE],                     InMemory, Some(Helper::UndefinedGlobal);
    GetUpvalue   = 10, "GET_UPVALUE",    [Upvalue],                       pops Pops::Fixed(0), push 1, needs 0, Next,   None,     [],                          InMemory, None;
    SetUpvalue   = 11, "SET_UPVALUE",    [Upvalue],                       pops Pops::Fixed(0), push 0, needs 1, Next,   None,     [],                          InMemory, None;
    GetProperty  = 12, "GET_PROPERTY",   [Const(ConstKind::Name), Cache], pops Pops::Fixed(1), push 1, needs 0, Next,   None,     [RAISE | ALLOCATE],          Pending,  Some(Helper::GetProperty);
    SetProperty  = 13, "SET_PROPERTY",   [Const(ConstKind::Name), Cache], pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE | ALLOCATE],          Pending,  Some(Helper::SetProperty);
    GetSuper     = 14, "GET_SUPER",      [Const(ConstKind::Name)],        pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE | ALLOCATE],          InMemory, Some(Helper::GetSuper);
    Equal        = 15, "EQUAL",          [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [],                          Pending,  None;
    Greater      = 16, "GREATER",        [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::Compare);
    Less         = 17, "LESS",           [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::Compare);
    Add          = 18, "ADD",            [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE | ALLOCATE],          Pending,  Some(Helper::Add);
    Subtract     = 19, "SUBTRACT",       [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::NumbersError);
    Multiply     = 20, "MULTIPLY",       [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::NumbersError);
    Divide       = 21, "DIVIDE",         [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::NumbersError);
    Modulo       = 22, "MODULO",         [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE],                     InMemory, Some(Helper::Modulo);
    Not          = 23, "NOT",            [],                              pops Pops::Fixed(1), push 1, needs 0, Next,   None,     [],                          Pending,  None;
    Negate       = 24, "NEGATE",         [],                              pops Pops::Fixed(1), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::NumberError);
    Print        = 25, "PRINT",          [],                              pops Pops::Fixed(1), push 0, needs 0, Next,   None,     [],                          InMemory, Some(Helper::Print);
    Jump         = 26, "JUMP",           [JumpForward],                   pops Pops::Fixed(0), push 0, needs 0, Goto,   None,     [],                          InMemory, None;
    JumpIfFalse  = 27, "JUMP_IF_FALSE",  [JumpForward],                   pops Pops::Fixed(0), push 0, needs 1, Branch, None,     [],                          InMemory, None;
    Loop         = 28, "LOOP",           [JumpBack],                      pops Pops::Fixed(0), push 0, needs 0, Goto,   None,     [POLL],                      InMemory, Some(Helper::Safepoint);
    Call         = 29, "CALL",           [Argc, Cache],                   pops Pops::Operand(0, 1), push 1, needs 0, Next, None,  [RAISE | ALLOCATE | CALL | POLL], InMemory, Some(Helper::Call);
    Invoke       = 30, "INVOKE",         [Const(ConstKind::Name), Argc, Cache], pops Pops::Operand(1, 1), push 1, needs 0, Next, None, [RAISE | ALLOCATE | CALL | POLL], InMemory, Some(Helper::Invoke);
    SuperInvoke  = 31, "SUPER_INVOKE",   [Const(ConstKind::Name), Argc],  pops Pops::Operand(1, 2), push 1, needs 0, Next, None,  [RAISE | ALLOCATE | CALL | POLL], InMemory, Some(Helper::SuperInvoke);
    Closure      = 32, "CLOSURE",        [Const(ConstKind::Function)],    pops Pops::Fixed(0), push 1, needs 0, Next,   Captures, [ALLOCATE],                  InMemory, Some(Helper::Closure);
    CloseUpvalue = 33, "CLOSE_UPVALUE",  [],                              pops Pops::Fixed(1), push 0, needs 0, Next,   None,     [],                          InMemory, Some(Helper::CloseUpvalues);
    Return       = 34, "RETURN",         [],                              pops Pops::Fixed(1), push 0, needs 0, Return, None,     [],                          Pending,  Some(Helper::CloseUpvalues);
    Class        = 35, "CLASS",          [Const(ConstKind::Name)],        pops Pops::Fixed(0), push 1, needs 0, Next,   None,     [ALLOCATE],                  InMemory, Some(Helper::Class);
    Inherit      = 36, "INHERIT",        [],                              pops Pops::Fixed(1), push 0, needs 2, Next,   None,     [RAISE],                     InMemory, Some(Helper::Inherit);
    Method       = 37, "METHOD",         [Const(ConstKind::Name)],        pops Pops::Fixed(1), push 0, needs 2, Next,   None,     [RAISE],                     InMemory, Some(Helper::Method);
    Array        = 38, "ARRAY",          [Count],                         pops Pops::Operand(0, 0), push 1, needs 0, Next, None,  [ALLOCATE],                  InMemory, Some(Helper::Array);
    GetIndex     = 39, "GET_INDEX",      [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE | ALLOCATE],          InMemory, Some(Helper::GetIndex);
    SetIndex     = 40, "SET_INDEX",      [],                              pops Pops::Fixed(3), push 1, needs 0, Next,   None,     [RAISE | ALLOCATE],          InMemory, Some(Helper::SetIndex);
    Spawn        = 41, "SPAWN",          [Argc],                          pops Pops::Operand(0, 1), push 1, needs 0, Next, None,  [RAISE | ALLOCATE | CALL],   InMemory, Some(Helper::Spawn);
    MonitorEnter = 42, "MONITOR_ENTER",  [],                              pops Pops::Fixed(1), push 0, needs 0, Next,   None,     [RAISE | BLOCK],             InMemory, Some(Helper::MonitorEnter);
    MonitorExit  = 43, "MONITOR_EXIT",   [],                              pops Pops::Fixed(1), push 0, needs 0, Next,   None,     [RAISE],                     InMemory, Some(Helper::MonitorExit);
    NotEqual     = 44, "NOT_EQUAL",      [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [],                          Pending,  None;
    GreaterEqual = 45, "GREATER_EQUAL",  [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::Compare);
    LessEqual    = 46, "LESS_EQUAL",     [],                              pops Pops::Fixed(2), push 1, needs 0, Next,   None,     [RAISE],                     Pending,  Some(Helper::Compare);
    // `for (var x in v)`: v is in the local slot; pushes the position and the key-set version after it.
    ForInStart   = 47, "FOR_IN_START",   [Local],                         pops Pops::Fixed(0), push 2, needs 0, Next,   None,     [RAISE],                     InMemory, Some(Helper::ForInStart);
    // Pushes the next element of the iteration whose slots start at the local, or nil and jumps when done.
    ForInNext    = 48, "FOR_IN_NEXT",    [Local, JumpForward],            pops Pops::Fixed(0), push 1, needs 0, Branch, None,     [RAISE | ALLOCATE],          InMemory, Some(Helper::ForInNext);
}

impl Op {
    /// The opcode's row.
    pub fn info(self) -> &'static OpInfo {
        &TABLE[self as usize]
    }

    /// The mnemonic shown by `disasm`.
    pub fn mnemonic(self) -> &'static str {
        self.info().mnemonic
    }

    /// The fixed operands (trailing data, such as `CLOSURE`'s captures,
    /// comes after them).
    pub fn operands(self) -> &'static [Operand] {
        self.info().operands
    }

    /// Byte offset of operand `i` from the opcode byte.
    pub fn operand_offset(self, i: usize) -> usize {
        1 + self.operands()[..i].iter().map(|o| o.size()).sum::<usize>()
    }

    /// Size of the opcode and its fixed operands.
    pub fn fixed_size(self) -> usize {
        self.operand_offset(self.operands().len())
    }

    /// The slow-path helper of the row (see `helper_of!`).
    pub const fn helper(self) -> Option<Helper> {
        TABLE[self as usize].helper
    }
}

/// The slow-path helper of opcode `op`'s row, checked at compile time: a
/// row without one does not build where the lowering asks for it.
#[macro_export]
macro_rules! helper_of {
    ($op:expr) => {
        const {
            match $op.helper() {
                Some(helper) => helper,
                None => panic!("this opcode's row names no slow-path helper"),
            }
        }
    };
}

/// One capture of a `CLOSURE`: a local slot of the enclosing frame or an
/// upvalue of the enclosing closure. Encoded as `is_local: u8, index: u32`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    pub is_local: bool,
    pub index: u32,
}

impl Capture {
    /// Encoded size.
    pub const SIZE: usize = 5;

    /// Reads the capture at `at` (None when its kind byte is neither 0 nor 1
    /// or it runs past the end).
    pub fn read(code: &[u8], at: usize) -> Option<Capture> {
        let kind = *code.get(at)?;
        let bytes = code.get(at + 1..at + 5)?;
        let index = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        match kind {
            0 | 1 => Some(Capture { is_local: kind == 1, index }),
            _ => None,
        }
    }

    pub fn write(self, out: &mut Vec<u8>) {
        out.push(self.is_local as u8);
        out.extend_from_slice(&self.index.to_le_bytes());
    }
}

/// Reads a little-endian u32 operand at `at`.
#[inline(always)]
pub fn read_u32(code: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([code[at], code[at + 1], code[at + 2], code[at + 3]])
}

/// The most fixed operands an instruction has.
pub const MAX_OPERANDS: usize = 3;

/// A decoded instruction: opcode, offset, operand values and size.
#[derive(Clone, Debug, PartialEq)]
pub struct Instruction {
    pub offset: usize,
    pub op: Op,
    /// Operand values in the order of `op.operands()` (jumps as i32 cast to
    /// i64); unused entries are 0. A fixed array: decoding never allocates.
    pub args: [i64; MAX_OPERANDS],
    /// Bytes of the whole instruction, trailing data included when it was
    /// decoded with `decode` (not with `decode_fixed`).
    pub size: usize,
    /// `CLOSURE`: the number of captures after the fixed operands.
    pub captures: u32,
}

impl Instruction {
    /// Absolute target of a jump instruction (its jump operand is relative
    /// to the end of the instruction).
    pub fn jump_target(&self) -> i64 {
        let jump = self.op.operands().iter().position(|o| o.is_jump()).unwrap_or(0);
        self.offset as i64 + self.size as i64 + self.args[jump]
    }

    /// Offset of the first capture of a `CLOSURE`.
    pub fn captures_start(&self) -> usize {
        self.offset + self.op.fixed_size()
    }

    /// The captures after a `CLOSURE` (decoded with `decode`); `None` for a
    /// malformed one (only the verifier can meet those).
    pub fn captures<'a>(&self, code: &'a [u8]) -> impl Iterator<Item = Option<Capture>> + 'a {
        let start = self.captures_start();
        (0..self.captures as usize).map(move |i| Capture::read(code, start + i * Capture::SIZE))
    }

    /// The values popped, pushed and peeked, and where control goes.
    pub fn effect(&self) -> StackEffect {
        let info = self.op.info();
        let pops = match info.pops {
            Pops::Fixed(n) => n,
            Pops::Operand(i, k) => (self.args[i] as u32).saturating_add(k),
        };
        StackEffect { pops, pushes: info.pushes, needs: info.needs, flow: info.flow }
    }
}

/// How an instruction changes the operand stack and where control goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StackEffect {
    pub pops: u32,
    pub pushes: u32,
    /// Lowest depth required before the instruction (peeks count here).
    pub needs: u32,
    pub flow: Flow,
}

impl StackEffect {
    pub fn falls_through(&self) -> bool {
        matches!(self.flow, Flow::Next | Flow::Branch)
    }
}

/// Decodes the opcode and fixed operands at `offset` (not `CLOSURE`'s
/// captures: `size` excludes them). `None` when the opcode is unknown or
/// the operands run past the end of `code`.
pub fn decode_fixed(code: &[u8], offset: usize) -> Option<Instruction> {
    let op = Op::from_byte(*code.get(offset)?)?;
    let mut at = offset + 1;
    let mut args = [0i64; MAX_OPERANDS];
    for (i, operand) in op.operands().iter().enumerate() {
        let size = operand.size();
        if at + size > code.len() {
            return None;
        }
        args[i] = match operand {
            Operand::Argc => code[at] as i64,
            o if o.is_jump() => read_u32(code, at) as i32 as i64,
            _ => read_u32(code, at) as i64,
        };
        at += size;
    }
    Some(Instruction { offset, op, args, size: at - offset, captures: 0 })
}

/// Decodes the whole instruction at `offset`, trailing data included.
/// `capture_count(k)` is the upvalue count of function constant `k` (None
/// when `k` is not a function constant). `None` when the instruction is
/// unknown, truncated or names no function.
pub fn decode(code: &[u8], offset: usize, capture_count: &dyn Fn(u32) -> Option<u32>) -> Option<Instruction> {
    let mut ins = decode_fixed(code, offset)?;
    if ins.op.info().trailing == Trailing::Captures {
        ins.captures = capture_count(ins.args[0] as u32)?;
        ins.size = ins.size.checked_add((ins.captures as usize).checked_mul(Capture::SIZE)?)?;
        if offset + ins.size > code.len() {
            return None;
        }
    }
    Some(ins)
}

/// Appends `op` with operand values `args` (one per operand of its row).
/// Returns the offset where the instruction starts.
pub fn encode(op: Op, args: &[i64], out: &mut Vec<u8>) -> usize {
    assert_eq!(args.len(), op.operands().len(), "{} takes {} operands", op.mnemonic(), op.operands().len());
    let start = out.len();
    out.push(op as u8);
    for (operand, &value) in op.operands().iter().zip(args) {
        match operand {
            Operand::Argc => out.push(value as u8),
            _ => out.extend_from_slice(&(value as u32).to_le_bytes()),
        }
    }
    start
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

    /// Sample operand values: the largest each kind can hold.
    fn sample_args(op: Op) -> Vec<i64> {
        op.operands()
            .iter()
            .map(|o| match o {
                Operand::Argc => 255,
                Operand::JumpBack => -7,
                Operand::JumpForward => 12,
                _ => 0xfff_ffff,
            })
            .collect()
    }

    #[test]
    fn every_opcode_encodes_and_decodes_back() {
        for &op in Op::ALL {
            let args = sample_args(op);
            let mut code = vec![0xEE];
            let start = encode(op, &args, &mut code);
            assert_eq!((start, code.len() - start), (1, op.fixed_size()), "{op:?}");
            let captures = 3;
            if op.info().trailing == Trailing::Captures {
                for i in 0..captures {
                    Capture { is_local: i % 2 == 0, index: i }.write(&mut code);
                }
            }
            let ins = decode(&code, 1, &|_| Some(captures)).expect("decodes");
            assert_eq!(ins.op, op);
            assert_eq!(&ins.args[..args.len()], &args[..], "{op:?}");
            assert_eq!(ins.size, code.len() - 1, "{op:?}");
            if let Some(i) = op.operands().iter().position(|o| o.is_jump()) {
                assert_eq!(ins.jump_target(), 1 + ins.size as i64 + args[i], "{op:?}");
            }
            let decoded: Vec<_> = ins.captures(&code).collect();
            if op == Op::Closure {
                assert_eq!(decoded[1], Some(Capture { is_local: false, index: 1 }));
            } else {
                assert!(decoded.is_empty());
            }
            // Every truncation fails to decode.
            for cut in 1..code.len() - 1 {
                assert!(decode(&code[..1 + cut], 1, &|_| Some(captures)).is_none(), "{op:?} cut at {cut}");
            }
        }
    }

    /// The stack effects, written out a second time (with the sample
    /// operands: 255 arguments, 0xfff_ffff elements): (pops, pushes, needs).
    #[test]
    fn every_opcode_has_the_stack_effect_it_should() {
        let many = 0xfff_ffff;
        let expected: &[(Op, u32, u32, u32)] = &[
            (Op::Constant, 0, 1, 0),
            (Op::Nil, 0, 1, 0),
            (Op::True, 0, 1, 0),
            (Op::False, 0, 1, 0),
            (Op::Pop, 1, 0, 0),
            (Op::GetLocal, 0, 1, 0),
            (Op::SetLocal, 0, 0, 1),
            (Op::GetGlobal, 0, 1, 0),
            (Op::DefineGlobal, 1, 0, 0),
            (Op::SetGlobal, 0, 0, 1),
            (Op::GetUpvalue, 0, 1, 0),
            (Op::SetUpvalue, 0, 0, 1),
            (Op::GetProperty, 1, 1, 0),
            (Op::SetProperty, 2, 1, 0),
            (Op::GetSuper, 2, 1, 0),
            (Op::Equal, 2, 1, 0),
            (Op::Greater, 2, 1, 0),
            (Op::Less, 2, 1, 0),
            (Op::Add, 2, 1, 0),
            (Op::Subtract, 2, 1, 0),
            (Op::Multiply, 2, 1, 0),
            (Op::Divide, 2, 1, 0),
            (Op::Modulo, 2, 1, 0),
            (Op::Not, 1, 1, 0),
            (Op::Negate, 1, 1, 0),
            (Op::Print, 1, 0, 0),
            (Op::Jump, 0, 0, 0),
            (Op::JumpIfFalse, 0, 0, 1),
            (Op::Loop, 0, 0, 0),
            (Op::Call, 256, 1, 0),
            (Op::Invoke, 256, 1, 0),
            (Op::SuperInvoke, 257, 1, 0),
            (Op::Closure, 0, 1, 0),
            (Op::CloseUpvalue, 1, 0, 0),
            (Op::Return, 1, 0, 0),
            (Op::Class, 0, 1, 0),
            (Op::Inherit, 1, 0, 2),
            (Op::Method, 1, 0, 2),
            (Op::Array, many, 1, 0),
            (Op::GetIndex, 2, 1, 0),
            (Op::SetIndex, 3, 1, 0),
            (Op::Spawn, 256, 1, 0),
            (Op::MonitorEnter, 1, 0, 0),
            (Op::MonitorExit, 1, 0, 0),
            (Op::NotEqual, 2, 1, 0),
            (Op::GreaterEqual, 2, 1, 0),
            (Op::LessEqual, 2, 1, 0),
            (Op::ForInStart, 0, 2, 0),
            (Op::ForInNext, 0, 1, 0),
        ];
        assert_eq!(expected.len(), Op::ALL.len(), "one expectation per opcode");
        for &(op, pops, pushes, needs) in expected {
            let mut code = Vec::new();
            encode(op, &sample_args(op), &mut code);
            let effect = decode(&code, 0, &|_| Some(0)).expect("decodes").effect();
            assert_eq!((effect.pops, effect.pushes, effect.needs), (pops, pushes, needs), "{op:?}");
        }
        let jumps: Vec<Op> = Op::ALL.iter().copied().filter(|op| op.operands().iter().any(|o| o.is_jump())).collect();
        assert_eq!(jumps, [Op::Jump, Op::JumpIfFalse, Op::Loop, Op::ForInNext]);
        assert_eq!(Op::Return.info().flow, Flow::Return);
    }
}
