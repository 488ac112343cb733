//! The x86-64 lowering: one function's verified bytecode to machine code,
//! helper-call relocations and a line table. Shared unchanged by `tinyvm
//! build` (which writes the result into an ELF object) and the JIT (which
//! copies it into executable memory); only those finishing steps differ.
//!
//! The generated code follows the interpreter's frame protocol (see
//! `vm/frame.rs`): signature `extern "sysv64" fn(vm, thread, base, closure)
//! -> status` at its start, and a faster entry for compiled callers at
//! `FAST_ENTRY_OFFSET`; it pushes its own frame, keeps the operand stack in
//! its value-stack slots (the depth before every instruction is known
//! statically; `stack.rs` defers the cheap pushes), and calls runtime helpers (`codegen::helpers`) for slow
//! paths after saving `pc` and the stack top. Register assignment:
//! r12 = vm, r13 = thread, r14 = frame base (slot 0), r15 = frame,
//! rbx = the function's inline caches (loaded only when it has some), rbp = frame pointer. The closure is
//! in the frame (`FRAME_CLOSURE`).
//!
//! `asm.rs` has the small building blocks, `opcodes.rs` one case per opcode,
//! `map_index.rs` indexing (arrays inline, maps' lookups out of line),
//! `alloc.rs` the inline allocation of instances, `trivial_call.rs` the calls
//! of trivial methods that need no call, `intrinsic.rs` the calls of the
//! bitwise natives computed in place.

mod alloc;
mod asm;
mod intrinsic;
mod map_index;
mod opcodes;
mod stack;
mod tier_up;
mod trivial_call;

use super::helpers::Helper;
use crate::bytecode::depth::stack_depths;
use crate::bytecode::opcode::{decode, Op, Operand};
use crate::object::layout as obj;
use crate::object::Intrinsic;
use crate::vm::frame::layout as fl;
use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;

pub use crate::codegen::abi::FAST_ENTRY_OFFSET;
/// The building blocks the optimizing tier shares with this lowering.
pub(crate) use alloc::allocate_instance;
pub(crate) use asm::{
    call_fast_entry, enter_helper, fast_entry_of, kind_guard, native_guard, number_guard, object_guard, slot,
};
/// int3 bytes that pad the System V entry stub (25 bytes) to the fast entry.
const FAST_ENTRY_PADDING: usize = 7;
/// What the fast entry subtracts from rsp after its pushes, to keep the
/// stack 16-byte aligned at calls.
const FAST_FRAME_PADDING: i32 = 8;
/// Native stack a compiled callee claims before its overflow check: the
/// return address, rbp, the three registers `fast_frame_setup` saves and
/// the padding.
pub(super) const FAST_FRAME_BYTES: i32 = 8 + 8 + 3 * 8 + FAST_FRAME_PADDING;

/// What the lowering needs to know about a function.
pub struct FunctionInput<'a> {
    pub code: &'a [u8],
    pub arity: u32,
    /// Maximum operand-stack depth (from the verifier).
    pub max_stack: u32,
    /// Upvalue count of the function constant `k` (for `CLOSURE` sizes).
    pub capture_count: &'a dyn Fn(u32) -> u32,
    /// The value of constant `k` when it is a number (inlined as an immediate).
    pub number_constant: &'a dyn Fn(u32) -> Option<f64>,
    /// `INVOKE` of a trivial method (`vm::trivial_method`) produces its result
    /// without the call. Off for debug builds, so that a breakpoint in
    /// such a method is hit as in the interpreter.
    pub inline_trivial_methods: bool,
    /// The intrinsic of the native whose name global `g` has
    /// (`natives::intrinsic_named`): a call of that global may compute it
    /// inline (`intrinsic.rs`). `Intrinsic::None` for other globals.
    pub intrinsic_of_global: &'a dyn Fn(u32) -> Intrinsic,
    /// The code counts its calls and loop back-edges and asks for
    /// optimized code when the count runs out (`tier_up.rs`).
    /// Ahead-of-time code only: the JIT optimizes when it compiles.
    pub count_calls: bool,
}

