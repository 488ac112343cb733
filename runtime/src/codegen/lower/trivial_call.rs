//! `INVOKE` of a trivial method (`vm::trivial_method`): when the site's cache says
//! the method only returns `this`, a field of `this` or a constant, the
//! result is produced here instead of calling it.
//!
//! The call would first check for overflow (its prologue) and count itself;
//! this block makes the same checks and takes the real call when one of
//! them fails (which then reports `Stack overflow.` exactly as before), and
//! bumps the same counter. Nothing else of a trivial call is observable.

use super::asm::{slot, Emit};
use super::{Lowerer, FAST_FRAME_BYTES};
use crate::object::layout as obj;
use crate::object::{TRIVIAL_FIELD, TRIVIAL_THIS};
use crate::vm::frame::layout as fl;
use iced_x86::code_asm::*;

/// The out-of-line part of an `INVOKE` site for trivial methods.
pub(super) struct TrivialCall {
    pub entry: CodeLabel,
    /// The site's call of the cached method (cache way in rdx).
    pub call: CodeLabel,
    pub resume: CodeLabel,
    pub receiver: u32,
    pub pc: u32,
}

impl Lowerer<'_> {
    /// Emits a `TrivialCall` block: entered with the cache way in rdx and
    /// the receiver instance's pointer in rcx.
    pub(super) fn trivial_call_block(&mut self, mut block: TrivialCall) -> Emit {
        let mut not_field = self.a.create_label();
        self.set(&mut block.entry)?;
        self.records.slow_lines.push((self.a.instructions().len(), block.pc - 1));
        let a = &mut self.a;
        a.mov(rdi, qword_ptr(r13 + fl::THREAD_FRAMES_TOP))?;
        a.cmp(rdi, qword_ptr(r13 + fl::THREAD_FRAMES_LIMIT))?;
        a.jae(block.call)?;
        a.lea(rdi, qword_ptr(rsp - FAST_FRAME_BYTES))?;
        a.cmp(rdi, qword_ptr(r13 + fl::THREAD_NATIVE_STACK_LIMIT))?;
        a.jb(block.call)?;
        a.mov(edi, dword_ptr(rdx + obj::CACHE_TRIVIAL_STACK))?;
        a.lea(rdi, qword_ptr(r14 + rdi + (block.receiver as i32) * 8))?;
        a.cmp(rdi, qword_ptr(r13 + fl::THREAD_STACK_LIMIT))?;
        a.ja(block.call)?;
        a.inc(qword_ptr(r13 + fl::THREAD_CALLS))?;
        a.mov(rax, qword_ptr(rdx + obj::CACHE_TRIVIAL_OPERAND))?;
        a.cmp(dword_ptr(rdx + obj::CACHE_TRIVIAL_KIND), TRIVIAL_FIELD as i32)?;
        a.jne(not_field)?;
        a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        a.mov(rax, qword_ptr(rdi + rax * 8))?;
        a.mov(slot(block.receiver), rax)?;
        a.jmp(block.resume)?;
        self.set(&mut not_field)?;
        let a = &mut self.a;
        // `this`: the receiver's slot already holds the result.
        a.cmp(dword_ptr(rdx + obj::CACHE_TRIVIAL_KIND), TRIVIAL_THIS as i32)?;
        a.je(block.resume)?;
        a.mov(slot(block.receiver), rax)?;
        a.jmp(block.resume)?;
        Ok(())
    }
}
