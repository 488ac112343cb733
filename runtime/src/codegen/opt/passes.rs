//! Rewrites of the IR that keep its meaning: constant folding, redundant
//! guard elimination and dead-code elimination.
//!
//! Owns only IR-to-IR transformations; it must not change what a guard
//! restores (a guard's frame state is a use of its values) nor know about
//! machine code.

use super::ir::*;
use std::collections::HashMap;

/// Runs every pass.
pub fn optimize(func: &mut Func) {
    fold_constants(func);
    remove_redundant_guards(func);
    fuse_field_loads(func);
    remove_dead_code(func);
}

/// A checked `GetField` whose result the block unboxes before anything
/// could observe its slot (a call, a slow path, a heap store, a write to
/// either slot) loads the field straight into the number: the pair becomes
/// one `GetFieldNum`, and every guard in between (its own included)
/// reloads the field into the slot if it fails.
pub fn fuse_field_loads(func: &mut Func) {
    for b in 0..func.blocks.len() {
        let mut i = 0;
        while i < func.blocks[b].insts.len() {
            if let Inst::GetField { slot, src, known: Some(k), checked: true, .. } = func.blocks[b].insts[i] {
                if let Some(j) = fusable_unbox(&func.blocks[b].insts, i, slot, src) {
                    let insts = &func.blocks[b].insts;
                    let guards: Vec<DeoptId> = insts[i + 1..=j].iter().filter_map(|x| x.deopt()).collect();
                    for d in guards {
                        func.deopts[d as usize].fields.push((slot, src, k.value as u32));
                    }
                    let insts = &mut func.blocks[b].insts;
                    if let Inst::Unbox { dst, deopt, .. } = insts[j] {
                        insts[j] = Inst::GetFieldNum { dst, src, index: k.value as u32, deopt };
                    }
                    insts.remove(i);
                    continue;
                }
            }
            i += 1;
        }
    }
}

/// The `Unbox` of `slot` after the `GetField` at `at` that nothing in
/// between keeps from fusing with it.
fn fusable_unbox(insts: &[Inst], at: usize, slot: u32, src: u32) -> Option<usize> {
    for (j, inst) in insts.iter().enumerate().skip(at + 1) {
        match *inst {
            Inst::Unbox { slot: s, .. } if s == slot => return Some(j),
            Inst::GetField { checked: true, slot: s, .. } | Inst::Unbox { slot: s, .. } if s != slot && s != src => {}
            Inst::Const { .. } | Inst::Binary { .. } | Inst::Neg { .. } | Inst::GetFieldNum { .. } => {}
            Inst::CheckShape { .. } => {}
            _ => return None,
        }
    }
    None
}

/// Replaces arithmetic on constants by its result.
pub fn fold_constants(func: &mut Func) {
    let mut known: HashMap<Val, f64> = HashMap::new();
    // Definitions come before uses in block order except across loop
    // back-edges, where only block parameters flow (never folded).
    for block in &mut func.blocks {
        for inst in &mut block.insts {
            let folded = match *inst {
                Inst::Const { dst, bits } => {
                    known.insert(dst, f64::from_bits(bits));
                    None
                }
                Inst::Binary { dst, op, a, b } => match (known.get(&a), known.get(&b)) {
                    (Some(&x), Some(&y)) => Some((dst, op.apply(x, y))),
                    _ => None,
                },
                Inst::Neg { dst, a } => known.get(&a).map(|&x| (dst, -x)),
                _ => None,
            };
            if let Some((dst, value)) = folded {
                known.insert(dst, value);
                *inst = Inst::Const { dst, bits: value.to_bits() };
            }
        }
    }
}

/// Within a block, a second `Unbox` of a slot that nothing wrote since
/// the first one is the same number: its uses take the first one's value.
pub fn remove_redundant_guards(func: &mut Func) {
    let mut replace: HashMap<Val, Val> = HashMap::new();
    for block in &mut func.blocks {
        let mut unboxed: HashMap<u32, Val> = HashMap::new();
        block.insts.retain(|inst| {
            if let Inst::Unbox { dst, slot, .. } = *inst {
                if let Some(&first) = unboxed.get(&slot) {
                    replace.insert(dst, first);
                    return false;
                }
                unboxed.insert(slot, dst);
                return true;
            }
            if let Some(slot) = inst.writes_slot() {
                unboxed.remove(&slot);
            }
            if inst.is_call() {
                unboxed.clear();
            }
            true
        });
    }
    if replace.is_empty() {
        return;
    }
    let f = |v: Val| *replace.get(&v).unwrap_or(&v);
    for block in &mut func.blocks {
        block.insts.iter_mut().for_each(|i| i.map_operands(&f));
        block.term.map_operands(&f);
    }
    for deopt in &mut func.deopts {
        deopt.values.iter_mut().for_each(|(_, v)| *v = f(*v));
    }
    for slow in &mut func.slows {
        slow.values.iter_mut().for_each(|(_, v)| *v = f(*v));
    }
}

