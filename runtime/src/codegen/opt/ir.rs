//! The optimizing tier's IR: SSA over unboxed numbers, with every other
//! value in its value-stack slot.
//!
//! Owns the data types only (blocks, instructions, guards and the frame
//! state each guard restores, the helper calls of slow paths); it must not know how IR is built, rewritten
//! or turned into machine code. Numbers (`Val`, f64) are SSA values that
//! the register allocator places in XMM registers or native-stack spill
//! slots. Everything else (objects, nil, booleans) is never an SSA value:
//! it lives in the frame's value-stack slot at the bytecode's own stack
//! position, which is what keeps the GC's view exact at every call and
//! safepoint without stack maps.

/// An SSA value: an unboxed IEEE double.
pub type Val = u32;
use crate::object::Intrinsic;

/// Index of a block in `Func::blocks`.
pub type BlockId = u32;
/// Index of a guard's frame state in `Func::deopts`.
pub type DeoptId = u32;
/// Index of a slow path in `Func::slows`.
pub type SlowId = u32;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `%`: C's fmod (the remainder with the dividend's sign).
    Mod,
}

impl BinOp {
    /// The operation on host doubles (the same IEEE operation as SSE2's).
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
            BinOp::Mod => a % b,
        }
    }
}

/// A comparison of two numbers, with clox's NaN rules (see `Comparison`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Lt,
    Ge,
    Le,
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Inst {
    /// `dst = bits` (a number constant).
    Const {
        dst: Val,
        bits: u64,
    },
    /// The guard `CheckNumber`: deoptimizes unless slot `slot` holds a
    /// number, then `dst` is that number.
    Unbox {
        dst: Val,
        slot: u32,
        deopt: DeoptId,
    },
    Binary {
        dst: Val,
        op: BinOp,
        a: Val,
        b: Val,
    },
    Neg {
        dst: Val,
        a: Val,
    },
    /// Writes number `v` into slot `slot` (boxing a number is free).
    Box {
        slot: u32,
        v: Val,
    },
    /// Writes the value with bits `bits` (nil, true, false) into a slot.
    StoreBits {
        slot: u32,
        bits: u64,
    },
    /// Writes constant `k` of the function into a slot.
    LoadConstant {
        slot: u32,
        k: u32,
    },
    /// Slot `dst` = slot `src`.
    Copy {
        dst: u32,
        src: u32,
    },
    /// Slot `slot` = the boolean `a cmp b`.
    CmpToSlot {
        slot: u32,
        cmp: Cmp,
        a: Val,
        b: Val,
    },
    /// Slot `slot` = whether slots `a` and `b` hold equal values (`==`),
    /// or different ones when `equal` is false.
    EqualSlots {
        slot: u32,
        a: u32,
        b: u32,
        equal: bool,
    },
    /// Slot `dst` = whether slot `src` holds the number `v` (`==`), or
    /// does not.
    EqualNum {
        dst: u32,
        src: u32,
        v: Val,
        equal: bool,
    },
    /// Slot `slot` = `!slot`.
    NotSlot {
        slot: u32,
    },
    /// Slot `slot` = global `global`; deoptimizes when it is undefined.
    GetGlobal {
        slot: u32,
        global: u32,
        deopt: DeoptId,
    },
    /// `GET_GLOBAL` whose value is popped unused: only its guard.
    CheckGlobal {
        global: u32,
        deopt: DeoptId,
    },
    /// A safepoint poll: deoptimizes (the interpreter then polls) when
    /// another thread or a signal asks for one.
    Poll {
        deopt: DeoptId,
    },
    /// Global `global` = slot `slot`; deoptimizes when it is undefined.
    SetGlobal {
        global: u32,
        slot: u32,
        deopt: DeoptId,
    },
    /// Defines global `global` as slot `slot`.
    DefineGlobal {
        global: u32,
        slot: u32,
    },
    /// A runtime helper that works on the operand stack exactly as the
    /// interpreter's slow path does, with `depth` slots on it and the
    /// frame's `pc` at `pc`. Clobbers every XMM register.
    Helper {
        op: HelperOp,
        pc: u32,
        depth: u32,
    },
    /// `GET_PROPERTY` on the receiver in slot `slot`, result there: a field
    /// of an instance whose shape cache site `cache` remembers inline, the
    /// rest through the slow path `slow`.
    GetField {
        slot: u32,
        /// Where the receiver is read: `slot`, or the local it is a copy of.
        src: u32,
        cache: u32,
        /// The only shape the site has seen, for a guard against a constant.
        known: Option<Known>,
        /// A `CheckShape` already proved the receiver has `known`'s shape.
        checked: bool,
        slow: SlowId,
    },
    /// `SET_PROPERTY`: receiver in `slot`, value in `slot + 1` (and the
    /// result in `slot`); an existing or cached added field inline.
    SetField {
        slot: u32,
        cache: u32,
        known: Option<Known>,
        checked: bool,
        slow: SlowId,
    },
    /// A checked `GetField` fused with the `Unbox` of its result: `dst` =
    /// field `index` of the instance in slot `src`, deoptimizing unless it
    /// is a number (the slot of the `GetField` is written only then, by
    /// the guard's `fields`).
    GetFieldNum {
        dst: Val,
        src: u32,
        index: u32,
        deopt: DeoptId,
    },
    /// `SET_PROPERTY` of the number `v` on an instance of a checked shape
    /// (`known`): receiver in `slot`; its result is left to the builder.
    SetFieldNum {
        slot: u32,
        /// Where the receiver is read (as for `GetField`).
        src: u32,
        v: Val,
        known: Known,
        slow: SlowId,
    },
    /// The guard `CheckShape`: deoptimizes unless slot `slot` holds an
    /// instance of `shape`.
    CheckShape {
        slot: u32,
        shape: u64,
        deopt: DeoptId,
    },
    /// `GET_INDEX`: the receiver in `slot` (result there), the index the
    /// number `index` (in a register) or, when `None`, the value in
    /// `slot + 1`. Arrays inline, the rest through `slow`.
    GetIndex {
        slot: u32,
        /// As for `GetField`.
        src: u32,
        index: Option<Val>,
        slow: SlowId,
    },
    /// `SET_INDEX`: receiver in `slot` (result there), index as for
    /// `GetIndex`, value in `slot + 2`.
    SetIndex {
        slot: u32,
        /// As for `GetIndex`.
        src: u32,
        index: Option<Val>,
        slow: SlowId,
        /// Whether the result (the value) is written to `slot`; not when
        /// the builder popped it unread.
        result: bool,
    },
    /// The `CALL` of the native `len` (in slot `callee`) on the array,
    /// string or map in slot `arg`: `dst` = its length. Deoptimizes (the
    /// interpreter then makes the call) unless the callee is that native
    /// and the argument one of those.
    Len {
        dst: Val,
        callee: u32,
        arg: u32,
        deopt: DeoptId,
    },
    /// The `CALL` of the native `sqrt` (in slot `callee`) on the number
    /// `a`: `dst` = its square root. Deoptimizes unless the callee is
    /// that native.
    Sqrt {
        dst: Val,
        callee: u32,
        a: Val,
        deopt: DeoptId,
    },
    /// Slot `slot` = upvalue `index` of the running closure.
    GetUpvalue {
        slot: u32,
        index: u32,
    },
    /// Upvalue `index` of the running closure = slot `slot`.
    SetUpvalue {
        slot: u32,
        index: u32,
    },
    /// `INVOKE` of method constant `k` on the receiver in slot `receiver`
    /// with the `argc` slots above it, through cache site `cache`; the
    /// result lands in slot `receiver`. Clobbers every XMM register.
    Invoke {
        receiver: u32,
        argc: u32,
        k: u32,
        cache: u32,
        /// The only shape the site has seen (`value`: its method closure).
        known: Option<Known>,
        pc: u32,
    },
    /// Calls the callee in slot `callee` with the `argc` slots above it;
    /// the result lands in slot `callee`. `pc` is the frame's `pc` during
    /// the call. Clobbers every XMM register.
    Call {
        callee: u32,
        argc: u32,
        /// The site's call cache (its callee, or class, and entry).
        cache: u32,
        pc: u32,
        /// `Intrinsic::Push` when the callee may be `push`, which is then
        /// done in place when the array has room; else `None`.
        intrinsic: Intrinsic,
    },
}

