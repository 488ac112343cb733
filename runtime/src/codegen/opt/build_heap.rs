//! The builder's part for instructions on objects: property access with
//! the inline caches' feedback (a receiver's shape checked once per block,
//! `CheckShape`), `INVOKE`, array indexing, and the slow paths they take.
//!
//! Owns what these speculate on and the frame state their guards and slow
//! paths need; the abstract state and the rest of the walk are `build.rs`'s.
//! It must not emit machine code.

use super::build::{Abs, Builder, Declined};
use super::ir::*;
use crate::bytecode::opcode::{Instruction, Op};

impl Builder<'_> {
    /// `INVOKE`: as a call.
    pub(super) fn invoke(&mut self, o: usize, ins: &Instruction, d: usize) -> Result<(), Declined> {
        let (k, argc, cache) = (ins.args[0] as u32, ins.args[1] as usize, ins.args[2] as u32);
        let receiver = d - argc - 1;
        self.allocating(receiver, d)?;
        self.shapes.clear();
        let deopt = self.deopt(o, Reason::Poll)?;
        self.emit(Inst::Poll { deopt });
        let known = (self.input.known)(cache);
        let (receiver, argc) = (receiver as u32, argc as u32);
        self.emit(Inst::Invoke { receiver, argc, k, cache, known, pc: o as u32 + 1 });
        let receiver = receiver as usize;
        self.state.truncate(receiver);
        self.push_mem();
        Ok(())
    }

    /// The slow path of the instruction at `o` with the current state.
    fn slow(&mut self, o: usize, helper: SlowHelper) -> Result<SlowId, Declined> {
        let values = self.numbers_in_frame()?;
        let depth = self.state.len() as u32;
        self.func.slows.push(Slow { pc: o as u32 + 1, depth, values, copies: Vec::new(), helper });
        Ok(self.func.slows.len() as SlowId - 1)
    }

    /// Where an instruction whose result replaces its receiver at position
    /// `p` reads the receiver: from the local it was copied from, when what
    /// came after the copy neither reads slot `p`, writes the local, nor
    /// calls out; the copy moves into the slow path `slow` and into every
    /// guard and slow path in between, which restore it.
    fn receiver_source(&mut self, p: usize, slow: SlowId) -> (u32, u32) {
        let p = p as u32;
        let insts = &self.func.blocks[self.cur as usize].insts;
        let mut found = None;
        for i in (0..insts.len()).rev() {
            match insts[i] {
                Inst::Copy { dst, src } if dst == p => {
                    found = Some((i, src));
                    break;
                }
                ref inst if leaves_slot_alone(inst, p) => {}
                _ => break,
            }
        }
        let Some((i, src)) = found else { return (p, p) };
        let later = &insts[i + 1..];
        if later.iter().any(|x| x.writes_slot() == Some(src)) {
            return (p, p);
        }
        let deopts: Vec<DeoptId> = later.iter().filter_map(|x| x.deopt()).collect();
        let slows: Vec<SlowId> = later.iter().filter_map(|x| x.slow()).chain([slow]).collect();
        self.func.blocks[self.cur as usize].insts.remove(i);
        for d in deopts {
            self.func.deopts[d as usize].copies.push((p, src));
        }
        for s in slows {
            self.func.slows[s as usize].copies.push((p, src));
        }
        (p, src)
    }

    /// `GET_PROPERTY` / `SET_PROPERTY`: receiver and value in memory, the
    /// field through the inline cache, the helper out of line.
    pub(super) fn property(&mut self, o: usize, ins: &Instruction, d: usize) -> Result<(), Declined> {
        let (k, cache) = (ins.args[0] as u32, ins.args[1] as u32);
        let known = (self.input.known)(cache);
        if ins.op == Op::GetProperty {
            self.write_back(d - 1);
            let local = self.local_of(d - 1);
            let slow = self.slow(o, SlowHelper::GetProperty { k, cache })?;
            let (slot, src) = self.receiver_source(d - 1, slow);
            let copy = (slot != src).then_some((slot, src));
            let checked = self.ensure_shape(local, known, o, copy)?;
            self.emit(Inst::GetField { slot, src, cache, known, checked, slow });
            self.state[d - 1] = Abs::Mem { copy_of: None };
        } else {
            self.write_back(d - 2);
            let local = self.local_of(d - 2);
            let slow = self.slow(o, SlowHelper::SetProperty { k, cache })?;
            let checked = self.ensure_shape(local, known, o, None)?;
            let slot = d as u32 - 2;
            match (checked, known, self.state[d - 1]) {
                (true, Some(known), Abs::Num { v, .. }) => {
                    // The number goes straight into the field; the result
                    // position keeps it (its slot holds the receiver, when
                    // that was not read from its local instead).
                    let (slot, src) = self.receiver_source(d - 2, slow);
                    self.emit(Inst::SetFieldNum { slot, src, v, known, slow });
                    self.state[d - 2] = Abs::Num { v, fresh: slot == src };
                }
                _ => {
                    self.write_back(d - 1);
                    self.emit(Inst::SetField { slot, cache, known, checked, slow });
                    self.state[d - 2] = Abs::Mem { copy_of: None };
                }
            }
            match (checked, known, local) {
                // Adding the field moves the instance to the next shape
                // (the helper does the same when it has no room).
                (true, Some(k), Some(l)) if k.next_shape != 0 => self.shapes = vec![(l, k.next_shape)],
                (true, _, _) => {}
                // The helper may have added a field to any instance.
                (false, _, _) => self.shapes.clear(),
            }
            self.pop();
        }
        Ok(())
    }

    /// The local that position `p` is an unchanged copy of.
    fn local_of(&self, p: usize) -> Option<u32> {
        match self.state[p] {
            Abs::Mem { copy_of } => copy_of,
            _ => None,
        }
    }

    /// Whether local `local` is known to hold an instance of `known`'s
    /// shape, after a `CheckShape` (at the instruction at `o`, its frame
    /// state completed by `copy`) when it was not yet.
    fn ensure_shape(
        &mut self,
        local: Option<u32>,
        known: Option<Known>,
        o: usize,
        copy: Option<(u32, u32)>,
    ) -> Result<bool, Declined> {
        let (Some(l), Some(k)) = (local, known) else { return Ok(false) };
        if self.shapes.contains(&(l, k.shape)) {
            return Ok(true);
        }
        let deopt = self.deopt(o, Reason::Shape)?;
        self.func.deopts[deopt as usize].copies.extend(copy);
        self.emit(Inst::CheckShape { slot: l, shape: k.shape, deopt });
        self.shapes.retain(|&(s, _)| s != l);
        self.shapes.push((l, k.shape));
        Ok(true)
    }

    /// `GET_INDEX` / `SET_INDEX`: a number index stays in its register.
    pub(super) fn index(&mut self, o: usize, set: bool, d: usize) -> Result<(), Declined> {
        let receiver = if set { d - 3 } else { d - 2 };
        self.write_back(receiver);
        if set {
            self.write_back(d - 1);
        }
        let index = match self.state[receiver + 1] {
            Abs::Num { v, .. } => Some(v),
            Abs::Mem { .. } => None,
            Abs::Dead => return Err("a dead index".into()),
        };
        let helper = if set { SlowHelper::SetIndex } else { SlowHelper::GetIndex };
        let slow = self.slow(o, helper)?;
        let (slot, src) = self.receiver_source(receiver, slow);
        let inst = if set {
            Inst::SetIndex { slot, src, index, slow, result: true }
        } else {
            Inst::GetIndex { slot, src, index, slow }
        };
        self.emit(inst);
        self.state.truncate(receiver);
        self.push_mem();
        Ok(())
    }
}

/// Whether `inst` neither reads nor writes slot `p` nor calls out (what
/// `receiver_source` may look past).
fn leaves_slot_alone(inst: &Inst, p: u32) -> bool {
    match *inst {
        Inst::Const { .. } | Inst::Binary { .. } | Inst::Neg { .. } => true,
        Inst::Unbox { slot, .. } | Inst::CheckShape { slot, .. } => slot != p,
        Inst::GetFieldNum { src, .. } => src != p,
        Inst::StoreBits { slot, .. } | Inst::LoadConstant { slot, .. } | Inst::Box { slot, .. } => slot != p,
        Inst::Copy { dst, src } => dst != p && src != p,
        Inst::GetField { slot, src, .. } => slot != p && src != p,
        _ => false,
    }
}
