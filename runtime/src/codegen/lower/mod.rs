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
//! rbx = the function's inline caches, rbp = frame pointer. The closure is
//! in the frame (`FRAME_CLOSURE`).
//!
//! `emit.rs` has the small building blocks, `ops.rs` one case per opcode.

mod emit;
mod ops;
mod stack;

use super::helpers::Helper;
use crate::bytecode::depth::stack_depths;
use crate::bytecode::opcode::{decode_fixed, Op, Operand, UPVALUE_DESCRIPTOR_SIZE};
use crate::object::layout as obj;
use crate::vm::frame::layout as fl;
use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;

/// Offset of the fast entry from the start of a function's code. Compiled
/// code calls compiled code there (vm and thread already in r12/r13, base in
/// rdx, closure in rcx); the start is the System V entry for Rust callers.
pub const FAST_ENTRY_OFFSET: usize = 32;
/// int3 bytes that pad the System V entry stub (25 bytes) to the fast entry.
const FAST_ENTRY_PADDING: usize = 7;

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
}

/// A call to a runtime helper: the position of its rel32 field.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HelperCall {
    pub offset: u32,
    pub helper: Helper,
}

/// Where the prologue and epilogue instructions are (for unwind tables).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameLayout {
    /// Offset just after `push rbp`.
    pub after_push_rbp: u32,
    /// Offset just after `mov rbp, rsp`.
    pub after_set_rbp: u32,
    /// Offset of the shared epilogue (`add rsp, 8` ... `ret`).
    pub epilogue: u32,
}

/// Machine code for one function.
#[derive(Clone, Debug)]
pub struct LoweredFunction {
    pub code: Vec<u8>,
    pub helper_calls: Vec<HelperCall>,
    /// (machine-code offset, bytecode offset) at the start of every instruction.
    pub lines: Vec<(u32, u32)>,
    pub frame: FrameLayout,
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

pub(super) struct Lowerer<'a> {
    a: CodeAssembler,
    input: &'a FunctionInput<'a>,
    labels: Vec<Option<CodeLabel>>,
    slow_paths: Vec<SlowPath>,
    /// (assembler instruction index, helper) of every helper call.
    calls: Vec<(usize, Helper)>,
    error_exit: CodeLabel,
    epilogue: CodeLabel,
    overflow: CodeLabel,
    fast_entry: CodeLabel,
    /// Bytecode offsets that some jump targets.
    jump_targets: Vec<bool>,
    /// Operand-stack values not yet written to their slots (see `stack.rs`).
    pending: Vec<(u32, stack::Source)>,
    /// Some `CLOSURE` captures a local of this frame, so returning must
    /// close upvalues (otherwise no open upvalue can point into the frame).
    captures_locals: bool,
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
        labels: vec![None; input.code.len() + 1],
        slow_paths: Vec::new(),
        calls: Vec::new(),
        error_exit,
        epilogue,
        overflow,
        fast_entry,
        jump_targets: vec![false; input.code.len() + 1],
        pending: Vec::new(),
        captures_locals: false,
    };
    let starts = l.scan(&depths);
    for &offset in &starts {
        let label = l.a.create_label();
        l.labels[offset] = Some(label);
    }
    let prologue_marks = l.prologue()?;
    let mut line_marks = Vec::with_capacity(starts.len());
    let mut skip = false;
    for (i, &offset) in starts.iter().enumerate() {
        let Some(depth) = depths[offset] else { continue };
        if std::mem::take(&mut skip) {
            continue;
        }
        if l.jump_targets[offset] {
            // Every path into a jump target has the whole stack in memory.
            l.flush()?;
        }
        let mut label = l.labels[offset].expect("label of an instruction start");
        l.a.set_label(&mut label)?;
        l.labels[offset] = Some(label);
        line_marks.push((l.a.instructions().len(), offset as u32));
        l.a.zero_bytes()?;
        // The next instruction, when control can only reach it from here.
        let next = starts.get(i + 1).copied().filter(|&n| !l.jump_targets[n]);
        skip = l.instruction(offset, depth, next)?;
    }
    let epilogue_index = l.tail()?;
    let result = l.a.assemble_options(0, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)?;
    if result.label_ip(&l.fast_entry)? != FAST_ENTRY_OFFSET as u64 {
        return Err(LowerError("the fast entry is not at its fixed offset".into()));
    }
    let offsets = &result.inner.new_instruction_offsets;
    let code = result.inner.code_buffer.clone();
    let mut helper_calls = Vec::with_capacity(l.calls.len());
    for &(index, helper) in &l.calls {
        let at = offsets[index] as usize;
        if code.get(at) != Some(&0xE8) {
            return Err(LowerError(format!("helper call at {} is not a rel32 call", at)));
        }
        helper_calls.push(HelperCall { offset: at as u32 + 1, helper });
    }
    let lines = line_marks.iter().map(|&(index, offset)| (offsets[index], offset)).collect();
    let frame = FrameLayout {
        after_push_rbp: offsets[prologue_marks.0],
        after_set_rbp: offsets[prologue_marks.1],
        epilogue: offsets[epilogue_index],
    };
    Ok(LoweredFunction { code, helper_calls, lines, frame })
}