/// The instructions that run through a stack-based helper.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HelperOp {
    /// `PRINT` (pops the value).
    Print,
    /// `ARRAY` of the `count` slots on top.
    Array { count: u32 },
    /// `CLOSURE` of the instruction at `offset` (capturing no local).
    Closure { offset: u32 },
}

/// What a monomorphic inline-cache site remembers (the builder's type
/// feedback): receivers of `shape` have the field `value` (property
/// sites, adding the field makes them `next_shape` when that is not 0) or
/// call the method closure at address `value` (`INVOKE`). Both facts hold
/// for as long as the shape lives: a shape's fields never change, and a
/// class's methods are fixed once it is defined.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub shape: u64,
    pub value: u64,
    pub next_shape: u64,
}

/// The runtime helper a slow path calls.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SlowHelper {
    GetProperty { k: u32, cache: u32 },
    SetProperty { k: u32, cache: u32 },
    GetIndex,
    SetIndex,
}

/// An out-of-line call of an instruction's helper, for the cases its fast
/// path leaves: the numbers in `values` are written to their slots first
/// (so that the helper and the GC see exact values), the XMM registers are
/// kept around the call, and `pc`/`depth` are the frame's during it.
#[derive(Clone, Debug, PartialEq)]
pub struct Slow {
    pub pc: u32,
    pub depth: u32,
    pub values: Vec<(u32, Val)>,
    /// Slots (dst, src) copied first: a receiver read from its local.
    pub copies: Vec<(u32, u32)>,
    pub helper: SlowHelper,
}

