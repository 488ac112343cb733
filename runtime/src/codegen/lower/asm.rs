//! Building blocks of the lowering: slots, immediates, type checks,
//! helper calls and slow paths.

use super::{Arg, LowerError, Lowerer, SlowPath};
use crate::codegen::helpers::Helper;
use crate::object::layout as obj;
use crate::object::{Intrinsic, ObjKind};
use crate::value::Value;
use crate::vm::frame::layout as fl;
use crate::vm::layout::{VM_OBJECT_TAG, VM_POINTER_LIMIT};
use iced_x86::code_asm::*;

pub(super) type Emit = Result<(), LowerError>;

/// The value-stack slot `index` of the current frame (both tiers keep
/// the frame base in r14).
pub(crate) fn slot(index: u32) -> AsmMemoryOperand {
    qword_ptr(r14 + (index as i32) * 8)
}

/// What every helper call does first, in both tiers: saves `pc` in the
/// frame and the stack top (`depth` slots) in the thread, and passes the
/// VM and the thread as the first two arguments.
pub(crate) fn enter_helper(a: &mut CodeAssembler, pc: u32, depth: u32) -> Result<(), IcedError> {
    a.mov(dword_ptr(r15 + fl::FRAME_PC), pc)?;
    a.lea(rax, slot(depth))?;
    a.mov(qword_ptr(r13 + fl::THREAD_SP), rax)?;
    a.mov(rdi, r12)?;
    a.mov(rsi, r13)
}

/// With the function object in rdx, loads into rax its fast entry when it
/// is compiled and takes `argc` arguments; otherwise jumps to `slow`.
pub(crate) fn fast_entry_of(a: &mut CodeAssembler, argc: u32, slow: CodeLabel) -> Result<(), IcedError> {
    a.cmp(dword_ptr(rdx + obj::FUNCTION_ARITY), argc as i32)?;
    a.jne(slow)?;
    a.mov(rax, qword_ptr(rdx + obj::FUNCTION_NATIVE))?;
    a.test(rax, rax)?;
    a.jz(slow)?;
    a.add(rax, crate::codegen::abi::FAST_ENTRY_OFFSET as i32)
}

/// Jumps to `target` unless `value` is an object; leaves the object
/// pointer in `ptr`. Objects are the values whose top 16 bits are the
/// object tag: with the tag subtracted, exactly those leave a 48-bit pointer.
pub(crate) fn object_guard(
    a: &mut CodeAssembler,
    value: AsmRegister64,
    ptr: AsmRegister64,
    target: CodeLabel,
) -> Result<(), IcedError> {
    a.mov(ptr, value)?;
    a.sub(ptr, qword_ptr(r12 + VM_OBJECT_TAG))?;
    a.cmp(ptr, qword_ptr(r12 + VM_POINTER_LIMIT))?;
    a.jae(target)
}

/// Jumps to `fail` unless slot `callee` holds the native whose operation
/// is `intrinsic` (its value left in rax, its pointer in rcx).
pub(crate) fn native_guard(
    a: &mut CodeAssembler,
    callee: u32,
    intrinsic: Intrinsic,
    fail: CodeLabel,
) -> Result<(), IcedError> {
    a.mov(rax, slot(callee))?;
    object_guard(a, rax, rcx, fail)?;
    kind_guard(a, rcx, ObjKind::Native, fail)?;
    a.cmp(byte_ptr(rcx + obj::NATIVE_INTRINSIC), intrinsic as i32)?;
    a.jne(fail)
}

/// Jumps to `target` unless `value` is a number (clobbers `scratch`): not
/// a number when its 13 quiet-NaN bits are all set (`Lowerer::test_tag_bits`).
pub(crate) fn number_guard(
    a: &mut CodeAssembler,
    value: AsmRegister64,
    scratch: AsmRegister64,
    target: CodeLabel,
) -> Result<(), IcedError> {
    a.mov(scratch, value)?;
    a.not(scratch)?;
    a.shl(scratch, 1)?;
    a.shr(scratch, 51)?;
    a.jz(target)
}

/// Jumps to `target` unless the object at `ptr` is of `kind`.
pub(crate) fn kind_guard(
    a: &mut CodeAssembler,
    ptr: AsmRegister64,
    kind: ObjKind,
    target: CodeLabel,
) -> Result<(), IcedError> {
    a.cmp(byte_ptr(ptr + obj::OBJ_KIND), kind as i32)?;
    a.jne(target)
}