/// Removes pure instructions whose values nothing reads.
pub fn remove_dead_code(func: &mut Func) {
    loop {
        let mut used = vec![false; func.values as usize];
        for block in &func.blocks {
            for inst in &block.insts {
                for v in func.uses_of(inst) {
                    used[v as usize] = true;
                }
            }
            for v in block.term.operands() {
                used[v as usize] = true;
            }
        }
        let mut removed = false;
        for block in &mut func.blocks {
            let before = block.insts.len();
            block.insts.retain(|i| !(i.is_pure() && i.def().is_some_and(|d| !used[d as usize])));
            removed |= block.insts.len() != before;
        }
        if !removed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deopt(values: Vec<(u32, Val)>) -> Deopt {
        Deopt { pc: 0, depth: 3, values, copies: vec![], fields: vec![], reason: Reason::NotNumber }
    }

    #[test]
    fn folds_and_removes_dead_arithmetic_but_keeps_guard_state() {
        let mut func = Func {
            blocks: vec![Block {
                params: vec![],
                insts: vec![
                    Inst::Const { dst: 0, bits: 2f64.to_bits() },
                    Inst::Const { dst: 1, bits: 3f64.to_bits() },
                    Inst::Binary { dst: 2, op: BinOp::Mul, a: 0, b: 1 },
                    Inst::Neg { dst: 3, a: 2 },
                    // Unused except by the guard's frame state.
                    Inst::Binary { dst: 4, op: BinOp::Add, a: 0, b: 0 },
                    Inst::Unbox { dst: 5, slot: 1, deopt: 0 },
                    // Unused entirely.
                    Inst::Binary { dst: 6, op: BinOp::Sub, a: 5, b: 0 },
                ],
                term: Term::ReturnVal(3),
            }],
            deopts: vec![deopt(vec![(2, 4)])],
            values: 7,
            osr: vec![],
            slows: vec![],
        };
        optimize(&mut func);
        let insts = &func.blocks[0].insts;
        assert!(insts.contains(&Inst::Const { dst: 3, bits: (-6f64).to_bits() }), "{}", func.listing());
        assert!(insts.contains(&Inst::Const { dst: 4, bits: 4f64.to_bits() }), "{}", func.listing());
        assert!(insts.iter().any(|i| matches!(i, Inst::Unbox { .. })), "guards stay");
        assert!(!insts.iter().any(|i| i.def() == Some(6)), "{}", func.listing());
        assert!(!insts.iter().any(|i| i.def() == Some(2)), "{}", func.listing());
    }

    #[test]
    fn a_second_unbox_of_an_unchanged_slot_is_redundant() {
        let mut func = Func {
            blocks: vec![Block {
                params: vec![],
                insts: vec![
                    Inst::Unbox { dst: 0, slot: 1, deopt: 0 },
                    Inst::Unbox { dst: 1, slot: 1, deopt: 1 },
                    Inst::Binary { dst: 2, op: BinOp::Add, a: 0, b: 1 },
                    Inst::Box { slot: 1, v: 2 },
                    Inst::Unbox { dst: 3, slot: 1, deopt: 2 },
                    Inst::Binary { dst: 4, op: BinOp::Add, a: 3, b: 1 },
                ],
                term: Term::ReturnVal(4),
            }],
            deopts: vec![deopt(vec![]), deopt(vec![]), deopt(vec![])],
            values: 5,
            osr: vec![],
            slows: vec![],
        };
        remove_redundant_guards(&mut func);
        let insts = &func.blocks[0].insts;
        assert_eq!(insts.iter().filter(|i| matches!(i, Inst::Unbox { .. })).count(), 2, "{}", func.listing());
        assert!(insts.contains(&Inst::Binary { dst: 2, op: BinOp::Add, a: 0, b: 0 }));
        assert!(insts.contains(&Inst::Binary { dst: 4, op: BinOp::Add, a: 3, b: 0 }));
    }
}
