//! The builder's part for `CALL`: the call itself (arguments and the
//! numbers below them to memory, a poll, the call through the site's
//! cache) and the natives computed in place when the callee slot was
//! filled from their global (`len`, `sqrt`; `push` is a hint to the call).
//!
//! Owns what these speculate on; the abstract state and the rest of the
//! walk are `build.rs`'s. It must not emit machine code.

use super::build::{Abs, Builder, Declined};
use super::ir::*;
use crate::object::Intrinsic;

impl Builder<'_> {
    /// `CALL`: arguments and the numbers below them go to memory, then a
    /// poll and the call.
    pub(super) fn call(&mut self, o: usize, argc: usize, cache: u32, d: usize) -> Result<(), Declined> {
        let callee = d - argc - 1;
        let intrinsic = self.callees.iter().rev().find(|c| c.0 == callee).map(|c| c.1);
        match intrinsic {
            Some(Intrinsic::Len) if argc == 1 && matches!(self.state[d - 1], Abs::Mem { .. }) => {
                return self.in_place(o, callee, d, Intrinsic::Len);
            }
            Some(Intrinsic::Sqrt) if argc == 1 => return self.in_place(o, callee, d, Intrinsic::Sqrt),
            _ => {}
        }
        self.allocating(callee, d)?;
        self.shapes.clear();
        let deopt = self.deopt(o, Reason::Poll)?;
        self.emit(Inst::Poll { deopt });
        let intrinsic = match intrinsic {
            Some(Intrinsic::Push) if argc == 2 => Intrinsic::Push,
            _ => Intrinsic::None,
        };
        self.emit(Inst::Call { callee: callee as u32, argc: argc as u32, cache, pc: o as u32 + 1, intrinsic });
        self.state.truncate(callee);
        self.push_mem();
        Ok(())
    }

    /// `len(x)` or `sqrt(x)` computed in place after the call's poll: a
    /// number, guarded on the callee (`sqrt`'s argument as for `+`).
    fn in_place(&mut self, o: usize, callee: usize, d: usize, intrinsic: Intrinsic) -> Result<(), Declined> {
        let deopt = self.deopt(o, Reason::Poll)?;
        self.emit(Inst::Poll { deopt });
        let number = if intrinsic == Intrinsic::Sqrt { Some(self.number_at(d - 1, o)?) } else { None };
        let deopt = self.deopt(o, Reason::Callee)?;
        let dst = self.new_val();
        let callee = callee as u32;
        self.emit(match number {
            Some(a) => Inst::Sqrt { dst, callee, a, deopt },
            None => Inst::Len { dst, callee, arg: d as u32 - 1, deopt },
        });
        self.state.truncate(callee as usize);
        self.put_num(callee as usize, dst);
        Ok(())
    }
}