/// The out-of-line part of a call site (emitted after the body).
enum ColdBlock {
    ClassCall(alloc::ClassCall),
    TrivialCall(trivial_call::TrivialCall),
    MapIndex(map_index::MapIndex),
    HotLoop(tier_up::HotLoop),
}

/// A call to a runtime helper: the position of its rel32 field.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HelperCall {
    pub offset: u32,
    pub helper: Helper,
}

/// How the frame changes at some instruction boundary (for unwind tables:
/// each step holds from its offset on).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unwind {
    /// Back to the entry state: CFA = rsp + 8, return address at CFA - 8.
    Entry,
    /// `push rbp` done: CFA = rsp + 16, rbp saved at CFA - 16.
    PushedFramePointer,
    /// `mov rbp, rsp` done: CFA = rbp + 16.
    FramePointerSet,
    /// Callee-saved register `register` (DWARF number) saved at CFA - `offset`.
    Saved { register: u16, offset: u8 },
    /// `pop rbp` before `ret`: CFA = rsp + 8, every register restored.
    Popped,
    /// Remember the current rules (the body's, after the prologue).
    Remember,
    /// Back to the remembered rules (after an epilogue inside the body).
    Restore,
}

/// DWARF numbers of the registers the generated code saves.
pub mod dwarf_reg {
    pub const RBX: u16 = 3;
    pub const RBP: u16 = 6;
    pub const RSP: u16 = 7;
    pub const R12: u16 = 12;
    pub const R13: u16 = 13;
    pub const R14: u16 = 14;
    pub const R15: u16 = 15;
    pub const RA: u16 = 16;
}

/// Machine code for one function.
#[derive(Clone, Debug)]
pub struct LoweredFunction {
    pub code: Vec<u8>,
    pub helper_calls: Vec<HelperCall>,
    /// (machine-code offset, bytecode offset) at the start of every
    /// instruction, in code order.
    pub lines: Vec<(u32, u32)>,
    /// The same for the out-of-line slow paths (after the body).
    pub slow_lines: Vec<(u32, u32)>,
    /// Offset of the first instruction of the body (the prologue ends there).
    pub body_start: u32,
    /// The unwind program, in code order.
    pub unwind: Vec<(u32, Unwind)>,
    /// On-stack-replacement entries: (bytecode offset of a loop header,
    /// machine-code offset of a System V entry that continues an
    /// interpreted frame of this function there; see `osr_entry`).
    pub osr_entries: Vec<(u32, u32)>,
}

/// The lowering failed (an encoder error; never expected for verified code).
#[derive(Debug, Clone, PartialEq)]
pub struct LowerError(pub String);

impl From<iced_x86::IcedError> for LowerError {
    fn from(e: iced_x86::IcedError) -> Self {
        LowerError(e.to_string())
    }
}

/// An out-of-line slow path: saves state, calls a helper, then either
/// resumes after the fast path or (for helpers that always raise) unwinds.
pub(super) struct SlowPath {
    entry: CodeLabel,
    resume: Option<CodeLabel>,
    /// Pending values to write to the stack before calling the helper.
    pending: Vec<(u32, stack::Source)>,
    pc: u32,
    depth: u32,
    helper: Helper,
    args: Vec<Arg>,
    /// After the helper, a `JUMP_IF_FALSE` fused into the instruction:
    /// jumps to the label when the value the helper left in the slot is
    /// falsey, else resumes (see `asm.rs`'s `slow_path_then_branch`).
    branch: Option<(u32, CodeLabel)>,
}

/// An argument of a helper call after `vm` and `thread`.
#[derive(Copy, Clone)]
pub(super) enum Arg {
    Imm(u64),
    /// The address of a value-stack slot of this frame.
    SlotAddress(u32),
    /// The address of inline cache `c` of the running function.
    CacheAddress(u32),
}

