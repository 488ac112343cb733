//! Bytecode to IR: an abstract interpretation of the verified bytecode
//! over the frame's stack positions, run to a fixed point over the types
//! at jump targets, that speculates on numbers and inserts explicit guards.
//!
//! Owns the choice of what to speculate (v0: a parameter that the code
//! uses as a number is checked once at entry; every other value entering
//! number-land is checked where it enters) and the frame state each guard
//! restores. It declines (returns `Err`) every function that uses an
//! instruction outside its subset; it must not emit machine code or look
//! at registers.
//!
//! Each stack position is `Mem` (its slot holds the exact value), `Num`
//! (the exact value is an SSA number; the slot holds some older valid value
//! when `fresh`, possibly garbage otherwise) or `Dead` (a branch condition
//! about to be popped). Before a call every number below the callee is
//! written to its slot if the slot may hold garbage, so the GC, which scans
//! the slots, only ever sees valid values.

use super::ir::*;
use crate::bytecode::depth::stack_depths;
use crate::bytecode::opcode::{decode, decode_fixed, Instruction, Op};
use crate::object::Intrinsic;
use crate::value::Value;

/// What the builder needs to know about a function.
pub struct BuildInput<'a> {
    pub code: &'a [u8],
    pub arity: u32,
    /// Upvalue count of the function constant `k` (for `CLOSURE` sizes).
    pub capture_count: &'a dyn Fn(u32) -> u32,
    /// The value of constant `k` when it is a number.
    pub number_constant: &'a dyn Fn(u32) -> Option<f64>,
    /// What cache site `c` has seen when it has seen one shape only.
    pub known: &'a dyn Fn(u32) -> Option<Known>,
    /// The operation of the native that global `g` names, as a hint (the
    /// code checks that the callee is that native).
    pub intrinsic_of_global: &'a dyn Fn(u32) -> Intrinsic,
}

#[derive(Copy, Clone, Debug, PartialEq)]
pub(super) enum Abs {
    /// Exact in memory; a copy of local `copy_of` (unchanged since) if set.
    Mem {
        copy_of: Option<u32>,
    },
    Num {
        v: Val,
        fresh: bool,
    },
    Dead,
}

/// The type part of `Abs`, kept per jump target across passes.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Ty {
    Mem,
    Num { fresh: bool },
    Dead,
}

fn ty(a: Abs) -> Ty {
    match a {
        Abs::Mem { .. } => Ty::Mem,
        Abs::Num { fresh, .. } => Ty::Num { fresh },
        Abs::Dead => Ty::Dead,
    }
}

fn join(a: Ty, b: Ty) -> Ty {
    match (a, b) {
        (Ty::Dead, _) | (_, Ty::Dead) => Ty::Dead,
        (Ty::Num { fresh: x }, Ty::Num { fresh: y }) => Ty::Num { fresh: x && y },
        _ => Ty::Mem,
    }
}

/// Whether the slot of a position holds a valid value (for the GC).
fn valid(a: Abs) -> bool {
    match a {
        Abs::Mem { .. } => true,
        Abs::Num { fresh, .. } => fresh,
        Abs::Dead => false,
    }
}

pub type Declined = String;

