//! IR plus register allocation to x86-64 (iced-x86's CodeAssembler),
//! in the frame protocol of the baseline code (`codegen::lower`).
//!
//! Owns the machine code of optimized functions: the System V stub and
//! the fast entry at `FAST_ENTRY_OFFSET` (so callers and caches treat
//! optimized and baseline code alike), the redirect that sends a caller to
//! the baseline code once the function is invalidated, the frame push,
//! one template per IR instruction, parallel moves on jumps, and one
//! out-of-line stub per guard that writes the guard's numbers into their
//! slots and calls `deopt::tvm_opt_deopt`. It must not decide what to
//! speculate (the builder does) nor what a deopt does (deopt.rs).
//! Registers: r12 = vm, r13 = thread, r14 = frame base, r15 = frame,
//! rbp = frame pointer; rax, rcx, rdx, rsi, rdi, xmm0, xmm1 are scratch.

use super::ir::*;
use super::regalloc::{Allocation, Loc};
use crate::codegen::abi::FAST_ENTRY_OFFSET;
use crate::codegen::helpers::Helper;
use crate::codegen::lower::{enter_helper, number_guard, slot, LowerError, LoweredFunction};
use crate::object::layout as obj;
use crate::value::SIGN_BIT;
use crate::vm::frame::layout as fl;
use crate::vm::layout::{VM_GLOBALS_BASE, VM_UNDEFINED};
use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;

type Emit = Result<(), LowerError>;

/// Addresses the code embeds (it is always made at run time, also in
/// built executables, so absolute addresses hold in PIE and static PIE).
pub struct Addresses {
    /// A word that is 0 while the code is valid, else the baseline fast entry.
    pub redirect: u64,
    /// Per guard: its `deopt::DeoptRecord`.
    pub records: Vec<u64>,
    /// Per guard, in deopt-stress mode: a byte that is 0 until it failed once.
    pub stress: Option<Vec<u64>>,
    pub deopt: u64,
    pub call: u64,
    pub stack_overflow: u64,
    /// The function being compiled (its own calls go straight to its fast entry).
    pub function: u64,
    /// Its inline caches (`ObjFunction::caches`, fixed for its lifetime).
    pub caches: u64,
}

pub struct EmitInput<'a> {
    pub func: &'a Func,
    pub alloc: &'a Allocation,
    pub max_stack: u32,
    pub arity: u32,
    pub addresses: Addresses,
}

pub(super) const XMM: [AsmRegisterXmm; 16] =
    [xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15];

pub(super) fn spill(index: u32) -> AsmMemoryOperand {
    qword_ptr(rsp + (index as i32) * 8)
}

pub(super) struct Emitter<'a> {
    pub(super) a: CodeAssembler,
    pub(super) input: &'a EmitInput<'a>,
    pub(super) blocks: Vec<CodeLabel>,
    pub(super) deopts: Vec<CodeLabel>,
    pub(super) error: CodeLabel,
    pub(super) epilogue: CodeLabel,
    pub(super) overflow: CodeLabel,
    pub(super) redirect: CodeLabel,
    pub(super) fast_entry: CodeLabel,
    pub(super) slow_calls: Vec<super::emit_heap::SlowCall>,
    /// Per OSR entry of the function: the label of its System V entry.
    pub(super) osr: Vec<CodeLabel>,
    /// Slow paths still to emit (`emit_heap.rs`).
    pub(super) slow_paths: Vec<super::emit_heap::SlowPath>,
    /// The XMM registers the allocation uses, which slow paths save (in
    /// the native-stack slots after the spill slots) around their call.
    pub(super) saved_xmm: Vec<u8>,
    /// The constant pool (after the code): a label per distinct number.
    constants: Vec<(CodeLabel, u64)>,
}

