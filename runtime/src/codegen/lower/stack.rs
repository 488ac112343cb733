//! The operand stack as the lowering sees it: values pushed by cheap
//! instructions (`GET_LOCAL`, number and singleton constants) stay
//! *pending* (not yet written to their value-stack slot) until an
//! instruction consumes them or something needs the stack in memory.
//!
//! Pending values are written out (`flush`) before anything that reads the
//! stack from memory or may look at it (helpers, calls, the GC through a
//! helper, jumps and jump targets). Slow paths write out the pending values
//! they saw when they were registered, since their fast path may already
//! have consumed them in registers.

use super::asm::{slot, Emit};
use super::Lowerer;
use crate::value::Value;
use iced_x86::code_asm::*;

/// Where a pending value is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// The current content of value-stack slot `n` (a local).
    Local(u32),
    /// An immediate value.
    Const(u64),
}

impl Source {
    /// The value is a number known at compile time.
    pub(super) fn is_number(self) -> bool {
        matches!(self, Source::Const(bits) if Value(bits).is_number())
    }
}

/// The most values kept pending at once. Every slow path writes out the
/// values pending where it was registered, and finding a pending slot is a
/// scan, so an unbounded list (a function that declares thousands of
/// locals with constant initializers keeps them all pending) would make
/// the code and the lowering's time quadratic in the function's size.
const MAX_PENDING: usize = 16;

impl Lowerer<'_> {
    /// Records that `slot_index` holds `source`'s value (not written yet).
    /// Called between instructions, where no register holds a value.
    pub(super) fn push_pending(&mut self, slot_index: u32, source: Source) -> Emit {
        let source = match source {
            // A copy of a pending slot takes that slot's source.
            Source::Local(s) => self.pending_source(s).unwrap_or(source),
            other => other,
        };
        if self.pending.len() >= MAX_PENDING {
            // The oldest is the deepest on the stack: the least likely to be
            // consumed in a register soon.
            let oldest = self.pending.remove(0);
            self.materialize(&[oldest])?;
        }
        self.pending.push((slot_index, source));
        Ok(())
    }

    pub(super) fn pending_source(&self, slot_index: u32) -> Option<Source> {
        self.pending.iter().rev().find(|(s, _)| *s == slot_index).map(|&(_, src)| src)
    }

    /// Forgets pending values at `depth` and above (popped).
    pub(super) fn drop_pending_from(&mut self, depth: u32) {
        self.pending.retain(|&(s, _)| s < depth);
    }

    /// Emits the stores that write `entries` to their slots (only `mov`s,
    /// so the flags survive).
    pub(super) fn materialize(&mut self, entries: &[(u32, Source)]) -> Emit {
        for &(s, source) in entries {
            match source {
                Source::Local(from) => self.a.mov(rax, slot(from))?,
                Source::Const(bits) => self.a.mov(rax, bits)?,
            }
            self.a.mov(slot(s), rax)?;
        }
        Ok(())
    }

    /// Writes every pending value to its slot.
    pub(super) fn flush(&mut self) -> Emit {
        let entries = std::mem::take(&mut self.pending);
        self.materialize(&entries)
    }

    /// Loads the value of `slot_index` into `reg`, consuming it when pending.
    /// Returns its source when it was pending.
    pub(super) fn take_operand(
        &mut self,
        reg: AsmRegister64,
        slot_index: u32,
    ) -> Result<Option<Source>, super::LowerError> {
        let position = self.pending.iter().rposition(|(s, _)| *s == slot_index);
        let source = position.map(|i| self.pending.remove(i).1);
        match source {
            Some(Source::Local(from)) => self.a.mov(reg, slot(from))?,
            Some(Source::Const(bits)) => self.a.mov(reg, bits)?,
            None => self.a.mov(reg, slot(slot_index))?,
        }
        Ok(source)
    }
}