impl Inst {
    /// The value this instruction defines.
    pub fn def(&self) -> Option<Val> {
        match *self {
            Inst::Const { dst, .. }
            | Inst::Unbox { dst, .. }
            | Inst::Binary { dst, .. }
            | Inst::Neg { dst, .. }
            | Inst::GetFieldNum { dst, .. }
            | Inst::Len { dst, .. }
            | Inst::Sqrt { dst, .. } => Some(dst),
            _ => None,
        }
    }

    /// Its guard, if it has one.
    pub fn deopt(&self) -> Option<DeoptId> {
        match *self {
            Inst::Unbox { deopt, .. }
            | Inst::GetGlobal { deopt, .. }
            | Inst::CheckGlobal { deopt, .. }
            | Inst::SetGlobal { deopt, .. }
            | Inst::CheckShape { deopt, .. }
            | Inst::GetFieldNum { deopt, .. }
            | Inst::Len { deopt, .. }
            | Inst::Sqrt { deopt, .. }
            | Inst::Poll { deopt } => Some(deopt),
            _ => None,
        }
    }

    /// The values it reads (a guard's frame state is read by `uses_of`).
    pub fn operands(&self) -> Vec<Val> {
        match *self {
            Inst::Binary { a, b, .. } | Inst::CmpToSlot { a, b, .. } => vec![a, b],
            Inst::Neg { a, .. } | Inst::Sqrt { a, .. } => vec![a],
            Inst::Box { v, .. } | Inst::SetFieldNum { v, .. } | Inst::EqualNum { v, .. } => vec![v],
            Inst::GetIndex { index: Some(i), .. } | Inst::SetIndex { index: Some(i), .. } => vec![i],
            _ => Vec::new(),
        }
    }

    /// Rewrites every value it reads through `f`.
    pub fn map_operands(&mut self, f: &dyn Fn(Val) -> Val) {
        match self {
            Inst::Binary { a, b, .. } | Inst::CmpToSlot { a, b, .. } => {
                *a = f(*a);
                *b = f(*b);
            }
            Inst::Neg { a, .. } | Inst::Sqrt { a, .. } => *a = f(*a),
            Inst::Box { v, .. } | Inst::SetFieldNum { v, .. } | Inst::EqualNum { v, .. } => *v = f(*v),
            Inst::GetIndex { index: Some(i), .. } | Inst::SetIndex { index: Some(i), .. } => *i = f(*i),
            _ => {}
        }
    }