/// The lowering of one function. Its state is grouped by who owns it:
/// the scan's findings (this file), the operand values still pending
/// (`stack.rs`), the code emitted after the body (`asm.rs`'s slow paths,
/// the cold blocks of `alloc.rs` and `trivial_call.rs`), the exits every
/// part jumps to, and the records the finishers need.
pub(super) struct Lowerer<'a> {
    a: CodeAssembler,
    input: &'a FunctionInput<'a>,
    facts: Facts,
    /// Operand-stack values not yet written to their slots (see `stack.rs`).
    pending: Vec<(u32, stack::Source)>,
    /// Operand-stack slots that a `GET_GLOBAL` of an intrinsic's name
    /// filled, with that intrinsic (see `intrinsic.rs`).
    callees: Vec<(u32, Intrinsic)>,
    out_of_line: OutOfLine,
    exits: Exits,
    records: Records,
}

/// What the scan before lowering found (`Lowerer::scan`).
struct Facts {
    /// The label of each reachable instruction start.
    labels: Vec<Option<CodeLabel>>,
    /// Bytecode offsets that some jump targets.
    jump_targets: Vec<bool>,
    /// Targets of `LOOP` instructions (where OSR can enter).
    loop_headers: Vec<usize>,
    /// Some `CLOSURE` captures a local of this frame, so returning must
    /// close upvalues (otherwise no open upvalue can point into the frame).
    captures_locals: bool,
    /// Some instruction has an inline cache, so rbx must hold the caches.
    uses_caches: bool,
}

/// Code emitted after the body, in `tail`.
struct OutOfLine {
    slow_paths: Vec<SlowPath>,
    /// Out-of-line parts of call sites.
    cold_blocks: Vec<ColdBlock>,
}

/// The labels of the shared exits and the fast entry.
struct Exits {
    error: CodeLabel,
    epilogue: CodeLabel,
    overflow: CodeLabel,
    fast_entry: CodeLabel,
}

/// What the finishers need besides the code, by assembler instruction index.
struct Records {
    /// Every helper call.
    calls: Vec<(usize, Helper)>,
    /// The unwind program.
    unwind: Vec<(usize, Unwind)>,
    /// (index, bytecode offset) of slow paths.
    slow_lines: Vec<(usize, u32)>,
    /// (bytecode offset, index) of OSR entries.
    osr: Vec<(u32, usize)>,
}