/// Calls the fast entry in rax for the closure in rcx, the callee's frame
/// starting at slot `callee`, with the caller's `pc` saved (both tiers; the
/// caller then tests the status in rax).
pub(crate) fn call_fast_entry(a: &mut CodeAssembler, callee: u32, pc: u32) -> Result<(), IcedError> {
    a.mov(dword_ptr(r15 + fl::FRAME_PC), pc)?;
    a.lea(rdx, slot(callee))?;
    a.call(rax)
}

/// Bits of the false value; `true` is one more.
pub(super) const FALSE_BITS: u64 = Value::FALSE.0;

impl Lowerer<'_> {
    /// Records and emits a call to a helper (a rel32 call patched later).
    pub(super) fn emit_call(&mut self, helper: Helper) -> Emit {
        self.records.calls.push((self.a.instructions().len(), helper));
        // A placeholder target near the code; the finisher fixes the displacement.
        self.a.call(0u64)?;
        Ok(())
    }

    /// Saves `pc` and the stack top (`depth` slots), then calls `helper`
    /// with the VM, the thread and `args`.
    pub(super) fn call_helper(&mut self, pc: u32, depth: u32, helper: Helper, args: &[Arg]) -> Emit {
        enter_helper(&mut self.a, pc, depth)?;
        let a = &mut self.a;
        for (arg, (reg, reg32)) in args.iter().zip([(rdx, edx), (rcx, ecx), (r8, r8d), (r9, r9d)]) {
            match *arg {
                Arg::Imm(v) => match u32::try_from(v) {
                    // A 32-bit move zero-extends and is shorter.
                    Ok(small) => a.mov(reg32, small)?,
                    Err(_) => a.mov(reg, v)?,
                },
                Arg::SlotAddress(i) => a.lea(reg, slot(i))?,
                Arg::CacheAddress(c) => a.lea(reg, qword_ptr(rbx + (c as i32) * obj::CACHE_STRIDE as i32))?,
            }
        }
        self.emit_call(helper)
    }

    /// Unwinds when the helper just called reported an error.
    pub(super) fn check_status(&mut self) -> Emit {
        self.a.test(rax, rax)?;
        self.a.jnz(self.exits.error)?;
        Ok(())
    }

    /// A helper call inline in the main path, followed by the status check.
    pub(super) fn inline_helper(&mut self, pc: u32, depth: u32, helper: Helper, args: &[Arg]) -> Emit {
        self.call_helper(pc, depth, helper, args)?;
        self.check_status()
    }
}

/// Which instruction a slow path belongs to and the helper it calls.
struct SlowPathAt {
    pc: u32,
    depth: u32,
    helper: Helper,
}