    /// Its slow path, if it has one.
    pub fn slow(&self) -> Option<SlowId> {
        match *self {
            Inst::GetField { slow, .. }
            | Inst::SetField { slow, .. }
            | Inst::GetIndex { slow, .. }
            | Inst::SetFieldNum { slow, .. }
            | Inst::SetIndex { slow, .. } => Some(slow),
            _ => None,
        }
    }

    /// Whether it calls out and so clobbers every XMM register.
    pub fn is_call(&self) -> bool {
        matches!(self, Inst::Call { .. } | Inst::Helper { .. } | Inst::Invoke { .. })
    }

    /// Whether removing it when its value is unused changes nothing.
    pub fn is_pure(&self) -> bool {
        matches!(self, Inst::Const { .. } | Inst::Binary { .. } | Inst::Neg { .. })
    }

    /// The slot it writes when that is all it does (reads of other slots
    /// aside): a store the builder drops when the slot is popped unread.
    pub fn only_writes_slot(&self) -> Option<u32> {
        match *self {
            Inst::Box { slot, .. }
            | Inst::StoreBits { slot, .. }
            | Inst::LoadConstant { slot, .. }
            | Inst::CmpToSlot { slot, .. }
            | Inst::EqualSlots { slot, .. }
            | Inst::NotSlot { slot }
            | Inst::GetUpvalue { slot, .. } => Some(slot),
            Inst::Copy { dst, .. } | Inst::EqualNum { dst, .. } => Some(dst),
            _ => None,
        }
    }

    /// The value-stack slot it writes, if any.
    pub fn writes_slot(&self) -> Option<u32> {
        if let Some(slot) = self.only_writes_slot() {
            return Some(slot);
        }
        match *self {
            Inst::GetGlobal { slot, .. }
            | Inst::GetField { slot, .. }
            | Inst::SetField { slot, .. }
            | Inst::GetIndex { slot, .. }
            | Inst::SetIndex { slot, .. } => Some(slot),
            Inst::Call { callee, .. } => Some(callee),
            Inst::Invoke { receiver, .. } => Some(receiver),
            Inst::Helper { op: HelperOp::Array { count }, depth, .. } => Some(depth - count),
            Inst::Helper { op: HelperOp::Closure { .. }, depth, .. } => Some(depth),
            _ => None,
        }
    }
}

/// What a conditional branch tests.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Cmp(Cmp, Val, Val),
    /// The value in the slot is neither nil nor false.
    Truthy(u32),
    /// The value in the slot has (`equal`) or has not the bits of nil,
    /// true or false (`==` with those is identity).
    Bits {
        slot: u32,
        bits: u64,
        equal: bool,
    },
    /// The values in slots `a` and `b` are equal (`==`), or differ.
    Equal {
        a: u32,
        b: u32,
        equal: bool,
    },
    /// The value in the slot is the number `v` (`==`), or is not.
    EqualNum {
        slot: u32,
        v: Val,
        equal: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub target: BlockId,
    /// One per parameter of the target.
    pub args: Vec<Val>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    Jump(Edge),
    /// To `then` when the condition holds, else to `other` (both without
    /// arguments: the builder gives each its own edge block).
    Branch {
        cond: Cond,
        then: BlockId,
        other: BlockId,
    },
    /// Returns the value in a slot.
    ReturnSlot(u32),
    /// Returns a number.
    ReturnVal(Val),
    /// Not built yet (never left in a finished function).
    Unset,
}

impl Term {
    pub fn successors(&self) -> Vec<BlockId> {
        match self {
            Term::Jump(e) => vec![e.target],
            Term::Branch { then, other, .. } => vec![*then, *other],
            _ => Vec::new(),
        }
    }

    /// The values it reads.
    pub fn operands(&self) -> Vec<Val> {
        match self {
            Term::Jump(e) => e.args.clone(),
            Term::Branch { cond: Cond::Cmp(_, a, b), .. } => vec![*a, *b],
            Term::Branch { cond: Cond::EqualNum { v, .. }, .. } => vec![*v],
            Term::ReturnVal(v) => vec![*v],
            _ => Vec::new(),
        }
    }