/// Emits the function.
pub fn emit(input: &EmitInput) -> Result<LoweredFunction, LowerError> {
    let mut a = CodeAssembler::new(64)?;
    let blocks = input.func.blocks.iter().map(|_| a.create_label()).collect();
    let deopts = input.func.deopts.iter().map(|_| a.create_label()).collect();
    let mut e = Emitter {
        error: a.create_label(),
        epilogue: a.create_label(),
        overflow: a.create_label(),
        redirect: a.create_label(),
        fast_entry: a.create_label(),
        a,
        input,
        blocks,
        deopts,
        slow_calls: Vec::new(),
        osr: Vec::new(),
        slow_paths: Vec::new(),
        saved_xmm: saved_xmm(input),
        constants: Vec::new(),
    };
    e.prologue()?;
    for i in 0..input.func.blocks.len() {
        e.block(i)?;
    }
    e.tail()?;
    let result = e.a.assemble_options(0, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)?;
    if result.label_ip(&e.fast_entry)? != FAST_ENTRY_OFFSET as u64 {
        return Err(LowerError("the fast entry is not at its fixed offset".into()));
    }
    let mut osr_entries = Vec::new();
    for (entry, label) in input.func.osr.iter().zip(&e.osr) {
        osr_entries.push((entry.header, result.label_ip(label)? as u32));
    }
    let code = result.inner.code_buffer;
    Ok(LoweredFunction {
        code,
        helper_calls: Vec::new(),
        lines: Vec::new(),
        slow_lines: Vec::new(),
        body_start: FAST_ENTRY_OFFSET as u32,
        unwind: Vec::new(),
        osr_entries,
    })
}

/// The XMM registers slow paths (and safepoints) save: all the
/// allocation uses.
fn saved_xmm(input: &EmitInput) -> Vec<u8> {
    let mut regs: Vec<u8> =
        input.alloc.locs.iter().filter_map(|l| if let Loc::Xmm(r) = *l { Some(r) } else { None }).collect();
    regs.sort_unstable();
    regs.dedup();
    regs
}

