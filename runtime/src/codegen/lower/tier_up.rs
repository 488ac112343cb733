//! Counting for the optimizing tier in ahead-of-time code: every call and
//! loop back-edge of a function counts down `ObjFunction::opt_countdown`
//! (armed by the runtime when the executable starts); when it runs out at
//! a call, `Helper::TierUp` has the function optimized for its next calls;
//! when it runs out at a back-edge, `Helper::TierUpLoop` also returns the
//! optimized code's on-stack-replacement entry for that loop, which this
//! frame then continues in (it returns as the function does).
//!
//! Owns only this code; when to arm the counter and how the function is
//! optimized are the runtime's (`codegen::jit`). Emitted only when
//! `FunctionInput::count_calls` is set (`tinyvm build` without `-g`).

use super::asm::Emit;
use super::{ColdBlock, Lowerer};
use crate::codegen::helpers::Helper;
use crate::object::layout as obj;
use crate::vm::frame::layout as fl;
use iced_x86::code_asm::*;

/// The out-of-line part of a counting back-edge.
pub(super) struct HotLoop {
    entry: CodeLabel,
    resume: CodeLabel,
    header: u32,
    pc: u32,
    depth: u32,
}

impl Lowerer<'_> {
    /// At the fast entry (nothing pushed yet, the closure in rcx): once the
    /// function has optimized code, a caller that still holds this entry
    /// (an inline cache filled before) goes on there, arguments untouched.
    pub(super) fn redirect_to_optimized(&mut self) -> Emit {
        if !self.input.count_calls {
            return Ok(());
        }
        let mut own = self.a.create_label();
        let a = &mut self.a;
        a.mov(rax, qword_ptr(rcx + obj::CLOSURE_FUNCTION))?;
        a.mov(rax, qword_ptr(rax + obj::FUNCTION_FAST))?;
        a.lea(r11, qword_ptr(self.exits.fast_entry))?;
        a.cmp(rax, r11)?;
        a.je(own)?;
        a.jmp(rax)?;
        self.set(&mut own)
    }

    /// At the end of the prologue (the closure still in rcx): counts the call.
    pub(super) fn count_call(&mut self) -> Emit {
        if !self.input.count_calls {
            return Ok(());
        }
        let (hot, mut resume) = self.slow_path(1, self.input.arity + 1, Helper::TierUp, vec![]);
        self.a.mov(rax, qword_ptr(rcx + obj::CLOSURE_FUNCTION))?;
        self.a.dec(dword_ptr(rax + obj::FUNCTION_OPT_COUNTDOWN))?;
        self.a.jz(hot)?;
        self.set(&mut resume)
    }

    /// Before a `LOOP`'s jump to `header` (the whole stack in memory):
    /// counts the back-edge.
    pub(super) fn count_back_edge(&mut self, header: u32, pc: u32, depth: u32) -> Emit {
        if !self.input.count_calls {
            return Ok(());
        }
        let entry = self.a.create_label();
        let mut resume = self.a.create_label();
        self.a.mov(rax, qword_ptr(r15 + fl::FRAME_CLOSURE))?;
        self.a.mov(rax, qword_ptr(rax + obj::CLOSURE_FUNCTION))?;
        self.a.dec(dword_ptr(rax + obj::FUNCTION_OPT_COUNTDOWN))?;
        self.a.jz(entry)?;
        self.set(&mut resume)?;
        let block = HotLoop { entry, resume, header, pc, depth };
        self.out_of_line.cold_blocks.push(ColdBlock::HotLoop(block));
        Ok(())
    }

    /// A `HotLoop` block: asks for the loop's optimized entry and, given
    /// one, continues the frame there; its status is the function's.
    pub(super) fn hot_loop_block(&mut self, mut block: HotLoop) -> Emit {
        self.set(&mut block.entry)?;
        self.records.slow_lines.push((self.a.instructions().len(), block.pc - 1));
        self.call_helper(block.pc, block.depth, Helper::TierUpLoop, &[super::Arg::Imm(block.header as u64)])?;
        self.a.test(rax, rax)?;
        self.a.jz(block.resume)?;
        self.a.mov(rdi, r12)?;
        self.a.mov(rsi, r13)?;
        self.a.mov(rdx, r14)?;
        self.a.call(rax)?;
        // The optimized code popped the frame (or left the error to unwind).
        self.a.jmp(self.exits.epilogue)?;
        Ok(())
    }
}
