//! Register allocation: linear scan over one live interval per value.
//!
//! Owns where each number lives for its whole life: an XMM register, or a
//! native-stack spill slot for values live across a call (calls clobber
//! every XMM register) and when registers run out. It must not emit code;
//! the emitter reads `Allocation::loc`. Guards' frame states count as uses,
//! so a value a guard may restore stays where the guard's stub finds it.

use super::ir::*;

/// Where a value lives.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Loc {
    /// xmm2..xmm15 (xmm0 and xmm1 are the emitter's scratch).
    Xmm(u8),
    /// Spill slot `i` at `[rsp + 8 * i]`.
    Stack(u32),
}

/// The first and last allocatable XMM register.
pub const FIRST_XMM: u8 = 2;
pub const LAST_XMM: u8 = 15;

#[derive(Clone, Debug)]
pub struct Allocation {
    pub locs: Vec<Loc>,
    pub spill_slots: u32,
}

impl Allocation {
    pub fn loc(&self, v: Val) -> Loc {
        self.locs[v as usize]
    }
}

/// Per block: the values live at its start (parameters excluded).
fn liveness(func: &Func) -> Vec<Vec<bool>> {
    let n = func.values as usize;
    let blocks = &func.blocks;
    let mut live_in = vec![vec![false; n]; blocks.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for (i, block) in blocks.iter().enumerate().rev() {
            let mut live = vec![false; n];
            for s in block.term.successors() {
                for (v, &l) in live_in[s as usize].iter().enumerate() {
                    live[v] |= l;
                }
            }
            for v in block.term.operands() {
                live[v as usize] = true;
            }
            for inst in block.insts.iter().rev() {
                if let Some(d) = inst.def() {
                    live[d as usize] = false;
                }
                for v in func.uses_of(inst) {
                    live[v as usize] = true;
                }
            }
            for &p in &block.params {
                live[p as usize] = false;
            }
            if live != live_in[i] {
                live_in[i] = live;
                changed = true;
            }
        }
    }
    live_in
}

/// Each value's interval [first, last] in the linear order (blocks in
/// index order; a block's start, each instruction, its terminator), and
/// the positions of calls.
fn intervals(func: &Func) -> (Vec<(u32, u32)>, Vec<u32>) {
    let live_in = liveness(func);
    let mut iv: Vec<(u32, u32)> = vec![(u32::MAX, 0); func.values as usize];
    let mut touch = |v: Val, at: u32| {
        let e = &mut iv[v as usize];
        e.0 = e.0.min(at);
        e.1 = e.1.max(at);
    };
    let mut calls = Vec::new();
    let mut pos = 0u32;
    for (i, block) in func.blocks.iter().enumerate() {
        let start = pos;
        for &p in &block.params {
            touch(p, start);
        }
        for (v, &l) in live_in[i].iter().enumerate() {
            if l {
                touch(v as Val, start);
            }
        }
        for inst in &block.insts {
            pos += 1;
            if inst.is_call() {
                calls.push(pos);
            }
            if let Some(d) = inst.def() {
                touch(d, pos);
            }
            for v in func.uses_of(inst) {
                touch(v, pos);
            }
        }
        pos += 1;
        for v in block.term.operands() {
            touch(v, pos);
        }
        // Values live out of the block are live at its end.
        for s in block.term.successors() {
            for (v, &l) in live_in[s as usize].iter().enumerate() {
                if l {
                    touch(v as Val, pos);
                }
            }
        }
        pos += 1;
    }
    (iv, calls)
}

/// Allocates every value.
pub fn allocate(func: &Func) -> Allocation {
    let (iv, calls) = intervals(func);
    let mut order: Vec<Val> = (0..func.values).filter(|&v| iv[v as usize].0 != u32::MAX).collect();
    order.sort_by_key(|&v| iv[v as usize].0);
    let mut locs = vec![Loc::Stack(0); func.values as usize];
    let mut spill_slots = 0;
    let mut free: Vec<u8> = (FIRST_XMM..=LAST_XMM).rev().collect();
    let mut active: Vec<(u32, u8)> = Vec::new();
    for v in order {
        let (start, end) = iv[v as usize];
        // Strictly before: values defined at one position (a block's
        // parameters) must not share a register even when one is dead.
        active.retain(|&(e, reg)| {
            if e < start {
                free.push(reg);
                false
            } else {
                true
            }
        });
        let crosses_call = calls.iter().any(|&c| start < c && c < end);
        match free.pop() {
            Some(reg) if !crosses_call => {
                locs[v as usize] = Loc::Xmm(reg);
                active.push((end, reg));
            }
            other => {
                if let Some(reg) = other {
                    free.push(reg);
                }
                locs[v as usize] = Loc::Stack(spill_slots);
                spill_slots += 1;
            }
        }
    }
    Allocation { locs, spill_slots }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_of_one_block_never_share_a_register() {
        // b0 jumps to b1 with three values; b1 uses only the second.
        let func = Func {
            blocks: vec![
                Block {
                    params: vec![],
                    insts: vec![
                        Inst::Const { dst: 0, bits: 0 },
                        Inst::Const { dst: 1, bits: 1 },
                        Inst::Const { dst: 2, bits: 2 },
                    ],
                    term: Term::Jump(Edge { target: 1, args: vec![0, 1, 2] }),
                },
                Block { params: vec![3, 4, 5], insts: vec![], term: Term::ReturnVal(4) },
            ],
            deopts: vec![],
            values: 6,
            osr: vec![],
            slows: vec![],
        };
        let alloc = allocate(&func);
        let params = [alloc.loc(3), alloc.loc(4), alloc.loc(5)];
        assert_ne!(params[0], params[1]);
        assert_ne!(params[1], params[2]);
        assert_ne!(params[0], params[2]);
    }

    #[test]
    fn values_live_across_calls_are_spilled() {
        let func = Func {
            blocks: vec![Block {
                params: vec![],
                insts: vec![
                    Inst::Const { dst: 0, bits: 0 },
                    Inst::Const { dst: 1, bits: 1 },
                    Inst::Call { callee: 2, argc: 0, cache: 0, pc: 1, intrinsic: crate::object::Intrinsic::None },
                    Inst::Binary { dst: 2, op: BinOp::Add, a: 0, b: 0 },
                ],
                term: Term::ReturnVal(2),
            }],
            deopts: vec![],
            values: 3,
            osr: vec![],
            slows: vec![],
        };
        let alloc = allocate(&func);
        assert!(matches!(alloc.loc(0), Loc::Stack(_)));
        assert!(matches!(alloc.loc(2), Loc::Xmm(_)));
    }
}