impl Lowerer<'_> {
    /// Registers an out-of-line slow path and returns (entry, resume)
    /// labels; the caller sets `resume` after its fast path.
    pub(super) fn slow_path(&mut self, pc: u32, depth: u32, helper: Helper, args: Vec<Arg>) -> (CodeLabel, CodeLabel) {
        let resume = self.a.create_label();
        let entry = self.push_slow_path(SlowPathAt { pc, depth, helper }, args, Some(resume), None);
        (entry, resume)
    }

    /// Registers a slow path that calls `helper` and then jumps to `resume`
    /// (`None`: the helper always raises), or first tests its result for a
    /// fused branch; returns its entry label.
    fn push_slow_path(
        &mut self,
        at: SlowPathAt,
        args: Vec<Arg>,
        resume: Option<CodeLabel>,
        branch: Option<(u32, CodeLabel)>,
    ) -> CodeLabel {
        let entry = self.a.create_label();
        let pending = self.pending.clone();
        let SlowPathAt { pc, depth, helper } = at;
        self.out_of_line.slow_paths.push(SlowPath { entry, resume, pending, pc, depth, helper, args, branch });
        entry
    }

    /// A slow path for an instruction whose result (in `slot(index)`) a
    /// fused `JUMP_IF_FALSE` tests: after the helper it jumps to `target`
    /// when that result is falsey and to `resume` (which the caller sets
    /// after its own branch) otherwise. Returns (entry, resume).
    pub(super) fn slow_path_then_branch(
        &mut self,
        pc: u32,
        depth: u32,
        helper: Helper,
        args: Vec<Arg>,
        branch: Option<(u32, CodeLabel)>,
    ) -> (CodeLabel, CodeLabel) {
        let resume = self.a.create_label();
        let entry = self.push_slow_path(SlowPathAt { pc, depth, helper }, args, Some(resume), branch);
        (entry, resume)
    }

    /// A slow path that always raises (the helper reports the error).
    pub(super) fn error_path(&mut self, pc: u32, depth: u32, helper: Helper, args: Vec<Arg>) -> CodeLabel {
        self.push_slow_path(SlowPathAt { pc, depth, helper }, args, None, None)
    }

    pub(super) fn set(&mut self, label: &mut CodeLabel) -> Emit {
        self.a.set_label(label)?;
        self.a.zero_bytes()?;
        Ok(())
    }

    /// Jumps to `target` unless `value` holds a number (clobbers `scratch`).
    pub(super) fn jump_unless_number(
        &mut self,
        value: AsmRegister64,
        scratch: AsmRegister64,
        target: CodeLabel,
    ) -> Emit {
        self.test_tag_bits(value, scratch)?;
        self.a.jz(target)?;
        Ok(())
    }

    /// Sets ZF when `value` is not a number (clobbers `scratch`).
    ///
    /// Numbers are the values whose 13 quiet-NaN bits (50..62) are not all
    /// set: with the value inverted, those bits shifted down (the sign
    /// shifted out first) are zero exactly for the other values. Four
    /// short instructions, 13 bytes; this check is everywhere in
    /// arithmetic, so its size matters for long straight-line code.
    pub(super) fn test_tag_bits(&mut self, value: AsmRegister64, scratch: AsmRegister64) -> Emit {
        let a = &mut self.a;
        a.mov(scratch, value)?;
        a.not(scratch)?;
        a.shl(scratch, 1)?;
        a.shr(scratch, 51)?;
        Ok(())
    }

    /// Turns the object value in `reg` into its pointer.
    pub(super) fn untag_object(&mut self, reg: AsmRegister64) -> Emit {
        self.a.sub(reg, qword_ptr(r12 + VM_OBJECT_TAG))?;
        Ok(())
    }

    /// Jumps to `target` unless `value` is an object of `kind`; leaves the
    /// object pointer in `ptr`.
    pub(super) fn jump_unless_kind(
        &mut self,
        value: AsmRegister64,
        ptr: AsmRegister64,
        kind: ObjKind,
        target: CodeLabel,
    ) -> Emit {
        object_guard(&mut self.a, value, ptr, target)?;
        kind_guard(&mut self.a, ptr, kind, target)?;
        Ok(())
    }

    /// Jumps to `target` unless `value` is an object; leaves the object
    /// pointer in `ptr`.
    pub(super) fn jump_unless_object(&mut self, value: AsmRegister64, ptr: AsmRegister64, target: CodeLabel) -> Emit {
        object_guard(&mut self.a, value, ptr, target)?;
        Ok(())
    }

    /// Compares the kind byte of the object at `ptr` with `kind` (sets flags).
    pub(super) fn cmp_kind(&mut self, ptr: AsmRegister64, kind: ObjKind) -> Emit {
        self.a.cmp(byte_ptr(ptr + obj::OBJ_KIND), kind as i32)?;
        Ok(())
    }

    /// Stores the boolean for condition `cond` (from the flags) in `slot(index)`.
    pub(super) fn store_bool(&mut self, cond: Cond, index: u32) -> Emit {
        let a = &mut self.a;
        match cond {
            Cond::Above => a.seta(cl)?,
            Cond::BelowOrEqual => a.setbe(cl)?,
        }
        // No flag-changing instruction from here: a fused branch follows.
        a.movzx(ecx, cl)?;
        a.mov(rax, FALSE_BITS)?;
        a.lea(rax, qword_ptr(rax + rcx))?;
        a.mov(slot(index), rax)?;
        Ok(())
    }

    /// Jumps to `target` when `value` is falsey (nil or false); clobbers `scratch`.
    pub(super) fn jump_if_falsey(&mut self, value: AsmRegister64, scratch: AsmRegister64, target: CodeLabel) -> Emit {
        let a = &mut self.a;
        // nil and false are adjacent: value - nil is 0 or 1 exactly for them.
        a.mov(scratch, Value::NIL.0)?;
        a.neg(scratch)?;
        a.add(scratch, value)?;
        a.cmp(scratch, 1)?;
        a.jbe(target)?;
        Ok(())
    }
}

/// Conditions a comparison leaves in the flags.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Cond {
    Above,
    BelowOrEqual,
}
