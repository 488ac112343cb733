//! The lowering of each opcode: inline fast paths for numbers, locals,
//! globals, upvalues, jumps, cached property access and calls between
//! compiled functions (indexing is in `map_index.rs`); helper calls for
//! everything else.

use super::alloc::ClassCall;
use super::asm::{slot, Cond, Emit};
use super::stack::Source;
use super::trivial_call::TrivialCall;
use super::{Arg, ColdBlock, LowerError, Lowerer};
use crate::bytecode::opcode::{decode_fixed, Instruction, Op, Stack};
use crate::codegen::helpers::Helper;
use crate::helper_of;
use crate::object::layout as obj;
use crate::object::{Intrinsic, ObjKind, TRIVIAL_NONE};
use crate::value::{Comparison, Value, SIGN_BIT};
use crate::vm::frame::layout as fl;
use crate::vm::layout::{VM_GLOBALS_BASE, VM_POLL, VM_UNDEFINED};
use iced_x86::code_asm::*;

/// The slow-path helper of `op`'s row, where `op` is only known at run
/// time of the lowering (a family of opcodes sharing one lowering).
fn row_helper(op: Op) -> Result<Helper, LowerError> {
    op.helper().ok_or_else(|| LowerError(format!("{} has no slow-path helper in the opcode table", op.mnemonic())))
}

