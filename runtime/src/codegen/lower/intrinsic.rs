//! Calls of the bitwise natives computed in place (`object::Intrinsic`).
//!
//! When the callee slot of a `CALL` was filled by a `GET_GLOBAL` of a name
//! such as `band` (`FunctionInput::intrinsic_of_global`; tracked in
//! `Lowerer::callees`), the call site first checks, at run time, that the
//! callee is an `ObjNative` whose intrinsic byte is that operation (so a
//! program's own `band` is called as usual) and that each operand is a
//! number with an integral value of magnitude below 2^63 (`cvttsd2si` and
//! back gives the same number); then it computes the result with 32-bit
//! x86 instructions on the operands' low 32 bits (ToInt32 of an integer is
//! its value modulo 2^32), stores it in the callee slot and counts the call
//! (`Thread::calls`, as the native's call would; the `CALL`'s safepoint
//! poll ran before). Anything else takes the `CALL`'s ordinary lowering,
//! unchanged: the native then computes the same (`natives/bits.rs`) or
//! raises its error with the same trace.
//!
//! The static knowledge is only a hint: every fact the result depends on
//! is checked by the generated code.

use super::asm::{slot, Emit};
use super::{LowerError, Lowerer};
use crate::object::Intrinsic;
use crate::vm::frame::layout as fl;
use iced_x86::code_asm::*;

impl Lowerer<'_> {
    /// Forgets the callee slots an instruction that pops `pops` of the `d`
    /// values on the stack takes away, then remembers a `GET_GLOBAL` of an
    /// intrinsic's name (the global `global`) filling slot `d`.
    pub(super) fn track_callees(&mut self, d: u32, pops: u32, global: Option<u32>) {
        let kept = d.saturating_sub(pops);
        self.callees.retain(|&(at, _)| at < kept);
        if let Some(g) = global {
            let intrinsic = (self.input.intrinsic_of_global)(g);
            if intrinsic.is_bitwise() {
                self.callees.push((d, intrinsic));
            }
        }
    }

    /// The intrinsic a `CALL` of `argc` arguments with its callee in slot
    /// `callee` may compute inline.
    pub(super) fn callee_intrinsic(&self, callee: u32, argc: u32) -> Option<Intrinsic> {
        let &(_, intrinsic) = self.callees.iter().rev().find(|&&(at, _)| at == callee)?;
        (intrinsic.arity() == argc).then_some(intrinsic)
    }

    /// The inline computation of `intrinsic` for the call whose callee is
    /// in slot `callee` (operands in memory above it). Falls through to
    /// the ordinary call when a check fails; returns the label to set
    /// after that call, where the inline path continues.
    pub(super) fn intrinsic_fast_path(&mut self, intrinsic: Intrinsic, callee: u32) -> Result<CodeLabel, LowerError> {
        let mut call = self.a.create_label();
        let done = self.a.create_label();
        super::asm::native_guard(&mut self.a, callee, intrinsic, call)?;
        self.int32_operand(rax, callee + 1, call)?;
        if intrinsic.arity() == 2 {
            self.int32_operand(rcx, callee + 2, call)?;
        }
        let a = &mut self.a;
        match intrinsic {
            Intrinsic::Band => a.and(eax, ecx)?,
            Intrinsic::Bor => a.or(eax, ecx)?,
            Intrinsic::Bxor => a.xor(eax, ecx)?,
            Intrinsic::Bnot => a.not(eax)?,
            // 32-bit shifts use the count's low 5 bits, as ToUint32(n) & 31.
            Intrinsic::Shl => a.shl(eax, cl)?,
            Intrinsic::Shr => a.sar(eax, cl)?,
            Intrinsic::Ushr => a.shr(eax, cl)?,
            Intrinsic::None | Intrinsic::Len | Intrinsic::Push | Intrinsic::Sqrt => {
                return Err(LowerError("no operation to inline".into()))
            }
        }
        if intrinsic == Intrinsic::Ushr {
            // Unsigned: a 32-bit move zero-extends, and the 64-bit value converts exactly.
            a.mov(eax, eax)?;
            a.cvtsi2sd(xmm0, rax)?;
        } else {
            a.cvtsi2sd(xmm0, eax)?;
        }
        a.movq(slot(callee), xmm0)?;
        a.inc(qword_ptr(r13 + fl::THREAD_CALLS))?;
        a.jmp(done)?;
        self.set(&mut call)?;
        Ok(done)
    }

    /// Loads the operand in slot `at` into `reg` as an integer, jumping to
    /// `fail` unless it is a number with an integral value that converts
    /// to a 64-bit integer exactly (clobbers rdx, xmm0, xmm1).
    fn int32_operand(&mut self, reg: AsmRegister64, at: u32, fail: CodeLabel) -> Emit {
        self.a.mov(reg, slot(at))?;
        self.jump_unless_number(reg, rdx, fail)?;
        let a = &mut self.a;
        a.movq(xmm0, reg)?;
        // Out of range and NaN give 2^63, which converts back to another
        // number (unless the operand is -2^63 itself, an exact conversion).
        a.cvttsd2si(reg, xmm0)?;
        a.cvtsi2sd(xmm1, reg)?;
        a.ucomisd(xmm0, xmm1)?;
        a.jne(fail)?;
        a.jp(fail)?;
        Ok(())
    }
}