pub(super) struct Builder<'a> {
    pub(super) input: &'a BuildInput<'a>,
    pub(super) depths: Vec<Option<u32>>,
    pub(super) jump_targets: Vec<bool>,
    /// Types at each jump target, joined over the edges seen so far.
    entry: Vec<Option<Vec<Ty>>>,
    /// The locals' shapes known at each jump target that is not a loop
    /// header (OSR enters those unchecked): those every edge knows.
    entry_shapes: Vec<Option<Vec<(u32, u64)>>>,
    /// The targets of `LOOP`s.
    loop_headers: Vec<bool>,
    pub(super) changed: bool,
    /// Parameter slots checked at entry (speculated to hold numbers).
    pub(super) numeric_params: Vec<bool>,
    /// Parameter slots this pass found used as numbers.
    pub(super) used_as_numbers: Vec<bool>,
    pub(super) func: Func,
    pub(super) block_at: Vec<Option<BlockId>>,
    pub(super) cur: BlockId,
    pub(super) state: Vec<Abs>,
    pub(super) reachable: bool,
    /// The position and bits of a nil, true or false that the previous
    /// instruction pushed (for `x == nil` fused with its branch).
    pub(super) last_constant: Option<(usize, u64)>,
    /// Locals known (by a `CheckShape` in this block) to hold an instance
    /// of a shape, until something may change it.
    pub(super) shapes: Vec<(u32, u64)>,
    /// Positions a `GET_GLOBAL` of a native's name filled (with its
    /// operation), until popped.
    pub(super) callees: Vec<(usize, Intrinsic)>,
}

/// Builds the IR of a function, or says why not.
pub fn build(input: &BuildInput) -> Result<Func, Declined> {
    let depths = stack_depths(input.code, input.arity, input.capture_count);
    let mut jump_targets = vec![false; input.code.len() + 1];
    let mut loop_headers = vec![false; input.code.len() + 1];
    let mut offset = 0;
    let captures = |k: u32| Some((input.capture_count)(k));
    while let Some(ins) = decode(input.code, offset, &captures) {
        if depths[offset].is_some() {
            check_supported(&ins, input.code)?;
            if ins.op.operands().iter().any(|o| o.is_jump()) {
                jump_targets[ins.jump_target() as usize] = true;
                if ins.op == Op::Loop {
                    loop_headers[ins.jump_target() as usize] = true;
                }
            }
        }
        offset += ins.size;
    }
    let params = input.arity as usize + 1;
    let mut b = Builder {
        input,
        depths,
        jump_targets,
        entry: Vec::new(),
        entry_shapes: Vec::new(),
        loop_headers,
        changed: false,
        numeric_params: vec![false; params],
        used_as_numbers: vec![false; params],
        func: Func::default(),
        block_at: Vec::new(),
        cur: 0,
        state: Vec::new(),
        reachable: true,
        last_constant: None,
        shapes: Vec::new(),
        callees: Vec::new(),
    };
    b.entry = vec![None; input.code.len() + 1];
    b.entry_shapes = vec![None; input.code.len() + 1];
    for _ in 0..64 {
        b.pass()?;
        let grown: Vec<bool> = b.numeric_params.iter().zip(&b.used_as_numbers).map(|(&n, &u)| n || u).collect();
        if !b.changed && grown == b.numeric_params {
            b.osr_entries()?;
            let func = std::mem::take(&mut b.func);
            validate(&func)?;
            return Ok(func);
        }
        if grown != b.numeric_params {
            // Speculating on more parameters changes every type: start over.
            b.numeric_params = grown;
            b.entry = vec![None; input.code.len() + 1];
            b.entry_shapes = vec![None; input.code.len() + 1];
        }
    }
    Err("the types did not settle".into())
}

