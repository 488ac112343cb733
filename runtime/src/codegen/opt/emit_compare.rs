//! The optimized code of comparisons and equality: the flags of a number
//! comparison, `==` on two values in their slots and `==` of a value in
//! its slot with an unboxed number, each either as a boolean in a slot or
//! as a conditional branch.
//!
//! Owns these templates only; they follow clox's rules as the baseline's
//! (`lower::opcodes::equality`, `Comparison::holds`) do: a NaN equals
//! nothing, +0 equals -0, every other value equals only the same bits.
//! It must not decide what to speculate.

use super::emit::{spill, Emitter, XMM};
use super::ir::*;
use super::regalloc::Loc;
use crate::codegen::lower::{number_guard, slot, LowerError};
use crate::value::Value;
use iced_x86::code_asm::*;

type Emit = Result<(), LowerError>;

impl Emitter<'_> {
    /// Flags for "the value in rax is falsey": below-or-equal after this.
    pub(super) fn falsey_flags(&mut self) -> Emit {
        // nil and false are adjacent: value - nil is 0 or 1 exactly for them.
        self.a.mov(rcx, Value::NIL.0)?;
        self.a.neg(rcx)?;
        self.a.add(rcx, rax)?;
        self.a.cmp(rcx, 1)?;
        Ok(())
    }

    /// `ucomisd reg, v` wherever `v` lives.
    fn ucomisd_val(&mut self, reg: AsmRegisterXmm, v: Val) -> Emit {
        match self.loc(v) {
            Loc::Xmm(r) => self.a.ucomisd(reg, XMM[r as usize])?,
            Loc::Stack(i) => self.a.ucomisd(reg, spill(i))?,
        }
        Ok(())
    }

    /// Sets the flags for `a cmp b`; see `set_cl` and `jump_unless`.
    pub(super) fn compare(&mut self, cmp: Cmp, a: Val, b: Val) -> Emit {
        // Mirrors `Comparison::holds`: "above" is false for unordered
        // operands, so `>`/`<` are false and `>=`/`<=` true with a NaN.
        let (x, y) = match cmp {
            Cmp::Gt | Cmp::Le | Cmp::Eq | Cmp::Ne => (a, b),
            Cmp::Lt | Cmp::Ge => (b, a),
        };
        let reg = match self.loc(x) {
            Loc::Xmm(r) => XMM[r as usize],
            Loc::Stack(_) => {
                self.load_xmm(xmm0, x)?;
                xmm0
            }
        };
        self.ucomisd_val(reg, y)
    }

    /// cl = 1 when the comparison whose flags are set holds.
    pub(super) fn set_cl(&mut self, cmp: Cmp) -> Emit {
        let a = &mut self.a;
        match cmp {
            Cmp::Gt | Cmp::Lt => a.seta(cl)?,
            Cmp::Ge | Cmp::Le => a.setbe(cl)?,
            Cmp::Eq => {
                a.sete(cl)?;
                a.setnp(dl)?;
                a.and(cl, dl)?;
            }
            Cmp::Ne => {
                a.setne(cl)?;
                a.setp(dl)?;
                a.or(cl, dl)?;
            }
        }
        Ok(())
    }

    /// Slot `s` = the boolean in cl (1: true).
    pub(super) fn store_cl_bool(&mut self, s: u32) -> Emit {
        let a = &mut self.a;
        a.movzx(ecx, cl)?;
        a.mov(rax, Value::FALSE.0)?;
        a.add(rax, rcx)?;
        a.mov(slot(s), rax)?;
        Ok(())
    }

    /// cl = whether the values in slots `x` and `y` are equal: the same
    /// bits unless a NaN number; different bits only for +0 and -0.
    fn equal_to_cl(&mut self, x: u32, y: u32) -> Emit {
        let mut done = self.a.create_label();
        let mut differ = self.a.create_label();
        let a = &mut self.a;
        a.mov(rax, slot(x))?;
        a.mov(rcx, slot(y))?;
        a.cmp(rax, rcx)?;
        a.jne(differ)?;
        a.movq(xmm0, rax)?;
        a.ucomisd(xmm0, xmm0)?;
        a.setnp(cl)?;
        a.jnp(done)?;
        // A NaN bit pattern: objects and singletons equal themselves.
        a.mov(rdx, rax)?;
        a.not(rdx)?;
        a.shl(rdx, 1)?;
        a.shr(rdx, 51)?;
        a.sete(cl)?;
        a.jmp(done)?;
        self.set(&mut differ)?;
        let a = &mut self.a;
        a.or(rax, rcx)?;
        a.shl(rax, 1)?;
        a.sete(cl)?;
        self.set(&mut done)
    }

    /// Slot `s` = `x == y` (or `!=` when not `equal`) on slots.
    pub(super) fn equal_slots(&mut self, s: u32, x: u32, y: u32, equal: bool) -> Emit {
        self.equal_to_cl(x, y)?;
        if !equal {
            self.a.xor(cl, 1)?;
        }
        self.store_cl_bool(s)
    }

    /// With the value of slot `s` in rax and xmm0: jumps to `not_number`
    /// unless it is a number, else sets the flags of comparing it with `v`.
    fn compare_with_number(&mut self, s: u32, v: Val, not_number: CodeLabel) -> Emit {
        self.a.mov(rax, slot(s))?;
        number_guard(&mut self.a, rax, rdx, not_number)?;
        self.a.movq(xmm0, rax)?;
        self.ucomisd_val(xmm0, v)
    }

    /// Slot `dst` = whether the value in slot `s` is the number `v` (or is
    /// not, when not `equal`).
    pub(super) fn equal_num(&mut self, dst: u32, s: u32, v: Val, equal: bool) -> Emit {
        let mut done = self.a.create_label();
        self.a.xor(ecx, ecx)?;
        self.compare_with_number(s, v, done)?;
        self.set_cl(Cmp::Eq)?;
        self.set(&mut done)?;
        if !equal {
            self.a.xor(cl, 1)?;
        }
        self.store_cl_bool(dst)
    }

    /// Jumps to `other` unless the condition holds (falls through, or
    /// jumps to `then`, when it does).
    pub(super) fn branch_unless(&mut self, cond: &Cond, other: CodeLabel, then: CodeLabel) -> Emit {
        match *cond {
            Cond::Truthy(s) => {
                self.a.mov(rax, slot(s))?;
                self.falsey_flags()?;
                self.a.jbe(other)?;
            }
            Cond::Bits { slot: s, bits, equal } => {
                self.a.mov(rax, slot(s))?;
                self.a.mov(rcx, bits)?;
                self.a.cmp(rax, rcx)?;
                if equal {
                    self.a.jne(other)?;
                } else {
                    self.a.je(other)?;
                }
            }
            Cond::Cmp(cmp, a, b) => {
                self.compare(cmp, a, b)?;
                self.jump_unless(cmp, other, then)?;
            }
            Cond::Equal { a, b, equal } => {
                self.equal_to_cl(a, b)?;
                self.a.test(cl, cl)?;
                if equal {
                    self.a.jz(other)?;
                } else {
                    self.a.jnz(other)?;
                }
            }
            Cond::EqualNum { slot: s, v, equal } => {
                self.compare_with_number(s, v, if equal { other } else { then })?;
                self.jump_unless(if equal { Cmp::Eq } else { Cmp::Ne }, other, then)?;
            }
        }
        Ok(())
    }

    /// Jumps to `then` when the condition holds (falls through, or jumps
    /// to `other`, when it does not).
    pub(super) fn branch_if(&mut self, cond: &Cond, then: CodeLabel, other: CodeLabel) -> Emit {
        match *cond {
            Cond::Truthy(s) => {
                self.a.mov(rax, slot(s))?;
                self.falsey_flags()?;
                self.a.ja(then)?;
            }
            Cond::Bits { slot: s, bits, equal } => {
                self.a.mov(rax, slot(s))?;
                self.a.mov(rcx, bits)?;
                self.a.cmp(rax, rcx)?;
                if equal {
                    self.a.je(then)?;
                } else {
                    self.a.jne(then)?;
                }
            }
            Cond::Cmp(cmp, a, b) => {
                self.compare(cmp, a, b)?;
                self.jump_if(cmp, then, other)?;
            }
            Cond::Equal { a, b, equal } => {
                self.equal_to_cl(a, b)?;
                self.a.test(cl, cl)?;
                if equal {
                    self.a.jnz(then)?;
                } else {
                    self.a.jz(then)?;
                }
            }
            Cond::EqualNum { slot: s, v, equal } => {
                self.compare_with_number(s, v, if equal { other } else { then })?;
                self.jump_if(if equal { Cmp::Eq } else { Cmp::Ne }, then, other)?;
            }
        }
        Ok(())
    }

    /// Jumps to `then` when the comparison whose flags are set holds
    /// (falls through, or jumps to `other`, when it does not).
    fn jump_if(&mut self, cmp: Cmp, then: CodeLabel, other: CodeLabel) -> Emit {
        let a = &mut self.a;
        match cmp {
            Cmp::Gt | Cmp::Lt => a.ja(then)?,
            Cmp::Ge | Cmp::Le => a.jbe(then)?,
            Cmp::Eq => {
                a.jp(other)?;
                a.je(then)?;
            }
            Cmp::Ne => {
                a.jp(then)?;
                a.jne(then)?;
            }
        }
        Ok(())
    }

    /// Jumps to `other` unless the comparison whose flags are set holds
    /// (falls through, or jumps to `then`, when it does).
    fn jump_unless(&mut self, cmp: Cmp, other: CodeLabel, then: CodeLabel) -> Emit {
        let a = &mut self.a;
        match cmp {
            Cmp::Gt | Cmp::Lt => a.jbe(other)?,
            Cmp::Ge | Cmp::Le => a.ja(other)?,
            Cmp::Eq => {
                a.jne(other)?;
                a.jp(other)?;
            }
            Cmp::Ne => {
                a.jp(then)?;
                a.je(other)?;
            }
        }
        Ok(())
    }
}