impl Emitter<'_> {
    pub(super) fn set(&mut self, label: &mut CodeLabel) -> Emit {
        self.a.set_label(label)?;
        self.a.zero_bytes()?;
        Ok(())
    }

    /// Calls the function at an absolute address.
    pub(super) fn call_abs(&mut self, address: u64) -> Emit {
        self.a.mov(rax, address)?;
        self.a.call(rax)?;
        Ok(())
    }

    /// A System V entry (for Rust callers): vm and thread into r12/r13,
    /// then `fast` with the other arguments as they are.
    fn system_v_stub(&mut self, fast: CodeLabel) -> Emit {
        let a = &mut self.a;
        a.push(rbp)?;
        a.mov(rbp, rsp)?;
        a.push(r12)?;
        a.push(r13)?;
        a.mov(r12, rdi)?;
        a.mov(r13, rsi)?;
        a.call(fast)?;
        a.pop(r13)?;
        a.pop(r12)?;
        a.pop(rbp)?;
        a.ret()?;
        Ok(())
    }

    /// Saves the callee-saved registers, reserves the spill slots (rsp
    /// stays 16-byte aligned at calls) and takes the frame base from rdx.
    fn native_frame(&mut self) -> Emit {
        let a = &mut self.a;
        a.push(rbp)?;
        a.mov(rbp, rsp)?;
        a.push(rbx)?;
        a.push(r14)?;
        a.push(r15)?;
        // 8 keeps rsp 16-byte aligned at calls; spill slots come in pairs.
        let slots = self.input.alloc.spill_slots as i32 + self.saved_xmm.len() as i32;
        let spill_bytes = (slots + 1) / 2 * 16;
        a.sub(rsp, 8 + spill_bytes)?;
        a.mov(r14, rdx)?;
        Ok(())
    }

    /// An OSR entry: called (System V: vm, thread, base) while the
    /// function's interpreted frame is the top frame, it takes the loop
    /// header's numbers from their slots and continues at the header.
    fn osr_entry(&mut self, entry: &OsrEntry) -> Emit {
        let mut start = self.a.create_label();
        let mut fast = self.a.create_label();
        self.set(&mut start)?;
        self.osr.push(start);
        self.system_v_stub(fast)?;
        self.set(&mut fast)?;
        self.native_frame()?;
        self.a.mov(r15, qword_ptr(r13 + fl::THREAD_FRAMES_TOP))?;
        self.a.sub(r15, fl::FRAME_SIZE as i32)?;
        let params = &self.input.func.blocks[entry.block as usize].params;
        for (&s, &v) in entry.slots.iter().zip(params) {
            self.unbox(s, self.loc(v), entry.deopt)?;
        }
        self.a.jmp(self.blocks[entry.block as usize])?;
        Ok(())
    }

    /// The guard `CheckNumber` on slot `s`: its number goes to `to`.
    fn unbox(&mut self, s: u32, to: Loc, deopt: DeoptId) -> Emit {
        self.stress(deopt)?;
        self.a.mov(rax, slot(s))?;
        number_guard(&mut self.a, rax, rcx, self.deopts[deopt as usize])?;
        self.store_gpr(to, rax)
    }

    /// The System V stub (as the baseline's), the fast entry with its
    /// redirect, the frame push and the stack checks.
    fn prologue(&mut self) -> Emit {
        self.system_v_stub(self.fast_entry)?;
        for _ in 0..7 {
            self.a.int3()?;
        }
        self.a.set_label(&mut self.fast_entry)?;
        let a = &mut self.a;
        a.mov(rax, self.input.addresses.redirect)?;
        a.mov(rax, qword_ptr(rax))?;
        a.test(rax, rax)?;
        a.jnz(self.redirect)?;
        self.native_frame()?;
        let a = &mut self.a;
        a.cmp(rsp, qword_ptr(r13 + fl::THREAD_NATIVE_STACK_LIMIT))?;
        a.jb(self.overflow)?;
        a.mov(r15, qword_ptr(r13 + fl::THREAD_FRAMES_TOP))?;
        a.cmp(r15, qword_ptr(r13 + fl::THREAD_FRAMES_LIMIT))?;
        a.jae(self.overflow)?;
        let needed = (self.input.max_stack as i32 + 1) * 8;
        a.lea(rax, qword_ptr(r14 + needed))?;
        a.cmp(rax, qword_ptr(r13 + fl::THREAD_STACK_LIMIT))?;
        a.ja(self.overflow)?;
        a.mov(qword_ptr(r15 + fl::FRAME_CLOSURE), rcx)?;
        a.mov(qword_ptr(r15 + fl::FRAME_BASE), r14)?;
        a.lea(rax, qword_ptr(r15 + fl::FRAME_SIZE))?;
        a.mov(qword_ptr(r13 + fl::THREAD_FRAMES_TOP), rax)?;
        a.inc(qword_ptr(r13 + fl::THREAD_CALLS))?;
        Ok(())
    }

    pub(super) fn loc(&self, v: Val) -> Loc {
        self.input.alloc.loc(v)
    }

    pub(super) fn load_xmm(&mut self, reg: AsmRegisterXmm, v: Val) -> Emit {
        match self.loc(v) {
            Loc::Xmm(r) => self.a.movapd(reg, XMM[r as usize])?,
            Loc::Stack(i) => self.a.movq(reg, spill(i))?,
        }
        Ok(())
    }

    pub(super) fn store_xmm(&mut self, v: Val, reg: AsmRegisterXmm) -> Emit {
        match self.loc(v) {
            Loc::Xmm(r) => self.a.movapd(XMM[r as usize], reg)?,
            Loc::Stack(i) => self.a.movq(spill(i), reg)?,
        }
        Ok(())
    }

    pub(super) fn load_gpr(&mut self, reg: AsmRegister64, loc: Loc) -> Emit {
        match loc {
            Loc::Xmm(r) => self.a.movq(reg, XMM[r as usize])?,
            Loc::Stack(i) => self.a.mov(reg, spill(i))?,
        }
        Ok(())
    }

    pub(super) fn store_gpr(&mut self, loc: Loc, reg: AsmRegister64) -> Emit {
        match loc {
            Loc::Xmm(r) => self.a.movq(XMM[r as usize], reg)?,
            Loc::Stack(i) => self.a.mov(spill(i), reg)?,
        }
        Ok(())
    }

    /// Writes number `v` into value-stack slot `s`.
    pub(super) fn box_to_slot(&mut self, s: u32, v: Val) -> Emit {
        match self.loc(v) {
            Loc::Xmm(r) => self.a.movq(slot(s), XMM[r as usize])?,
            Loc::Stack(i) => {
                self.a.mov(rax, spill(i))?;
                self.a.mov(slot(s), rax)?;
            }
        }
        Ok(())
    }

    fn block(&mut self, i: usize) -> Emit {
        let mut label = self.blocks[i];
        self.set(&mut label)?;
        self.blocks[i] = label;
        let block = &self.input.func.blocks[i];
        for inst in &block.insts {
            self.inst(inst)?;
        }
        self.term(&block.term, i)
    }

    /// In deopt-stress mode, fails guard `d` the first time it runs.
    pub(super) fn stress(&mut self, d: DeoptId) -> Emit {
        if let Some(flags) = &self.input.addresses.stress {
            let flag = flags[d as usize];
            self.a.mov(rcx, flag)?;
            self.a.cmp(byte_ptr(rcx), 0)?;
            self.a.je(self.deopts[d as usize])?;
        }
        Ok(())
    }

    fn inst(&mut self, inst: &Inst) -> Emit {
        match *inst {
            Inst::Const { dst, bits } => self.constant(dst, bits)?,
            Inst::Unbox { dst, slot: s, deopt } => self.unbox(s, self.loc(dst), deopt)?,
            Inst::Binary { dst, op: BinOp::Mod, a, b } => self.modulo(dst, a, b)?,
            Inst::Binary { dst, op, a, b } => self.binary(dst, op, a, b)?,
            Inst::Neg { dst, a } => {
                self.load_gpr(rax, self.loc(a))?;
                self.a.mov(rcx, SIGN_BIT)?;
                self.a.xor(rax, rcx)?;
                self.store_gpr(self.loc(dst), rax)?;
            }
            Inst::Box { slot: s, v } => self.box_to_slot(s, v)?,
            Inst::StoreBits { slot: s, bits } => {
                self.a.mov(rax, bits)?;
                self.a.mov(slot(s), rax)?;
            }
            Inst::LoadConstant { slot: s, k } => {
                let a = &mut self.a;
                a.mov(rax, qword_ptr(r15 + fl::FRAME_CLOSURE))?;
                a.mov(rax, qword_ptr(rax + obj::CLOSURE_FUNCTION))?;
                a.mov(rax, qword_ptr(rax + obj::FUNCTION_CONSTANTS))?;
                a.mov(rax, qword_ptr(rax + (k as i32) * 8))?;
                a.mov(slot(s), rax)?;
            }
            Inst::Copy { dst, src } => {
                self.a.mov(rax, slot(src))?;
                self.a.mov(slot(dst), rax)?;
            }
            Inst::CmpToSlot { slot: s, cmp, a, b } => {
                self.compare(cmp, a, b)?;
                self.set_cl(cmp)?;
                self.store_cl_bool(s)?;
            }
            Inst::EqualSlots { slot: s, a, b, equal } => self.equal_slots(s, a, b, equal)?,
            Inst::EqualNum { dst, src, v, equal } => self.equal_num(dst, src, v, equal)?,
            Inst::NotSlot { slot: s } => {
                self.a.mov(rax, slot(s))?;
                self.falsey_flags()?;
                self.a.setbe(cl)?;
                self.store_cl_bool(s)?;
            }
            Inst::GetGlobal { slot: s, global, deopt } => {
                self.defined_global(global, deopt)?;
                self.a.mov(slot(s), rax)?;
            }
            Inst::CheckGlobal { global, deopt } => self.defined_global(global, deopt)?,
            Inst::SetGlobal { global, slot: s, deopt } => {
                self.stress(deopt)?;
                let a = &mut self.a;
                a.mov(rcx, qword_ptr(r12 + VM_GLOBALS_BASE))?;
                a.mov(rax, qword_ptr(rcx + (global as i32) * 8))?;
                a.cmp(rax, qword_ptr(r12 + VM_UNDEFINED))?;
                a.je(self.deopts[deopt as usize])?;
                a.mov(rax, slot(s))?;
                a.mov(qword_ptr(rcx + (global as i32) * 8), rax)?;
            }
            Inst::DefineGlobal { global, slot: s } => {
                self.a.mov(rcx, qword_ptr(r12 + VM_GLOBALS_BASE))?;
                self.a.mov(rax, slot(s))?;
                self.a.mov(qword_ptr(rcx + (global as i32) * 8), rax)?;
            }
            Inst::Helper { op, pc, depth } => {
                enter_helper(&mut self.a, pc, depth)?;
                let helper = match op {
                    HelperOp::Print => Helper::Print,
                    HelperOp::Array { count } => {
                        self.a.mov(edx, count)?;
                        Helper::Array
                    }
                    HelperOp::Closure { offset } => {
                        self.a.mov(edx, offset)?;
                        Helper::Closure
                    }
                };
                self.call_abs(helper.address() as u64)?;
                self.a.test(rax, rax)?;
                self.a.jnz(self.error)?;
            }
            Inst::GetField { slot: s, src, known: Some(k), checked: true, .. } => self.checked_get_field(s, src, k)?,
            Inst::SetField { slot: s, known: Some(k), checked: true, slow, .. } => {
                self.checked_set_field(s, k, slow)?
            }
            Inst::GetField { slot: s, src, cache, known, slow, .. } => self.get_field(s, src, cache, known, slow)?,
            Inst::SetField { slot: s, cache, known, slow, .. } => self.set_field(s, cache, known, slow)?,
            Inst::CheckShape { slot: s, shape, deopt } => self.check_shape(s, shape, deopt)?,
            Inst::GetFieldNum { dst, src, index, deopt } => self.get_field_number(dst, src, index, deopt)?,
            Inst::SetFieldNum { src, v, known, slow, .. } => self.set_field_number(src, v, known, slow)?,
            Inst::GetIndex { slot: s, src, index, slow } => self.index(s, src, index, slow, None)?,
            Inst::SetIndex { slot: s, src, index, slow, result } => self.index(s, src, index, slow, Some(result))?,
            Inst::GetUpvalue { slot: s, index } => self.upvalue(s, index, false)?,
            Inst::SetUpvalue { slot: s, index } => self.upvalue(s, index, true)?,
            Inst::Invoke { receiver, argc, k, cache, known, pc } => self.invoke(receiver, argc, k, cache, known, pc)?,
            Inst::Poll { deopt } => {
                if !cfg!(feature = "no-safepoint-polls") {
                    self.poll(deopt)?;
                }
            }
            Inst::Call { callee, argc, cache, pc, intrinsic } => self.call(callee, argc, cache, pc, intrinsic)?,
            Inst::Len { dst, callee, arg, deopt } => self.len(dst, callee, arg, deopt)?,
            Inst::Sqrt { dst, callee, a, deopt } => self.sqrt(dst, callee, a, deopt)?,
        }
        Ok(())
    }

    /// `dst = a op b`: in dst's register when that is not b's, else
    /// through xmm0.
    fn binary(&mut self, dst: Val, op: BinOp, a: Val, b: Val) -> Emit {
        let (la, lb) = (self.loc(a), self.loc(b));
        match self.loc(dst) {
            Loc::Xmm(d) if lb != Loc::Xmm(d) => {
                if la != Loc::Xmm(d) {
                    self.load_xmm(XMM[d as usize], a)?;
                }
                self.arith(op, XMM[d as usize], lb)
            }
            _ => {
                self.load_xmm(xmm0, a)?;
                self.arith(op, xmm0, lb)?;
                self.store_xmm(dst, xmm0)
            }
        }
    }

    /// `reg = reg op b`.
    fn arith(&mut self, op: BinOp, reg: AsmRegisterXmm, b: Loc) -> Emit {
        let a = &mut self.a;
        match b {
            Loc::Xmm(r) => {
                let r = XMM[r as usize];
                match op {
                    BinOp::Add => a.addsd(reg, r)?,
                    BinOp::Sub => a.subsd(reg, r)?,
                    BinOp::Mul => a.mulsd(reg, r)?,
                    BinOp::Div => a.divsd(reg, r)?,
                    BinOp::Mod => return Err(LowerError("modulo is not one instruction".into())),
                }
            }
            Loc::Stack(i) => match op {
                BinOp::Add => a.addsd(reg, spill(i))?,
                BinOp::Sub => a.subsd(reg, spill(i))?,
                BinOp::Mul => a.mulsd(reg, spill(i))?,
                BinOp::Div => a.divsd(reg, spill(i))?,
                BinOp::Mod => return Err(LowerError("modulo is not one instruction".into())),
            },
        }
        Ok(())
    }

    fn jump_to(&mut self, target: BlockId, current: usize) -> Emit {
        if target as usize != current + 1 {
            self.a.jmp(self.blocks[target as usize])?;
        }
        Ok(())
    }

    fn term(&mut self, term: &Term, current: usize) -> Emit {
        match term {
            Term::Jump(edge) => {
                let params = &self.input.func.blocks[edge.target as usize].params;
                let moves: Vec<(Loc, Loc)> = edge
                    .args
                    .iter()
                    .zip(params)
                    .map(|(&a, &p)| (self.loc(a), self.loc(p)))
                    .filter(|(a, p)| a != p)
                    .collect();
                self.parallel_move(moves)?;
                self.jump_to(edge.target, current)?;
            }
            Term::Branch { cond, then, other } => {
                let (then_label, other_label) = (self.blocks[*then as usize], self.blocks[*other as usize]);
                if *other as usize == current + 1 && *then as usize != current + 1 {
                    // Falls through to `other`.
                    self.branch_if(cond, then_label, other_label)?;
                } else {
                    self.branch_unless(cond, other_label, then_label)?;
                    self.jump_to(*then, current)?;
                }
            }
            Term::ReturnSlot(s) => {
                self.a.mov(rax, slot(*s))?;
                self.a.mov(slot(0), rax)?;
                self.return_()?;
            }
            Term::ReturnVal(v) => {
                self.box_to_slot(0, *v)?;
                self.return_()?;
            }
            Term::Unset => return Err(LowerError("an unfinished block".into())),
        }
        Ok(())
    }

    /// Pops the frame and returns status 0 (the result is in slot 0).
    fn return_(&mut self) -> Emit {
        self.a.mov(qword_ptr(r13 + fl::THREAD_FRAMES_TOP), r15)?;
        self.a.xor(eax, eax)?;
        self.a.jmp(self.epilogue)?;
        Ok(())
    }

    /// rax = global `global`, deoptimizing (guard `deopt`) when undefined.
    fn defined_global(&mut self, global: u32, deopt: DeoptId) -> Emit {
        self.stress(deopt)?;
        let a = &mut self.a;
        a.mov(rax, qword_ptr(r12 + VM_GLOBALS_BASE))?;
        a.mov(rax, qword_ptr(rax + (global as i32) * 8))?;
        a.cmp(rax, qword_ptr(r12 + VM_UNDEFINED))?;
        a.je(self.deopts[deopt as usize])?;
        Ok(())
    }

    /// `dst = bits`: a register from the code's constant pool (zero by
    /// xorps), a spill slot through rax.
    fn constant(&mut self, dst: Val, bits: u64) -> Emit {
        match self.loc(dst) {
            Loc::Xmm(r) if bits == 0 => self.a.xorps(XMM[r as usize], XMM[r as usize])?,
            Loc::Xmm(r) => {
                let label = match self.constants.iter().find(|c| c.1 == bits) {
                    Some(&(label, _)) => label,
                    None => {
                        let label = self.a.create_label();
                        self.constants.push((label, bits));
                        label
                    }
                };
                self.a.movq(XMM[r as usize], qword_ptr(label))?;
            }
            Loc::Stack(i) => {
                self.a.mov(rax, bits)?;
                self.a.mov(spill(i), rax)?;
            }
        }
        Ok(())
    }

    /// One move between locations (xmm registers directly).
    fn move_loc(&mut self, from: Loc, to: Loc) -> Emit {
        match (from, to) {
            (Loc::Xmm(f), Loc::Xmm(t)) => self.a.movapd(XMM[t as usize], XMM[f as usize])?,
            (Loc::Stack(i), Loc::Xmm(t)) => self.a.movq(XMM[t as usize], spill(i))?,
            (Loc::Xmm(f), Loc::Stack(i)) => self.a.movq(spill(i), XMM[f as usize])?,
            (Loc::Stack(i), Loc::Stack(j)) => {
                self.a.mov(rax, spill(i))?;
                self.a.mov(spill(j), rax)?;
            }
        }
        Ok(())
    }

    /// Moves all `(from, to)` at once (no destination is written before
    /// every move that reads it), with xmm0 breaking a cycle.
    fn parallel_move(&mut self, moves: Vec<(Loc, Loc)>) -> Emit {
        // A source of None: the value taken aside into xmm0.
        let mut moves: Vec<(Option<Loc>, Loc)> = moves.into_iter().map(|(f, t)| (Some(f), t)).collect();
        while !moves.is_empty() {
            let ready = moves.iter().position(|&(_, to)| !moves.iter().any(|&(from, _)| from == Some(to)));
            match ready {
                Some(i) => {
                    let (from, to) = moves.remove(i);
                    match (from, to) {
                        (Some(from), _) => self.move_loc(from, to)?,
                        (None, Loc::Xmm(t)) => self.a.movapd(XMM[t as usize], xmm0)?,
                        (None, Loc::Stack(i)) => self.a.movq(spill(i), xmm0)?,
                    }
                }
                None => {
                    if moves.iter().any(|&(from, _)| from.is_none()) {
                        return Err(LowerError("two move cycles through xmm0".into()));
                    }
                    // A cycle: its first source goes aside into xmm0.
                    let Some(from) = moves[0].0 else { break };
                    match from {
                        Loc::Xmm(f) => self.a.movapd(xmm0, XMM[f as usize])?,
                        Loc::Stack(i) => self.a.movq(xmm0, spill(i))?,
                    }
                    for m in moves.iter_mut() {
                        if m.0 == Some(from) {
                            m.0 = None;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Guard stubs, slow calls, the shared exits.
    fn tail(&mut self) -> Emit {
        let input = self.input;
        for entry in &input.func.osr {
            self.osr_entry(entry)?;
        }
        for call in std::mem::take(&mut self.slow_calls) {
            self.slow_call(call)?;
        }
        for path in std::mem::take(&mut self.slow_paths) {
            self.slow_path(path)?;
        }
        for d in 0..self.input.func.deopts.len() {
            self.deopt_stub(d)?;
        }
        // The frame was not pushed: report the overflow at the caller's position.
        let mut overflow = self.overflow;
        self.set(&mut overflow)?;
        self.a.mov(rdi, r12)?;
        self.a.mov(rsi, r13)?;
        self.call_abs(self.input.addresses.stack_overflow)?;
        let mut error = self.error;
        self.set(&mut error)?;
        self.a.mov(eax, 1)?;
        let mut epilogue = self.epilogue;
        self.set(&mut epilogue)?;
        let a = &mut self.a;
        a.lea(rsp, qword_ptr(rbp - 24))?;
        a.pop(r15)?;
        a.pop(r14)?;
        a.pop(rbx)?;
        a.pop(rbp)?;
        a.ret()?;
        let mut redirect = self.redirect;
        self.set(&mut redirect)?;
        self.a.jmp(rax)?;
        for (mut label, bits) in std::mem::take(&mut self.constants) {
            self.a.set_label(&mut label)?;
            self.a.dq(&[bits])?;
        }
        Ok(())
    }

    /// Guard `d` failed: its numbers go to their slots, then the runtime
    /// continues the frame in the interpreter and its status is ours.
    fn deopt_stub(&mut self, d: usize) -> Emit {
        let mut label = self.deopts[d];
        self.set(&mut label)?;
        self.write_frame_state(d as DeoptId)?;
        self.a.mov(rdi, r12)?;
        self.a.mov(rsi, r13)?;
        self.a.mov(rdx, self.input.addresses.records[d])?;
        self.call_abs(self.input.addresses.deopt)?;
        self.a.jmp(self.epilogue)?;
        Ok(())
    }
}