/// Lowers one verified function.
pub fn lower(input: &FunctionInput) -> Result<LoweredFunction, LowerError> {
    let depths = stack_depths(input.code, input.arity, input.capture_count);
    let mut a = CodeAssembler::new(64)?;
    let error_exit = a.create_label();
    let epilogue = a.create_label();
    let overflow = a.create_label();
    let fast_entry = a.create_label();
    let mut l = Lowerer {
        a,
        input,
        facts: Facts {
            labels: vec![None; input.code.len() + 1],
            jump_targets: vec![false; input.code.len() + 1],
            loop_headers: Vec::new(),
            captures_locals: false,
            uses_caches: false,
        },
        pending: Vec::new(),
        callees: Vec::new(),
        out_of_line: OutOfLine { slow_paths: Vec::new(), cold_blocks: Vec::new() },
        exits: Exits { error: error_exit, epilogue, overflow, fast_entry },
        records: Records { calls: Vec::new(), unwind: Vec::new(), slow_lines: Vec::new(), osr: Vec::new() },
    };
    let starts = l.scan(&depths);
    for &offset in &starts {
        let label = l.a.create_label();
        l.facts.labels[offset] = Some(label);
    }
    l.prologue()?;
    let mut line_marks = Vec::with_capacity(starts.len());
    let mut skip = false;
    for (i, &offset) in starts.iter().enumerate() {
        let Some(depth) = depths[offset] else { continue };
        if std::mem::take(&mut skip) {
            continue;
        }
        if l.facts.jump_targets[offset] {
            // Every path into a jump target has the whole stack in memory.
            l.flush()?;
        }
        let mut label = l.facts.labels[offset].expect("label of an instruction start");
        l.a.set_label(&mut label)?;
        l.facts.labels[offset] = Some(label);
        line_marks.push((l.a.instructions().len(), offset as u32));
        l.a.zero_bytes()?;
        // The next instruction, when control can only reach it from here.
        let next = starts.get(i + 1).copied().filter(|&n| !l.facts.jump_targets[n]);
        skip = l.instruction(offset, depth, next)?;
    }
    l.tail()?;
    let result = l.a.assemble_options(0, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)?;
    if result.label_ip(&l.exits.fast_entry)? != FAST_ENTRY_OFFSET as u64 {
        return Err(LowerError("the fast entry is not at its fixed offset".into()));
    }
    let offsets = &result.inner.new_instruction_offsets;
    let code = result.inner.code_buffer.clone();
    let mut helper_calls = Vec::with_capacity(l.records.calls.len());
    for &(index, helper) in &l.records.calls {
        let at = offsets[index] as usize;
        if code.get(at) != Some(&0xE8) {
            return Err(LowerError(format!("helper call at {} is not a rel32 call", at)));
        }
        helper_calls.push(HelperCall { offset: at as u32 + 1, helper });
    }
    let body_start = line_marks.first().map(|&(index, _)| offsets[index]).unwrap_or(0);
    let lines = line_marks.iter().map(|&(index, offset)| (offsets[index], offset)).collect();
    let slow_lines = l.records.slow_lines.iter().map(|&(index, offset)| (offsets[index], offset)).collect();
    let unwind = l.records.unwind.iter().map(|&(index, step)| (offsets[index], step)).collect();
    let osr_entries = l.records.osr.iter().map(|&(bytecode, index)| (bytecode, offsets[index])).collect();
    Ok(LoweredFunction { code, helper_calls, lines, slow_lines, body_start, unwind, osr_entries })
}