    pub fn map_operands(&mut self, f: &dyn Fn(Val) -> Val) {
        match self {
            Term::Jump(e) => e.args.iter_mut().for_each(|a| *a = f(*a)),
            Term::Branch { cond: Cond::Cmp(_, a, b), .. } => {
                *a = f(*a);
                *b = f(*b);
            }
            Term::Branch { cond: Cond::EqualNum { v, .. }, .. } => *v = f(*v),
            Term::ReturnVal(v) => *v = f(*v),
            _ => {}
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub params: Vec<Val>,
    pub insts: Vec<Inst>,
    pub term: Term,
}

/// Why a guard failed (for `TINYVM_STATS`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    NotNumber = 0,
    UndefinedGlobal = 1,
    Poll = 2,
    /// A receiver that is not an instance of the shape its site saw.
    Shape = 3,
    /// A call site whose callee (or its argument) is not the one the code
    /// computes in place.
    Callee = 4,
}

impl Reason {
    pub const COUNT: usize = 5;
    pub const NAMES: [&'static str; Reason::COUNT] =
        ["not a number", "undefined global", "safepoint", "shape", "callee"];

    /// Whether a failure means the speculation was wrong (polls are not).
    pub fn counts(self) -> bool {
        self != Reason::Poll
    }
}

/// The interpreter frame a guard rebuilds: execution resumes at the
/// instruction at bytecode offset `pc` with `depth` slots on the stack.
/// Slots listed in `values` get those numbers; every other slot below
/// `depth` already holds its exact value in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Deopt {
    pub pc: u32,
    pub depth: u32,
    pub values: Vec<(u32, Val)>,
    /// Slots (dst, src) copied first: a receiver read from its local.
    pub copies: Vec<(u32, u32)>,
    /// Slots (slot, src, index) loaded next with field `index` of the
    /// instance in slot `src` (a field load fused with its `Unbox`).
    pub fields: Vec<(u32, u32, u32)>,
    pub reason: Reason,
}

/// An on-stack-replacement entry: an interpreted frame at the loop header
/// at bytecode offset `header` continues in `block`, whose parameters are
/// the numbers in `slots` (each guarded; `deopt` when one is not a number:
/// the frame then goes on in the interpreter).
#[derive(Clone, Debug, PartialEq)]
pub struct OsrEntry {
    pub header: u32,
    pub block: BlockId,
    pub slots: Vec<u32>,
    pub deopt: DeoptId,
}

impl Func {
    /// Whether some instruction speculates (works on unboxed numbers, or
    /// on a receiver of a checked shape): without one the optimized code
    /// would only repeat the baseline code's work.
    pub fn speculates(&self) -> bool {
        self.blocks.iter().any(|b| {
            matches!(b.term, Term::Branch { cond: Cond::Cmp(..), .. } | Term::ReturnVal(_))
                || b.insts.iter().any(|i| {
                    matches!(
                        i,
                        Inst::Binary { .. }
                            | Inst::Neg { .. }
                            | Inst::CmpToSlot { .. }
                            | Inst::Unbox { .. }
                            | Inst::CheckShape { .. }
                    )
                })
        })
    }
}

/// One function in IR. Block 0 is the entry.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Func {
    pub blocks: Vec<Block>,
    pub deopts: Vec<Deopt>,
    pub slows: Vec<Slow>,
    pub values: u32,
    pub osr: Vec<OsrEntry>,
}

impl Func {
    /// Every value an instruction reads, its guard's frame state included.
    pub fn uses_of(&self, inst: &Inst) -> Vec<Val> {
        let mut uses = inst.operands();
        if let Some(d) = inst.deopt() {
            uses.extend(self.deopts[d as usize].values.iter().map(|&(_, v)| v));
        }
        if let Some(s) = inst.slow() {
            uses.extend(self.slows[s as usize].values.iter().map(|&(_, v)| v));
        }
        uses
    }

    /// A readable listing (tests, `TINYVM_OPT_DEBUG`).
    pub fn listing(&self) -> String {
        let mut out = String::new();
        for (i, b) in self.blocks.iter().enumerate() {
            out.push_str(&format!("b{}{:?}:\n", i, b.params));
            for inst in &b.insts {
                out.push_str(&format!("  {:?}\n", inst));
            }
            out.push_str(&format!("  {:?}\n", b.term));
        }
        out
    }
}