/// Checks what the passes and the emitter rely on: every block is
/// finished and every jump passes one argument per parameter.
pub fn validate(func: &Func) -> Result<(), Declined> {
    for block in &func.blocks {
        match &block.term {
            Term::Unset => return Err("a block without a terminator".into()),
            Term::Jump(edge) => {
                let params = func.blocks.get(edge.target as usize).map(|b| b.params.len());
                if params != Some(edge.args.len()) {
                    return Err("a jump's arguments do not match its target".into());
                }
            }
            Term::Branch { then, other, .. } => {
                for &t in [then, other] {
                    if func.blocks.get(t as usize).is_none_or(|b| !b.params.is_empty()) {
                        return Err("a branch to a block with parameters".into());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_supported(ins: &Instruction, code: &[u8]) -> Result<(), Declined> {
    use Op::*;
    match ins.op {
        Constant | Nil | True | False | Pop | GetLocal | SetLocal | GetGlobal | Equal | NotEqual | Greater | Less
        | GreaterEqual | LessEqual | Add | Subtract | Multiply | Divide | Not | Negate | Jump | JumpIfFalse | Loop
        | Call | Return | Print | Modulo | SetGlobal | DefineGlobal | GetProperty | SetProperty | GetIndex
        | SetIndex | GetUpvalue | SetUpvalue | Invoke | Array => Ok(()),
        // A captured local lives in its slot while the closure may read it:
        // this tier keeps locals in registers, so it leaves such functions.
        Closure if ins.captures(code).flatten().any(|c| c.is_local) => Err("a closure captures a local".into()),
        Closure => Ok(()),
        op => Err(format!("{} is outside the optimizer's subset", op.mnemonic())),
    }
}

impl Builder<'_> {
    pub(super) fn new_val(&mut self) -> Val {
        self.func.values += 1;
        self.func.values - 1
    }

    fn new_block(&mut self) -> BlockId {
        self.func.blocks.push(Block { params: Vec::new(), insts: Vec::new(), term: Term::Unset });
        self.func.blocks.len() as BlockId - 1
    }

    pub(super) fn emit(&mut self, inst: Inst) {
        self.func.blocks[self.cur as usize].insts.push(inst);
    }

    fn terminate(&mut self, term: Term) {
        self.func.blocks[self.cur as usize].term = term;
        self.reachable = false;
    }

    fn block_for(&mut self, offset: usize) -> BlockId {
        if let Some(b) = self.block_at[offset] {
            return b;
        }
        let b = self.new_block();
        self.block_at[offset] = Some(b);
        b
    }

    /// An OSR entry at every loop header (the target of a `LOOP`).
    fn osr_entries(&mut self) -> Result<(), Declined> {
        let headers: Vec<usize> = (0..self.loop_headers.len()).filter(|&o| self.loop_headers[o]).collect();
        for header in headers {
            let (Some(types), Some(block)) = (self.entry[header].clone(), self.block_at[header]) else { continue };
            if types.contains(&Ty::Dead) {
                continue;
            }
            let slots = (0..types.len() as u32).filter(|&p| matches!(types[p as usize], Ty::Num { .. })).collect();
            let depth = types.len() as u32;
            self.func.deopts.push(Deopt {
                pc: header as u32,
                depth,
                values: Vec::new(),
                copies: Vec::new(),
                fields: Vec::new(),
                reason: Reason::NotNumber,
            });
            let deopt = self.func.deopts.len() as DeoptId - 1;
            self.func.osr.push(OsrEntry { header: header as u32, block, slots, deopt });
        }
        Ok(())
    }

    /// One walk over the code with the current entry types.
    fn pass(&mut self) -> Result<(), Declined> {
        self.changed = false;
        self.used_as_numbers = vec![false; self.numeric_params.len()];
        self.func = Func::default();
        self.block_at = vec![None; self.input.code.len() + 1];
        self.cur = self.new_block();
        self.reachable = true;
        // Nothing is known at the entry (the last pass's end knew things).
        self.shapes.clear();
        self.callees.clear();
        self.last_constant = None;
        self.state = (0..self.numeric_params.len()).map(|_| Abs::Mem { copy_of: None }).collect();
        for p in 1..self.numeric_params.len() {
            if self.numeric_params[p] {
                let deopt = self.deopt(0, Reason::NotNumber)?;
                let dst = self.new_val();
                self.emit(Inst::Unbox { dst, slot: p as u32, deopt });
                self.state[p] = Abs::Num { v: dst, fresh: true };
            }
        }
        let code = self.input.code;
        let mut offset = 0;
        let captures = |k: u32| Some((self.input.capture_count)(k));
        while let Some(ins) = decode(code, offset, &captures) {
            let next = offset + ins.size;
            if self.depths[offset].is_some() {
                if self.jump_targets[offset] && !self.enter_target(offset)? {
                    offset = next;
                    continue;
                }
                if self.reachable {
                    offset = self.instruction(&ins)?;
                    continue;
                }
            }
            offset = next;
        }
        if self.reachable {
            return Err("control falls off the end".into());
        }
        Ok(())
    }

    /// At a jump target: ends the current block with a jump there and
    /// starts its block. False when nothing reaches it (yet).
    fn enter_target(&mut self, offset: usize) -> Result<bool, Declined> {
        // Another path may reach the target with other values.
        self.last_constant = None;
        self.callees.clear();
        if self.reachable {
            let edge = self.edge(offset)?;
            self.terminate(Term::Jump(edge));
        }
        self.shapes = self.entry_shapes[offset].clone().unwrap_or_default();
        let Some(types) = self.entry[offset].clone() else { return Ok(false) };
        let block = self.block_for(offset);
        self.cur = block;
        self.reachable = true;
        self.state.clear();
        for t in types {
            let abs = match t {
                Ty::Mem => Abs::Mem { copy_of: None },
                Ty::Dead => Abs::Dead,
                Ty::Num { fresh } => {
                    let v = self.new_val();
                    self.func.blocks[block as usize].params.push(v);
                    Abs::Num { v, fresh }
                }
            };
            self.state.push(abs);
        }
        Ok(true)
    }

    /// The edge from the current state to the jump target at `offset`:
    /// joins the types there and writes to memory the numbers it wants in
    /// memory (emitted into the current block).
    fn edge(&mut self, offset: usize) -> Result<Edge, Declined> {
        let here: Vec<Ty> = self.state.iter().map(|&a| ty(a)).collect();
        let joined = match &self.entry[offset] {
            None => here,
            Some(old) if old.len() != here.len() => return Err("stack depths differ at a join".into()),
            Some(old) => old.iter().zip(&here).map(|(&a, &b)| join(a, b)).collect(),
        };
        if self.entry[offset].as_ref() != Some(&joined) {
            self.changed = true;
            self.entry[offset] = Some(joined.clone());
        }
        let shapes = match &self.entry_shapes[offset] {
            _ if self.loop_headers[offset] => Vec::new(),
            None => self.shapes.clone(),
            Some(old) => old.iter().filter(|s| self.shapes.contains(s)).copied().collect(),
        };
        if self.entry_shapes[offset].as_ref() != Some(&shapes) {
            self.changed = true;
            self.entry_shapes[offset] = Some(shapes);
        }
        let mut args = Vec::new();
        for (p, t) in joined.iter().enumerate() {
            match (t, self.state[p]) {
                (Ty::Num { .. }, Abs::Num { v, .. }) => args.push(v),
                (Ty::Mem, Abs::Num { v, .. }) => self.emit(Inst::Box { slot: p as u32, v }),
                _ => {}
            }
        }
        let target = self.block_for(offset);
        Ok(Edge { target, args })
    }

    /// A conditional branch: to `target` when `cond` fails (the new block
    /// `other` holds that edge), else on in a new current block.
    fn branch(&mut self, cond: Cond, target: usize) -> Result<(), Declined> {
        let other = self.new_block();
        let then = self.new_block();
        self.func.blocks[self.cur as usize].term = Term::Branch { cond, then, other };
        self.cur = other;
        let edge = self.edge(target)?;
        self.func.blocks[other as usize].term = Term::Jump(edge);
        self.cur = then;
        Ok(())
    }

    /// The positions that hold numbers, which a guard or slow path writes
    /// to their slots (none may be a condition not yet materialized).
    pub(super) fn numbers_in_frame(&self) -> Result<Vec<(u32, Val)>, Declined> {
        let mut values = Vec::new();
        for (p, &a) in self.state.iter().enumerate() {
            match a {
                Abs::Num { v, .. } => values.push((p as u32, v)),
                Abs::Dead => return Err("a guard or slow path where a condition is not materialized".into()),
                Abs::Mem { .. } => {}
            }
        }
        Ok(values)
    }

    /// The frame state of a guard at the instruction at `pc`.
    pub(super) fn deopt(&mut self, pc: usize, reason: Reason) -> Result<DeoptId, Declined> {
        let values = self.numbers_in_frame()?;
        let depth = self.state.len() as u32;
        self.func.deopts.push(Deopt { pc: pc as u32, depth, values, copies: Vec::new(), fields: Vec::new(), reason });
        Ok(self.func.deopts.len() as DeoptId - 1)
    }

    /// The number at position `p`, guarded (at the instruction at `pc`)
    /// if it is not known to be one.
    pub(super) fn number_at(&mut self, p: usize, pc: usize) -> Result<Val, Declined> {
        match self.state[p] {
            Abs::Num { v, .. } => Ok(v),
            Abs::Dead => Err("a dead value is used".into()),
            Abs::Mem { copy_of } => {
                let deopt = self.deopt(pc, Reason::NotNumber)?;
                let dst = self.new_val();
                self.emit(Inst::Unbox { dst, slot: p as u32, deopt });
                self.state[p] = Abs::Num { v: dst, fresh: true };
                if let Some(l) = copy_of {
                    let l = l as usize;
                    if matches!(self.state[l], Abs::Mem { .. }) {
                        // The local holds the same value: it is a number too.
                        self.state[l] = Abs::Num { v: dst, fresh: true };
                    }
                    if l > 0 && l < self.used_as_numbers.len() {
                        self.used_as_numbers[l] = true;
                    }
                }
                Ok(dst)
            }
        }
    }

    /// Writes the number at position `p` to its slot if it is one.
    pub(super) fn write_back(&mut self, p: usize) {
        if let Abs::Num { v, .. } = self.state[p] {
            self.emit(Inst::Box { slot: p as u32, v });
            self.state[p] = Abs::Mem { copy_of: None };
        }
    }

    /// Pops the top position. The stores into slots at or above the new
    /// top that nothing has read since go with it (`1 == nil;` as a
    /// statement leaves no code, `a;` only the check that `a` is defined).
    pub(super) fn pop(&mut self) {
        self.state.pop();
        let depth = self.state.len() as u32;
        let insts = &mut self.func.blocks[self.cur as usize].insts;
        while let Some(last) = insts.last_mut() {
            match *last {
                _ if last.only_writes_slot().is_some_and(|s| s >= depth) => {
                    insts.pop();
                }
                Inst::GetGlobal { slot, global, deopt } if slot >= depth => {
                    *last = Inst::CheckGlobal { global, deopt };
                    break;
                }
                Inst::SetIndex { slot, ref mut result, .. } if slot >= depth => {
                    *result = false;
                    break;
                }
                _ => break,
            }
        }
    }

    pub(super) fn push_mem(&mut self) {
        self.state.push(Abs::Mem { copy_of: None });
    }

    /// Replaces position `p` by number `v`.
    pub(super) fn put_num(&mut self, p: usize, v: Val) {
        let fresh = self.state.get(p).is_some_and(|&a| valid(a));
        if p == self.state.len() {
            self.state.push(Abs::Num { v, fresh: false });
        } else {
            self.state[p] = Abs::Num { v, fresh };
        }
    }

    /// Transfers one instruction; returns the offset to continue at.
    fn instruction(&mut self, ins: &Instruction) -> Result<usize, Declined> {
        let o = ins.offset;
        let d = self.state.len();
        if Some(d as u32) != self.depths[o] {
            return Err("stack depth mismatch".into());
        }
        let kept = d.saturating_sub(ins.effect().pops as usize);
        let next = self.transfer(ins, d)?;
        self.callees.retain(|&(p, _)| p < kept);
        // A popped local's slot may next hold another value.
        self.shapes.retain(|&(l, _)| (l as usize) < kept);
        if ins.op == Op::GetGlobal {
            let intrinsic = (self.input.intrinsic_of_global)(ins.args[0] as u32);
            if intrinsic != Intrinsic::None {
                self.callees.push((d, intrinsic));
            }
        }
        Ok(next)
    }

    /// The instruction's own transfer (`instruction` tracks callees).
    fn transfer(&mut self, ins: &Instruction, d: usize) -> Result<usize, Declined> {
        let o = ins.offset;
        let next = o + ins.size;
        let a0 = ins.args[0];
        let last_constant = self.last_constant.take();
        match ins.op {
            Op::Constant => match (self.input.number_constant)(a0 as u32) {
                Some(n) => {
                    let dst = self.new_val();
                    self.emit(Inst::Const { dst, bits: n.to_bits() });
                    self.put_num(d, dst);
                }
                None => {
                    self.emit(Inst::LoadConstant { slot: d as u32, k: a0 as u32 });
                    self.push_mem();
                }
            },
            Op::Nil | Op::True | Op::False => {
                let bits = match ins.op {
                    Op::Nil => Value::NIL.0,
                    Op::True => Value::TRUE.0,
                    _ => Value::FALSE.0,
                };
                self.emit(Inst::StoreBits { slot: d as u32, bits });
                self.push_mem();
                self.last_constant = Some((d, bits));
            }
            Op::Pop => self.pop(),
            Op::GetLocal => {
                let l = a0 as usize;
                match self.state[l] {
                    Abs::Num { v, .. } => self.state.push(Abs::Num { v, fresh: false }),
                    Abs::Mem { .. } => {
                        self.emit(Inst::Copy { dst: d as u32, src: l as u32 });
                        self.state.push(Abs::Mem { copy_of: Some(l as u32) });
                    }
                    Abs::Dead => return Err("a dead local is read".into()),
                }
            }
            Op::SetLocal => self.set_local(a0 as usize, d)?,
            Op::GetGlobal => {
                let deopt = self.deopt(o, Reason::UndefinedGlobal)?;
                self.emit(Inst::GetGlobal { slot: d as u32, global: a0 as u32, deopt });
                self.push_mem();
            }
            Op::SetGlobal => {
                self.write_back(d - 1);
                let deopt = self.deopt(o, Reason::UndefinedGlobal)?;
                self.emit(Inst::SetGlobal { global: a0 as u32, slot: d as u32 - 1, deopt });
            }
            Op::DefineGlobal => {
                self.write_back(d - 1);
                self.emit(Inst::DefineGlobal { global: a0 as u32, slot: d as u32 - 1 });
                self.pop();
            }
            Op::Print => {
                self.write_back(d - 1);
                self.emit(Inst::Helper { op: HelperOp::Print, pc: o as u32 + 1, depth: d as u32 });
                self.pop();
            }
            Op::Add | Op::Subtract | Op::Multiply | Op::Divide | Op::Modulo => {
                let a = self.number_at(d - 2, o)?;
                let b = self.number_at(d - 1, o)?;
                let op = match ins.op {
                    Op::Add => BinOp::Add,
                    Op::Subtract => BinOp::Sub,
                    Op::Multiply => BinOp::Mul,
                    Op::Divide => BinOp::Div,
                    _ => BinOp::Mod,
                };
                let dst = self.new_val();
                self.emit(Inst::Binary { dst, op, a, b });
                self.pop();
                self.put_num(d - 2, dst);
            }
            Op::Negate => {
                let a = self.number_at(d - 1, o)?;
                let dst = self.new_val();
                self.emit(Inst::Neg { dst, a });
                self.put_num(d - 1, dst);
            }
            Op::Not => {
                match self.state[d - 1] {
                    // Numbers are truthy.
                    Abs::Num { .. } => self.emit(Inst::StoreBits { slot: d as u32 - 1, bits: Value::FALSE.0 }),
                    _ => self.emit(Inst::NotSlot { slot: d as u32 - 1 }),
                }
                self.state[d - 1] = Abs::Mem { copy_of: None };
            }
            Op::Greater | Op::Less | Op::GreaterEqual | Op::LessEqual | Op::Equal | Op::NotEqual => {
                return self.comparison(ins, d, last_constant);
            }
            Op::Jump => {
                let edge = self.edge(ins.jump_target() as usize)?;
                self.terminate(Term::Jump(edge));
            }
            Op::JumpIfFalse => match self.state[d - 1] {
                // A number is truthy: never jumps.
                Abs::Num { .. } => {}
                Abs::Dead => return Err("a dead condition".into()),
                Abs::Mem { .. } => self.branch(Cond::Truthy(d as u32 - 1), ins.jump_target() as usize)?,
            },
            Op::Loop => {
                let deopt = self.deopt(o, Reason::Poll)?;
                self.emit(Inst::Poll { deopt });
                let edge = self.edge(ins.jump_target() as usize)?;
                self.terminate(Term::Jump(edge));
            }
            Op::Call => self.call(o, a0 as usize, ins.args[1] as u32, d)?,
            Op::Invoke => self.invoke(o, ins, d)?,
            Op::GetProperty | Op::SetProperty => self.property(o, ins, d)?,
            Op::GetIndex | Op::SetIndex => self.index(o, ins.op == Op::SetIndex, d)?,
            Op::GetUpvalue => {
                self.emit(Inst::GetUpvalue { slot: d as u32, index: a0 as u32 });
                self.push_mem();
            }
            Op::SetUpvalue => {
                self.write_back(d - 1);
                self.emit(Inst::SetUpvalue { slot: d as u32 - 1, index: a0 as u32 });
            }
            Op::Array => {
                let count = a0 as usize;
                self.allocating(d - count, d)?;
                let op = HelperOp::Array { count: count as u32 };
                self.emit(Inst::Helper { op, pc: o as u32 + 1, depth: d as u32 });
                self.state.truncate(d - count);
                self.push_mem();
            }
            Op::Closure => {
                self.allocating(d, d)?;
                let op = HelperOp::Closure { offset: o as u32 };
                self.emit(Inst::Helper { op, pc: o as u32 + 1, depth: d as u32 });
                self.push_mem();
            }
            Op::Return => {
                let term = match self.state[d - 1] {
                    Abs::Num { v, .. } => Term::ReturnVal(v),
                    _ => Term::ReturnSlot(d as u32 - 1),
                };
                self.terminate(term);
            }
            op => return Err(format!("{} is outside the optimizer's subset", op.mnemonic())),
        }
        Ok(next)
    }

    fn set_local(&mut self, l: usize, d: usize) -> Result<(), Declined> {
        self.shapes.retain(|&(s, _)| s != l as u32);
        for a in self.state.iter_mut() {
            if *a == (Abs::Mem { copy_of: Some(l as u32) }) {
                *a = Abs::Mem { copy_of: None };
            }
        }
        match self.state[d - 1] {
            Abs::Num { v, .. } => self.put_num(l, v),
            Abs::Mem { .. } => {
                self.emit(Inst::Copy { dst: l as u32, src: d as u32 - 1 });
                self.state[l] = Abs::Mem { copy_of: None };
            }
            Abs::Dead => return Err("a dead value is stored".into()),
        }
        Ok(())
    }

    /// Before an instruction that may run the GC (or other code): the
    /// operands at `from..d` go to memory, and every number below them
    /// whose slot may hold garbage is written to its slot.
    pub(super) fn allocating(&mut self, from: usize, d: usize) -> Result<(), Declined> {
        for p in from..d {
            self.write_back(p);
        }
        for p in 0..from {
            match self.state[p] {
                Abs::Num { v, fresh: false } => {
                    self.emit(Inst::Box { slot: p as u32, v });
                    self.state[p] = Abs::Num { v, fresh: true };
                }
                Abs::Dead => return Err("a dead value across a call".into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// A comparison or equality, fused with the `JUMP_IF_FALSE` after it
    /// when both of that branch's successors pop the condition at once.
    fn comparison(&mut self, ins: &Instruction, d: usize, constant: Option<(usize, u64)>) -> Result<usize, Declined> {
        let o = ins.offset;
        let next = o + ins.size;
        let cmp = match ins.op {
            Op::Greater => Cmp::Gt,
            Op::Less => Cmp::Lt,
            Op::GreaterEqual => Cmp::Ge,
            Op::LessEqual => Cmp::Le,
            Op::Equal => Cmp::Eq,
            _ => Cmp::Ne,
        };
        let equality = matches!(cmp, Cmp::Eq | Cmp::Ne);
        let both_numbers = matches!(self.state[d - 2], Abs::Num { .. }) && matches!(self.state[d - 1], Abs::Num { .. });
        if let (true, Some((p, bits))) = (equality, constant) {
            if p == d - 1 && matches!(self.state[d - 2], Abs::Mem { .. }) {
                if let Some(jump) = self.fusable_branch(next) {
                    self.pop();
                    self.state[d - 2] = Abs::Dead;
                    let cond = Cond::Bits { slot: d as u32 - 2, bits, equal: cmp == Cmp::Eq };
                    self.branch(cond, jump.jump_target() as usize)?;
                    return Ok(jump.offset + jump.size);
                }
            }
        }
        if equality && !both_numbers {
            return self.equality(d, cmp == Cmp::Eq, next);
        }
        let a = self.number_at(d - 2, o)?;
        let b = self.number_at(d - 1, o)?;
        self.pop();
        if let Some(jump) = self.fusable_branch(next) {
            self.state[d - 2] = Abs::Dead;
            self.branch(Cond::Cmp(cmp, a, b), jump.jump_target() as usize)?;
            return Ok(jump.offset + jump.size);
        }
        self.emit(Inst::CmpToSlot { slot: d as u32 - 2, cmp, a, b });
        self.state[d - 2] = Abs::Mem { copy_of: None };
        Ok(next)
    }

    /// `==` or `!=` (`equal` false) of the two top positions, not both
    /// numbers, fused with the branch after it when it can be. A number
    /// and a value in memory compare without boxing the number.
    fn equality(&mut self, d: usize, equal: bool, next: usize) -> Result<usize, Declined> {
        let fused = self.fusable_branch(next);
        let with_number = match (self.state[d - 2], self.state[d - 1]) {
            (Abs::Num { v, .. }, Abs::Mem { .. }) => Some((d as u32 - 1, v)),
            (Abs::Mem { .. }, Abs::Num { v, .. }) => Some((d as u32 - 2, v)),
            _ => None,
        };
        // Not `pop`: the comparison still reads the slot of the top.
        self.state.pop();
        let (cond, inst) = match with_number {
            Some((s, v)) => {
                (Cond::EqualNum { slot: s, v, equal }, Inst::EqualNum { dst: d as u32 - 2, src: s, v, equal })
            }
            None => {
                let (a, b) = (d as u32 - 2, d as u32 - 1);
                (Cond::Equal { a, b, equal }, Inst::EqualSlots { slot: a, a, b, equal })
            }
        };
        if let Some(jump) = fused {
            self.state[d - 2] = Abs::Dead;
            self.branch(cond, jump.jump_target() as usize)?;
            return Ok(jump.offset + jump.size);
        }
        self.emit(inst);
        self.state[d - 2] = Abs::Mem { copy_of: None };
        Ok(next)
    }

    /// The `JUMP_IF_FALSE` at `at`, reached only from before it, whose
    /// successors both start with `POP`.
    fn fusable_branch(&self, at: usize) -> Option<Instruction> {
        if self.jump_targets.get(at).copied().unwrap_or(true) {
            return None;
        }
        let jump = decode_fixed(self.input.code, at)?;
        let is_pop = |o: usize| decode_fixed(self.input.code, o).is_some_and(|i| i.op == Op::Pop);
        (jump.op == Op::JumpIfFalse && is_pop(jump.offset + jump.size) && is_pop(jump.jump_target() as usize))
            .then_some(jump)
    }
}