impl Lowerer<'_> {
    /// Instruction starts in order, and which of them are jump targets.
    fn scan(&mut self, depths: &[Option<u32>]) -> Vec<usize> {
        let code = self.input.code;
        let capture_count = |k: u32| Some((self.input.capture_count)(k));
        let mut starts = Vec::new();
        let mut offset = 0;
        while let Some(ins) = decode(code, offset, &capture_count) {
            starts.push(offset);
            self.facts.uses_caches |= ins.op.operands().contains(&Operand::Cache);
            if ins.op.operands().iter().any(|o| o.is_jump()) && depths[offset].is_some() {
                let target = ins.jump_target() as usize;
                if target < self.facts.jump_targets.len() {
                    self.facts.jump_targets[target] = true;
                }
                if ins.op == Op::Loop {
                    self.facts.loop_headers.push(target);
                }
            }
            self.facts.captures_locals |= ins.captures(code).flatten().any(|c| c.is_local);
            offset += ins.size;
        }
        self.facts.loop_headers.sort_unstable();
        self.facts.loop_headers.dedup();
        starts
    }

    /// Records that `step` holds from the next instruction on.
    fn mark(&mut self, step: Unwind) {
        self.records.unwind.push((self.a.instructions().len(), step));
    }

    /// `push rbp; mov rbp, rsp` and pushes of `saved` (unwind steps included).
    fn frame_setup(&mut self, saved: &[(AsmRegister64, u16)]) -> Result<(), LowerError> {
        self.a.push(rbp)?;
        self.mark(Unwind::PushedFramePointer);
        self.a.mov(rbp, rsp)?;
        self.mark(Unwind::FramePointerSet);
        for (i, &(reg, number)) in saved.iter().enumerate() {
            self.a.push(reg)?;
            self.mark(Unwind::Saved { register: number, offset: 24 + 8 * i as u8 });
        }
        Ok(())
    }

    /// The System V entry stub (for Rust callers): sets up r12/r13 with vm
    /// and thread (compiled code keeps them unchanged), calls `fast` with
    /// the other arguments as they are and returns what it returns.
    fn system_v_stub(&mut self, fast: CodeLabel) -> Result<(), LowerError> {
        use dwarf_reg::*;
        self.frame_setup(&[(r12, R12), (r13, R13)])?;
        self.a.mov(r12, rdi)?;
        self.a.mov(r13, rsi)?;
        self.a.call(fast)?;
        self.a.pop(r13)?;
        self.a.pop(r12)?;
        self.a.pop(rbp)?;
        self.mark(Unwind::Popped);
        self.a.ret()?;
        Ok(())
    }

    /// The start of a fast entry: saves the callee-saved registers compiled
    /// code uses, keeps the stack 16-byte aligned and takes the frame base
    /// (rdx) into r14.
    fn fast_frame_setup(&mut self) -> Result<(), LowerError> {
        use dwarf_reg::*;
        self.mark(Unwind::Entry);
        self.frame_setup(&[(rbx, RBX), (r14, R14), (r15, R15)])?;
        self.a.sub(rsp, FAST_FRAME_PADDING)?;
        self.a.mov(r14, rdx)?;
        Ok(())
    }

    /// Loads the function's inline caches into rbx from the closure in
    /// `closure`, when it has any.
    fn load_cache_base(&mut self, closure: AsmRegister64) -> Result<(), LowerError> {
        if self.facts.uses_caches {
            self.a.mov(rbx, qword_ptr(closure + obj::CLOSURE_FUNCTION))?;
            self.a.mov(rbx, qword_ptr(rbx + obj::FUNCTION_CACHES))?;
        }
        Ok(())
    }

    /// The System V entry stub, then the fast entry's prologue: saves
    /// callee-saved registers, loads the fixed registers, pushes the frame.
    fn prologue(&mut self) -> Result<(), LowerError> {
        self.system_v_stub(self.exits.fast_entry)?;
        for _ in 0..FAST_ENTRY_PADDING {
            self.a.int3()?;
        }
        // The fast entry (compiled callers): vm and thread already in r12/r13.
        self.a.set_label(&mut self.exits.fast_entry)?;
        self.redirect_to_optimized()?;
        self.fast_frame_setup()?;
        let a = &mut self.a;
        a.cmp(rsp, qword_ptr(r13 + fl::THREAD_NATIVE_STACK_LIMIT))?;
        a.jb(self.exits.overflow)?;
        a.mov(r15, qword_ptr(r13 + fl::THREAD_FRAMES_TOP))?;
        a.cmp(r15, qword_ptr(r13 + fl::THREAD_FRAMES_LIMIT))?;
        a.jae(self.exits.overflow)?;
        let needed = (self.input.max_stack as i32 + 1) * 8;
        a.lea(rax, qword_ptr(r14 + needed))?;
        a.cmp(rax, qword_ptr(r13 + fl::THREAD_STACK_LIMIT))?;
        a.ja(self.exits.overflow)?;
        a.mov(qword_ptr(r15 + fl::FRAME_CLOSURE), rcx)?;
        self.load_cache_base(rcx)?;
        let a = &mut self.a;
        a.mov(qword_ptr(r15 + fl::FRAME_BASE), r14)?;
        a.lea(rax, qword_ptr(r15 + fl::FRAME_SIZE))?;
        a.mov(qword_ptr(r13 + fl::THREAD_FRAMES_TOP), rax)?;
        a.inc(qword_ptr(r13 + fl::THREAD_CALLS))?;
        self.mark(Unwind::Remember);
        self.count_call()
    }

    /// An on-stack-replacement entry for the loop at `header`: called (System
    /// V) with vm, thread and base while the function's interpreted frame is
    /// the thread's top frame, it continues that frame in machine code at
    /// the loop header and returns as the function returns (frame popped,
    /// result in base[0]). The interpreter calls it at a hot back-edge.
    fn osr_entry(&mut self, header: usize) -> Result<(), LowerError> {
        let Some(target) = self.facts.labels[header] else { return Ok(()) };
        let mut fast = self.a.create_label();
        self.mark(Unwind::Entry);
        self.records.osr.push((header as u32, self.a.instructions().len()));
        self.system_v_stub(fast)?;
        self.a.set_label(&mut fast)?;
        self.fast_frame_setup()?;
        let a = &mut self.a;
        // The frame is the interpreter's, already on the frame stack.
        a.mov(r15, qword_ptr(r13 + fl::THREAD_FRAMES_TOP))?;
        a.sub(r15, fl::FRAME_SIZE as i32)?;
        a.mov(rcx, qword_ptr(r15 + fl::FRAME_CLOSURE))?;
        self.load_cache_base(rcx)?;
        self.a.jmp(target)?;
        Ok(())
    }

    /// OSR entries, out-of-line blocks, slow paths, the stack-overflow and error exits and the epilogue.
    fn tail(&mut self) -> Result<(), LowerError> {
        for header in std::mem::take(&mut self.facts.loop_headers) {
            self.osr_entry(header)?;
        }
        for block in std::mem::take(&mut self.out_of_line.cold_blocks) {
            match block {
                ColdBlock::ClassCall(block) => self.class_call_block(block)?,
                ColdBlock::TrivialCall(block) => self.trivial_call_block(block)?,
                ColdBlock::MapIndex(block) => self.map_index_block(block)?,
                ColdBlock::HotLoop(block) => self.hot_loop_block(block)?,
            }
        }
        let slow_paths = std::mem::take(&mut self.out_of_line.slow_paths);
        for mut path in slow_paths {
            self.a.set_label(&mut path.entry)?;
            self.records.slow_lines.push((self.a.instructions().len(), path.pc - 1));
            self.a.zero_bytes()?;
            self.materialize(&path.pending)?;
            self.call_helper(path.pc, path.depth, path.helper, &path.args)?;
            match path.resume {
                Some(resume) => {
                    self.check_status()?;
                    if let Some((index, target)) = path.branch {
                        self.a.mov(rax, asm::slot(index))?;
                        self.jump_if_falsey(rax, rcx, target)?;
                    }
                    self.a.jmp(resume)?;
                }
                None => self.a.jmp(self.exits.error)?,
            }
        }
        // The frame was not pushed: report the overflow at the caller's position.
        let mut overflow = self.exits.overflow;
        self.a.set_label(&mut overflow)?;
        self.a.mov(rdi, r12)?;
        self.a.mov(rsi, r13)?;
        self.emit_call(Helper::StackOverflow)?;
        let mut error_exit = self.exits.error;
        self.a.set_label(&mut error_exit)?;
        self.a.mov(eax, 1)?;
        let mut epilogue = self.exits.epilogue;
        self.a.set_label(&mut epilogue)?;
        self.a.add(rsp, 8)?;
        for r in [r15, r14, rbx, rbp] {
            self.a.pop(r)?;
        }
        self.mark(Unwind::Popped);
        self.a.ret()?;
        Ok(())
    }

    /// An epilogue inside the body (at a `RETURN`), status in eax.
    pub(super) fn epilogue_code(&mut self) -> Result<(), LowerError> {
        self.a.add(rsp, 8)?;
        for r in [r15, r14, rbx, rbp] {
            self.a.pop(r)?;
        }
        self.mark(Unwind::Popped);
        self.a.ret()?;
        // The code after it is in the body's frame again.
        self.mark(Unwind::Restore);
        self.mark(Unwind::Remember);
        Ok(())
    }
}