impl Lowerer<'_> {
    fn label_at(&self, offset: i64) -> CodeLabel {
        self.facts.labels[offset as usize].expect("verified jump target")
    }

    /// Loads constant `k` of the running function into `reg`.
    fn load_constant(&mut self, reg: AsmRegister64, k: u32) -> Emit {
        self.a.mov(reg, qword_ptr(r15 + fl::FRAME_CLOSURE))?;
        self.a.mov(reg, qword_ptr(reg + obj::CLOSURE_FUNCTION))?;
        self.a.mov(reg, qword_ptr(reg + obj::FUNCTION_CONSTANTS))?;
        self.a.mov(reg, qword_ptr(reg + (k as i32) * 8))?;
        Ok(())
    }

    /// Leaves the address of inline cache `c` of the running function in `reg`.
    pub(super) fn load_cache(&mut self, reg: AsmRegister64, c: i64) -> Emit {
        self.a.lea(reg, qword_ptr(rbx + (c as i32) * obj::CACHE_STRIDE as i32))?;
        Ok(())
    }

    fn load_globals(&mut self, reg: AsmRegister64) -> Emit {
        self.a.mov(reg, qword_ptr(r12 + VM_GLOBALS_BASE))?;
        Ok(())
    }

    /// A safepoint poll: parks the thread when another one is waiting.
    fn poll(&mut self, pc: u32, depth: u32) -> Emit {
        if cfg!(feature = "no-safepoint-polls") {
            return Ok(()); // only for measuring what the polls cost
        }
        let (entry, mut resume) = self.slow_path(pc, depth, Helper::Safepoint, vec![]);
        self.a.cmp(byte_ptr(r12 + VM_POLL), 0)?;
        self.a.jne(entry)?;
        self.set(&mut resume)
    }

    /// The `JUMP_IF_FALSE` that directly follows (and is reached only from)
    /// the current instruction, if any: comparisons branch on their flags.
    fn fusable_branch(&self, next: Option<usize>) -> Option<Instruction> {
        let ins = decode_fixed(self.input.code, next?)?;
        (ins.op == Op::JumpIfFalse).then_some(ins)
    }

    /// Whether the instruction at `offset` is a `POP`.
    fn is_pop(&self, offset: usize) -> bool {
        decode_fixed(self.input.code, offset).is_some_and(|ins| ins.op == Op::Pop)
    }

    /// Whether the next instruction is a `POP` reached only from the
    /// current one (the value the current one pushes is never read).
    pub(super) fn popped_next(&self, next: Option<usize>) -> bool {
        next.is_some_and(|at| self.is_pop(at))
    }

    /// Whether the value a `JUMP_IF_FALSE` tests is popped on both of its
    /// paths (the `if` and `while` pattern), so it need not be stored.
    fn condition_is_dead(&self, jump: &Instruction) -> bool {
        self.is_pop(jump.offset + jump.size) && self.is_pop(jump.jump_target() as usize)
    }

    /// Lowers the instruction at `offset` with `d` values on the operand
    /// stack. Returns true when it also lowered the next instruction.
    pub(super) fn instruction(&mut self, offset: usize, d: u32, next: Option<usize>) -> Result<bool, LowerError> {
        let ins = decode_fixed(self.input.code, offset).expect("verified instruction");
        let pc = offset as u32 + 1;
        let here = Arg::Imm(offset as u64);
        let number = (ins.op == Op::Constant).then(|| (self.input.number_constant)(ins.args[0] as u32)).flatten();
        // The table says which instructions take operands where they are
        // pending (stack.rs); all others need the operand stack in memory.
        // A CONSTANT that is not a number is loaded from memory too.
        let lazy = match ins.op {
            Op::Constant => number.is_some(),
            op => op.info().stack == Stack::Pending,
        };
        if !lazy {
            self.flush()?;
        }
        let intrinsic = match ins.op {
            Op::Call => self.callee_intrinsic(d - ins.args[0] as u32 - 1, ins.args[0] as u32),
            _ => None,
        };
        let global = (ins.op == Op::GetGlobal).then_some(ins.args[0] as u32);
        self.track_callees(d, ins.effect().pops, global);
        match ins.op {
            Op::Constant => match number {
                Some(n) => self.push_pending(d, Source::Const(n.to_bits()))?,
                None => {
                    self.load_constant(rax, ins.args[0] as u32)?;
                    self.a.mov(slot(d), rax)?;
                }
            },
            Op::Nil => self.push_pending(d, Source::Const(Value::NIL.0))?,
            Op::True => self.push_pending(d, Source::Const(Value::TRUE.0))?,
            Op::False => self.push_pending(d, Source::Const(Value::FALSE.0))?,
            Op::Pop => self.drop_pending_from(d - 1),
            Op::GetLocal => self.push_pending(d, Source::Local(ins.args[0] as u32))?,
            Op::SetLocal => {
                self.a.mov(rax, slot(d - 1))?;
                self.a.mov(slot(ins.args[0] as u32), rax)?;
            }
            Op::GetGlobal => {
                let g = ins.args[0];
                let undefined = self.error_path(pc, d, helper_of!(Op::GetGlobal), vec![Arg::Imm(g as u64)]);
                self.load_globals(rax)?;
                self.a.mov(rax, qword_ptr(rax + (g as i32) * 8))?;
                self.a.cmp(rax, qword_ptr(r12 + VM_UNDEFINED))?;
                self.a.je(undefined)?;
                // An expression statement (`a;`) only checks that `a` is defined.
                if !self.popped_next(next) {
                    self.a.mov(slot(d), rax)?;
                }
            }
            Op::DefineGlobal => {
                self.take_operand(rax, d - 1)?;
                self.load_globals(rcx)?;
                self.a.mov(qword_ptr(rcx + (ins.args[0] as i32) * 8), rax)?;
            }
            Op::SetGlobal => {
                let g = ins.args[0];
                let undefined = self.error_path(pc, d, helper_of!(Op::SetGlobal), vec![Arg::Imm(g as u64)]);
                self.load_globals(rcx)?;
                self.a.mov(rax, qword_ptr(rcx + (g as i32) * 8))?;
                self.a.cmp(rax, qword_ptr(r12 + VM_UNDEFINED))?;
                self.a.je(undefined)?;
                self.a.mov(rax, slot(d - 1))?;
                self.a.mov(qword_ptr(rcx + (g as i32) * 8), rax)?;
            }
            Op::GetUpvalue | Op::SetUpvalue => {
                let at = obj::CLOSURE_UPVALUES as i32 + (ins.args[0] as i32) * 8;
                self.a.mov(rax, qword_ptr(r15 + fl::FRAME_CLOSURE))?;
                self.a.mov(rax, qword_ptr(rax + at))?;
                self.a.mov(rax, qword_ptr(rax + obj::UPVALUE_LOCATION))?;
                if ins.op == Op::GetUpvalue {
                    self.a.mov(rax, qword_ptr(rax))?;
                    self.a.mov(slot(d), rax)?;
                } else {
                    self.a.mov(rcx, slot(d - 1))?;
                    self.a.mov(qword_ptr(rax), rcx)?;
                }
            }
            Op::GetProperty => self.get_property(&ins, pc, d)?,
            Op::SetProperty => self.set_property(&ins, pc, d, next)?,
            Op::GetSuper => self.inline_helper(pc, d, helper_of!(Op::GetSuper), &[Arg::Imm(ins.args[0] as u64)])?,
            Op::Equal | Op::NotEqual => {
                let branch = self.fusable_branch(next);
                self.equality(ins.op == Op::Equal, d, branch.as_ref())?;
                return Ok(branch.is_some());
            }
            Op::Greater | Op::Less | Op::GreaterEqual | Op::LessEqual => {
                let branch = self.fusable_branch(next);
                self.comparison(ins.op, pc, d, branch.as_ref())?;
                return Ok(branch.is_some());
            }
            Op::Add | Op::Subtract | Op::Multiply | Op::Divide => self.arithmetic(ins.op, pc, d)?,
            Op::Modulo => self.inline_helper(pc, d, helper_of!(Op::Modulo), &[])?,
            Op::Not => {
                self.take_operand(rax, d - 1)?;
                self.a.mov(rcx, Value::NIL.0)?;
                self.a.neg(rcx)?;
                self.a.add(rcx, rax)?;
                self.a.cmp(rcx, 1)?;
                self.store_bool(Cond::BelowOrEqual, d - 1)?;
            }
            Op::Negate => {
                let error = self.error_path(pc, d, helper_of!(Op::Negate), vec![]);
                if !self.take_operand(rax, d - 1)?.is_some_and(Source::is_number) {
                    self.jump_unless_number(rax, rcx, error)?;
                }
                self.a.mov(rcx, SIGN_BIT)?;
                self.a.xor(rax, rcx)?;
                self.a.mov(slot(d - 1), rax)?;
            }
            Op::Print => self.inline_helper(pc, d, helper_of!(Op::Print), &[])?,
            Op::Jump => {
                let target = self.label_at(ins.jump_target());
                self.a.jmp(target)?;
            }
            Op::JumpIfFalse => {
                let target = self.label_at(ins.jump_target());
                self.a.mov(rax, slot(d - 1))?;
                self.jump_if_falsey(rax, rcx, target)?;
            }
            Op::Loop => {
                self.poll(pc, d)?;
                self.count_back_edge(ins.jump_target() as u32, pc, d)?;
                let target = self.label_at(ins.jump_target());
                self.a.jmp(target)?;
            }
            Op::Call => self.call(&ins, pc, d, intrinsic)?,
            Op::Invoke => self.invoke(&ins, pc, d)?,
            Op::SuperInvoke => {
                // Polls like the interpreter's SUPER_INVOKE (and like CALL and
                // INVOKE), so that fuel runs out at the same point in both tiers.
                self.poll(pc, d)?;
                let args = [Arg::Imm(ins.args[0] as u64), Arg::Imm(ins.args[1] as u64)];
                self.inline_helper(pc, d, helper_of!(Op::SuperInvoke), &args)?
            }
            Op::Closure => self.inline_helper(pc, d, helper_of!(Op::Closure), &[here])?,
            Op::CloseUpvalue => self.inline_helper(pc, d, helper_of!(Op::CloseUpvalue), &[Arg::SlotAddress(d - 1)])?,
            Op::Return => self.return_(pc, d)?,
            Op::Class => self.inline_helper(pc, d, helper_of!(Op::Class), &[here])?,
            Op::Inherit => self.inline_helper(pc, d, helper_of!(Op::Inherit), &[])?,
            Op::Method => self.inline_helper(pc, d, helper_of!(Op::Method), &[here])?,
            Op::Array => self.inline_helper(pc, d, helper_of!(Op::Array), &[Arg::Imm(ins.args[0] as u64)])?,
            Op::GetIndex => self.get_index(pc, d)?,
            Op::SetIndex => self.set_index(pc, d, next)?,
            Op::Spawn => self.inline_helper(pc, d, helper_of!(Op::Spawn), &[Arg::Imm(ins.args[0] as u64)])?,
            Op::MonitorEnter => self.inline_helper(pc, d, helper_of!(Op::MonitorEnter), &[])?,
            Op::MonitorExit => self.inline_helper(pc, d, helper_of!(Op::MonitorExit), &[])?,
            Op::ForInStart => {
                let args = [Arg::SlotAddress(0), Arg::Imm(ins.args[0] as u64)];
                self.inline_helper(pc, d, helper_of!(Op::ForInStart), &args)?
            }
            Op::ForInNext => {
                let args = [Arg::SlotAddress(0), Arg::Imm(ins.args[0] as u64)];
                self.call_helper(pc, d, helper_of!(Op::ForInNext), &args)?;
                // 2: over (nil pushed): leave the loop; 1: an error.
                let target = self.label_at(ins.jump_target());
                self.a.cmp(eax, 2)?;
                self.a.je(target)?;
                self.check_status()?;
            }
        }
        Ok(false)
    }

    /// `CALL`: the callee cached at this site is called directly; another
    /// compiled closure with the right arity is called after checks and
    /// becomes the cached callee; anything else goes through the helper
    /// (which also caches classes with a compiled `init`). A call that may
    /// be of a bitwise native (`intrinsic`) first tries to compute it in
    /// place (`intrinsic.rs`).
    fn call(&mut self, ins: &Instruction, pc: u32, d: u32, intrinsic: Option<Intrinsic>) -> Emit {
        let argc = ins.args[0] as u32;
        let callee = d - argc - 1;
        let cache = ins.args[1];
        self.poll(pc, d)?;
        let inline_done = match intrinsic {
            Some(intrinsic) => Some(self.intrinsic_fast_path(intrinsic, callee)?),
            None => None,
        };
        let args = vec![Arg::SlotAddress(callee), Arg::Imm(argc as u64), Arg::CacheAddress(cache as u32)];
        let (slow, mut resume) = self.slow_path(pc, d, helper_of!(Op::Call), args);
        let mut uncached = self.a.create_label();
        let cached_class = self.a.create_label();
        let mut call_cached = self.a.create_label();
        self.a.mov(rax, slot(callee))?;
        self.load_cache(rdx, cache)?;
        self.a.cmp(rax, qword_ptr(rdx + obj::CACHE_VALUE))?;
        self.a.jne(uncached)?;
        self.a.mov(rcx, qword_ptr(rdx + obj::CACHE_KEY))?;
        self.cmp_kind(rcx, ObjKind::Class)?;
        self.a.je(cached_class)?;
        self.set(&mut call_cached)?;
        self.a.mov(rax, qword_ptr(rdx + obj::CACHE_ENTRY))?;
        self.call_entry(callee, pc)?;
        self.a.jmp(resume)?;
        // A cached class (in rcx): allocate the instance and run its
        // compiled `init`, out of line (`alloc.rs`).
        let (helper, after_helper) = self.slow_path(pc, d, Helper::NewInstance, vec![Arg::SlotAddress(callee)]);
        let block = ClassCall { entry: cached_class, after_helper, helper, call_cached, callee, cache, pc };
        self.out_of_line.cold_blocks.push(ColdBlock::ClassCall(block));
        self.set(&mut uncached)?;
        self.jump_unless_kind(rax, rcx, ObjKind::Closure, slow)?;
        self.compiled_entry(argc, slow)?;
        // Remember the callee (as `call::cache_callee` does), so that the
        // next call through this site takes the short path above.
        self.load_cache(rdx, cache)?;
        self.a.mov(qword_ptr(rdx + obj::CACHE_KEY), rcx)?;
        self.a.mov(qword_ptr(rdx + obj::CACHE_ENTRY), rax)?;
        self.a.mov(rsi, slot(callee))?;
        self.a.mov(qword_ptr(rdx + obj::CACHE_VALUE), rsi)?;
        self.call_entry(callee, pc)?;
        self.set(&mut resume)?;
        if let Some(mut done) = inline_done {
            self.set(&mut done)?;
        }
        Ok(())
    }

    /// Calls the fast entry in rax for the closure in rcx with the frame at `callee`.
    fn call_entry(&mut self, callee: u32, pc: u32) -> Emit {
        super::asm::call_fast_entry(&mut self.a, callee, pc)?;
        self.check_status()
    }

    /// Loads into rax the fast entry of the closure whose pointer is in rcx
    /// when it is compiled and takes `argc` arguments; otherwise jumps to `slow`.
    fn compiled_entry(&mut self, argc: u32, slow: CodeLabel) -> Emit {
        self.a.mov(rdx, qword_ptr(rcx + obj::CLOSURE_FUNCTION))?;
        super::asm::fast_entry_of(&mut self.a, argc, slow)?;
        Ok(())
    }

    /// The inline-cache guard of property access: jumps to `slow` unless
    /// the value in rax is an instance (left in rcx) whose shape one of the
    /// ways of cache site `cache` remembers (that way left in rdx).
    fn shape_guard(&mut self, cache: i64, slow: CodeLabel) -> Emit {
        self.jump_unless_kind(rax, rcx, ObjKind::Instance, slow)?;
        self.load_cache(rdx, cache)?;
        let mut hit = self.a.create_label();
        self.a.mov(rsi, qword_ptr(rcx + obj::INSTANCE_SHAPE))?;
        self.a.cmp(rsi, qword_ptr(rdx + obj::CACHE_KEY))?;
        self.a.je(hit)?;
        const _: () = assert!(crate::object::CACHE_WAYS == 2);
        self.a.cmp(rsi, qword_ptr(rdx + (obj::CACHE_SIZE + obj::CACHE_KEY)))?;
        self.a.jne(slow)?;
        self.a.add(rdx, obj::CACHE_SIZE as i32)?;
        self.set(&mut hit)
    }

    fn get_property(&mut self, ins: &Instruction, pc: u32, d: u32) -> Emit {
        let args = vec![Arg::Imm(ins.args[0] as u64), Arg::CacheAddress(ins.args[1] as u32)];
        let (slow, mut resume) = self.slow_path(pc, d, helper_of!(Op::GetProperty), args);
        self.take_operand(rax, d - 1)?;
        self.shape_guard(ins.args[1], slow)?;
        self.a.mov(rsi, qword_ptr(rdx + obj::CACHE_VALUE))?;
        self.a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        self.a.mov(rax, qword_ptr(rdi + rsi * 8))?;
        self.a.mov(slot(d - 1), rax)?;
        self.set(&mut resume)
    }

    /// `SET_PROPERTY` takes its operands from where they are pending, and
    /// leaves its result (the value) pending or unwritten when a `POP`
    /// follows (`this.x = v;`).
    fn set_property(&mut self, ins: &Instruction, pc: u32, d: u32, next: Option<usize>) -> Emit {
        let args = vec![Arg::Imm(ins.args[0] as u64), Arg::CacheAddress(ins.args[1] as u32)];
        let (slow, mut resume) = self.slow_path(pc, d, helper_of!(Op::SetProperty), args);
        let mut store = self.a.create_label();
        let value = self.pending_source(d - 1);
        self.take_operand(rax, d - 2)?;
        self.shape_guard(ins.args[1], slow)?;
        self.a.mov(rsi, qword_ptr(rdx + obj::CACHE_VALUE))?;
        self.a.mov(rdi, qword_ptr(rdx + obj::CACHE_NEXT_SHAPE))?;
        self.a.test(rdi, rdi)?;
        self.a.jz(store)?;
        // Adding a field: the instance must have room for it.
        self.a.cmp(esi, dword_ptr(rcx + obj::INSTANCE_CAPACITY))?;
        self.a.jae(slow)?;
        self.a.mov(qword_ptr(rcx + obj::INSTANCE_SHAPE), rdi)?;
        self.set(&mut store)?;
        self.a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        self.take_operand(rax, d - 1)?;
        self.a.mov(qword_ptr(rdi + rsi * 8), rax)?;
        match value {
            _ if self.popped_next(next) => {}
            // The slow path leaves the same value in the slot.
            Some(source) => self.push_pending(d - 2, source)?,
            None => self.a.mov(slot(d - 2), rax)?,
        }
        self.set(&mut resume)
    }

    fn invoke(&mut self, ins: &Instruction, pc: u32, d: u32) -> Emit {
        let argc = ins.args[1] as u32;
        let receiver = d - argc - 1;
        self.poll(pc, d)?;
        let args = vec![Arg::Imm(ins.args[0] as u64), Arg::Imm(argc as u64), Arg::CacheAddress(ins.args[2] as u32)];
        let (slow, mut resume) = self.slow_path(pc, d, helper_of!(Op::Invoke), args);
        self.a.mov(rax, slot(receiver))?;
        self.shape_guard(ins.args[2], slow)?;
        if self.input.inline_trivial_methods {
            let entry = self.a.create_label();
            let mut call = self.a.create_label();
            self.a.cmp(dword_ptr(rdx + obj::CACHE_TRIVIAL_KIND), TRIVIAL_NONE as i32)?;
            self.a.jne(entry)?;
            self.set(&mut call)?;
            self.out_of_line.cold_blocks.push(ColdBlock::TrivialCall(TrivialCall {
                entry,
                call,
                resume,
                receiver,
                pc,
            }));
        }
        // The cached method is a closure value; its entry is cached when compiled.
        self.a.mov(rcx, qword_ptr(rdx + obj::CACHE_VALUE))?;
        self.untag_object(rcx)?;
        self.a.mov(rax, qword_ptr(rdx + obj::CACHE_ENTRY))?;
        self.a.test(rax, rax)?;
        let mut unknown_entry = self.a.create_label();
        self.a.jz(unknown_entry)?;
        self.call_entry(receiver, pc)?;
        self.a.jmp(resume)?;
        self.set(&mut unknown_entry)?;
        self.compiled_entry(argc, slow)?;
        self.call_entry(receiver, pc)?;
        self.set(&mut resume)
    }

    /// `==` / `!=` (clox's valuesEqual on NaN-boxed values): the same bits
    /// are equal unless they are a NaN number; different bits are equal
    /// only for +0 and -0 (no other two different values compare equal).
    /// Against nil, true or false the identity compare alone decides. With
    /// `branch`, also the `JUMP_IF_FALSE` after it.
    fn equality(&mut self, equal: bool, d: u32, branch: Option<&Instruction>) -> Emit {
        let b = self.take_operand(rcx, d - 1)?;
        let a = self.take_operand(rax, d - 2)?;
        let singleton = |s: Option<Source>| matches!(s, Some(Source::Const(bits)) if !Value(bits).is_number());
        let mut done = self.a.create_label();
        // cl = 1 when ZF says "equal" (for `!=`, when it says "different").
        let set_result = |a: &mut CodeAssembler| if equal { a.sete(cl) } else { a.setne(cl) };
        self.a.cmp(rax, rcx)?;
        if !(singleton(a) || singleton(b)) {
            let mut differ = self.a.create_label();
            self.a.jne(differ)?;
            // Same bits: equal unless a NaN number (unordered with itself).
            self.a.movq(xmm0, rax)?;
            self.a.ucomisd(xmm0, xmm0)?;
            if equal {
                self.a.setnp(cl)?;
            } else {
                self.a.setp(cl)?;
            }
            self.a.jnp(done)?;
            // A NaN bit pattern: objects and singletons equal themselves.
            self.test_tag_bits(rax, rdx)?;
            set_result(&mut self.a)?;
            self.a.jmp(done)?;
            self.set(&mut differ)?;
            // Different bits: equal only when both are zeros (sign ignored).
            self.a.or(rax, rcx)?;
            self.a.shl(rax, 1)?;
        }
        set_result(&mut self.a)?;
        self.set(&mut done)?;
        // cl holds the result (1: true).
        if !branch.is_some_and(|jump| self.condition_is_dead(jump)) {
            self.a.movzx(edx, cl)?;
            self.a.mov(rax, Value::FALSE.0)?;
            self.a.add(rax, rdx)?;
            self.a.mov(slot(d - 2), rax)?;
        }
        if let Some(jump) = branch {
            self.flush()?;
            let target = self.label_at(jump.jump_target());
            self.a.test(cl, cl)?;
            self.a.jz(target)?;
        }
        Ok(())
    }

    /// Loads both operands, checks they are numbers (unless known to be),
    /// and moves them to xmm0/xmm1.
    fn number_operands(&mut self, not_numbers: CodeLabel, d: u32) -> Emit {
        let b = self.take_operand(rcx, d - 1)?;
        let a = self.take_operand(rax, d - 2)?;
        if !a.is_some_and(Source::is_number) {
            self.jump_unless_number(rax, rdx, not_numbers)?;
        }
        if !b.is_some_and(Source::is_number) {
            self.jump_unless_number(rcx, rdx, not_numbers)?;
        }
        self.a.movq(xmm0, rax)?;
        self.a.movq(xmm1, rcx)?;
        Ok(())
    }

    /// A comparison; with `branch`, also the `JUMP_IF_FALSE` after it,
    /// branching on the flags. Numbers compare inline; anything else goes
    /// to the row's helper (two strings, or the error), which leaves the
    /// result in the slot, where the slow path tests it for the branch.
    fn comparison(&mut self, op: Op, pc: u32, d: u32, branch: Option<&Instruction>) -> Emit {
        let comparison = match op {
            Op::Greater => Comparison::Greater,
            Op::Less => Comparison::Less,
            Op::GreaterEqual => Comparison::GreaterEqual,
            _ => Comparison::LessEqual,
        };
        let then = branch.map(|jump| (d - 2, self.label_at(jump.jump_target())));
        let args = vec![Arg::Imm(comparison as u64)];
        let (not_numbers, mut resume) = self.slow_path_then_branch(pc, d, row_helper(op)?, args, then);
        self.number_operands(not_numbers, d)?;
        // Mirrors `Comparison::holds`: ucomisd sets "above" only for
        // ordered operands, so `>`/`<` are false and `>=`/`<=` (negated
        // "above") true when either is NaN.
        let cond = match comparison {
            Comparison::Greater => {
                self.a.ucomisd(xmm0, xmm1)?;
                Cond::Above
            }
            Comparison::Less => {
                self.a.ucomisd(xmm1, xmm0)?;
                Cond::Above
            }
            // !(a < b) = !(b above a)
            Comparison::GreaterEqual => {
                self.a.ucomisd(xmm1, xmm0)?;
                Cond::BelowOrEqual
            }
            // !(a > b) = !(a above b)
            Comparison::LessEqual => {
                self.a.ucomisd(xmm0, xmm1)?;
                Cond::BelowOrEqual
            }
        };
        // The result stays on the stack (JUMP_IF_FALSE does not pop it)
        // unless both successors pop it right away.
        if !branch.is_some_and(|jump| self.condition_is_dead(jump)) {
            self.store_bool(cond, d - 2)?;
        }
        if let Some(jump) = branch {
            // The jump target needs the stack in memory (stores keep the flags).
            self.flush()?;
            let target = self.label_at(jump.jump_target());
            match cond {
                Cond::Above => self.a.jbe(target)?,
                Cond::BelowOrEqual => self.a.ja(target)?,
            }
        }
        self.set(&mut resume)
    }

    fn arithmetic(&mut self, op: Op, pc: u32, d: u32) -> Emit {
        let (not_numbers, resume) = if op == Op::Add {
            let (slow, resume) = self.slow_path(pc, d, helper_of!(Op::Add), vec![]);
            (slow, Some(resume))
        } else {
            (self.error_path(pc, d, row_helper(op)?, vec![]), None)
        };
        self.number_operands(not_numbers, d)?;
        match op {
            Op::Add => self.a.addsd(xmm0, xmm1)?,
            Op::Subtract => self.a.subsd(xmm0, xmm1)?,
            Op::Multiply => self.a.mulsd(xmm0, xmm1)?,
            _ => self.a.divsd(xmm0, xmm1)?,
        }
        self.a.movq(slot(d - 2), xmm0)?;
        if let Some(mut resume) = resume {
            self.set(&mut resume)?;
        }
        Ok(())
    }

    /// `RETURN`: the frame is discarded, so pending values other than the
    /// result never need writing out. The epilogue is emitted inline.
    fn return_(&mut self, pc: u32, d: u32) -> Emit {
        if self.facts.captures_locals {
            self.flush()?;
            let mut no_upvalues = self.a.create_label();
            self.a.mov(rcx, qword_ptr(r13 + fl::THREAD_OPEN_UPVALUES))?;
            self.a.test(rcx, rcx)?;
            self.a.jz(no_upvalues)?;
            self.a.cmp(qword_ptr(rcx + obj::UPVALUE_LOCATION), r14)?;
            self.a.jb(no_upvalues)?;
            self.inline_helper(pc, d, helper_of!(Op::Return), &[Arg::SlotAddress(0)])?;
            self.set(&mut no_upvalues)?;
        }
        // Slot 0 may have been captured, so the result goes there only now.
        self.take_operand(rax, d - 1)?;
        self.pending.clear();
        self.a.mov(slot(0), rax)?;
        // Also in rdx, where the DWARF return type (`tinyvm_return`,
        // returned in rax:rdx) tells gdb's `finish` to find it.
        self.a.mov(rdx, rax)?;
        self.a.mov(qword_ptr(r13 + fl::THREAD_FRAMES_TOP), r15)?;
        self.a.xor(eax, eax)?;
        self.epilogue_code()
    }
}