impl Lowerer<'_> {
    /// Instruction starts in order, and which of them are jump targets.
    fn scan(&mut self, depths: &[Option<u32>]) -> Vec<usize> {
        let code = self.input.code;
        let mut starts = Vec::new();
        let mut offset = 0;
        while offset < code.len() {
            let Some(ins) = decode_fixed(code, offset) else { break };
            starts.push(offset);
            if ins.op.operands().contains(&Operand::Jump) && depths[offset].is_some() {
                let target = ins.jump_target() as usize;
                if target < self.jump_targets.len() {
                    self.jump_targets[target] = true;
                }
            }
            let mut size = ins.size;
            if ins.op == Op::Closure {
                let count = (self.input.capture_count)(ins.args[0] as u32) as usize;
                let descriptors = offset + size;
                self.captures_locals |=
                    (0..count).any(|i| code.get(descriptors + i * UPVALUE_DESCRIPTOR_SIZE) == Some(&1));
                size += count * UPVALUE_DESCRIPTOR_SIZE;
            }
            offset += size;
        }
        starts
    }

    /// Saves callee-saved registers, loads the fixed registers and pushes
    /// the frame. Returns the instruction indices after `push rbp` and
    /// after `mov rbp, rsp`.
    fn prologue(&mut self) -> Result<(usize, usize), LowerError> {
        let a = &mut self.a;
        // The System V entry (for Rust callers): set up r12/r13, which
        // compiled code keeps unchanged, and call the fast entry.
        a.push(rbp)?;
        a.mov(rbp, rsp)?;
        a.push(r12)?;
        a.push(r13)?;
        a.mov(r12, rdi)?;
        a.mov(r13, rsi)?;
        a.call(self.fast_entry)?;
        a.pop(r13)?;
        a.pop(r12)?;
        a.pop(rbp)?;
        a.ret()?;
        for _ in 0..FAST_ENTRY_PADDING {
            a.int3()?;
        }
        // The fast entry (compiled callers): vm and thread already in r12/r13.
        a.set_label(&mut self.fast_entry)?;
        a.push(rbp)?;
        let after_push = a.instructions().len();
        a.mov(rbp, rsp)?;
        let after_mov = a.instructions().len();
        for r in [rbx, r14, r15] {
            a.push(r)?;
        }
        a.sub(rsp, 8)?;
        a.mov(r14, rdx)?;
        a.mov(r15, qword_ptr(r13 + fl::THREAD_FRAMES_TOP))?;
        a.cmp(r15, qword_ptr(r13 + fl::THREAD_FRAMES_LIMIT))?;
        a.jae(self.overflow)?;
        let needed = (self.input.max_stack as i32 + 1) * 8;
        a.lea(rax, qword_ptr(r14 + needed))?;
        a.cmp(rax, qword_ptr(r13 + fl::THREAD_STACK_LIMIT))?;
        a.ja(self.overflow)?;
        a.mov(qword_ptr(r15 + fl::FRAME_CLOSURE), rcx)?;
        a.mov(rbx, qword_ptr(rcx + obj::CLOSURE_FUNCTION))?;
        a.mov(rbx, qword_ptr(rbx + obj::FUNCTION_CACHES))?;
        a.mov(qword_ptr(r15 + fl::FRAME_BASE), r14)?;
        a.mov(qword_ptr(r15 + fl::FRAME_PC), 0)?;
        a.lea(rax, qword_ptr(r15 + fl::FRAME_SIZE))?;
        a.mov(qword_ptr(r13 + fl::THREAD_FRAMES_TOP), rax)?;
        a.inc(qword_ptr(r13 + fl::THREAD_CALLS))?;
        Ok((after_push, after_mov))
    }

    /// Slow paths, the stack-overflow and error exits and the epilogue.
    /// Returns the instruction index where the epilogue starts.
    fn tail(&mut self) -> Result<usize, LowerError> {
        let slow_paths = std::mem::take(&mut self.slow_paths);
        for mut path in slow_paths {
            self.a.set_label(&mut path.entry)?;
            self.materialize(&path.pending)?;
            self.call_helper(path.pc, path.depth, path.helper, &path.args)?;
            match path.resume {
                Some(resume) => {
                    self.check_status()?;
                    self.a.jmp(resume)?;
                }
                None => self.a.jmp(self.error_exit)?,
            }
        }
        // The frame was not pushed: report the overflow at the caller's position.
        let mut overflow = self.overflow;
        self.a.set_label(&mut overflow)?;
        self.a.mov(rdi, r12)?;
        self.a.mov(rsi, r13)?;
        self.emit_call(Helper::StackOverflow)?;
        let mut error_exit = self.error_exit;
        self.a.set_label(&mut error_exit)?;
        self.a.mov(eax, 1)?;
        let mut epilogue = self.epilogue;
        self.a.set_label(&mut epilogue)?;
        let index = self.a.instructions().len();
        self.a.add(rsp, 8)?;
        for r in [r15, r14, rbx, rbp] {
            self.a.pop(r)?;
        }
        self.a.ret()?;
        Ok(index)
    }
}
