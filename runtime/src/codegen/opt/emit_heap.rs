//! The optimized code of calls and of instructions on objects: calls of
//! compiled closures, property access and method calls through the inline
//! caches, array indexing, upvalues, and the out-of-line slow paths that
//! call an instruction's helper.
//!
//! Owns those templates only. Each mirrors the baseline's fast path for
//! the same instruction (`lower/opcodes.rs`'s `get_property`,
//! `set_property` and `invoke`, `lower/map_index.rs`'s arrays) over the
//! same cache entries and object layouts, so both tiers agree on every
//! hit; whatever the fast path does not handle goes to the helper, which
//! is the reference. A slow path writes the instruction's numbers to
//! their slots (the helper and the GC then see exact values) and keeps
//! the XMM registers around the call, so values stay in registers across
//! the fast path. It must not decide what to speculate (the builder does).

use super::emit::{spill, Emitter, XMM};
use super::ir::*;
use super::regalloc::Loc;
use crate::codegen::helpers::Helper;
use crate::codegen::lower::{
    allocate_instance, call_fast_entry, enter_helper, fast_entry_of, kind_guard, native_guard, number_guard,
    object_guard, slot, LowerError,
};
use crate::object::layout as obj;
use crate::object::{Intrinsic, ObjClosure, ObjKind};
use crate::value::Value;
use crate::vm::frame::layout as fl;
use crate::vm::layout::{VM_OBJECT_TAG, VM_POLL};
use iced_x86::code_asm::*;

type Emit = Result<(), LowerError>;

/// A call's out-of-line parts: a cached class's instance, the generic
/// helper.
pub(crate) struct SlowCall {
    entry: CodeLabel,
    resume: CodeLabel,
    /// Where a cached class's callee is allocated (the class in rcx).
    class: CodeLabel,
    /// The call of the cached entry (closure in rcx, cache in rdx).
    cached: CodeLabel,
    callee: u32,
    argc: u32,
    cache: u32,
    pc: u32,
}

/// An out-of-line path, emitted after the body.
pub(crate) struct SlowPath {
    entry: CodeLabel,
    resume: CodeLabel,
    kind: SlowKind,
}

enum SlowKind {
    /// The helper of `Func::slows[id]`, the XMM registers kept.
    Helper(SlowId),
    /// A safepoint that found a request: the frame state of guard `id`
    /// written to the slots, the XMM registers kept around the park.
    Poll(DeoptId),
    /// `dst = a % b` by fmod, for operands the inline integer path leaves.
    Fmod { dst: Val, a: Val, b: Val },
    /// `INVOKE`'s generic helper (a call: no register is live across it).
    Invoke { receiver: u32, argc: u32, k: u32, cache: u32, pc: u32 },
}

impl Emitter<'_> {
    fn cache_address(&self, cache: u32) -> u64 {
        self.input.addresses.caches + cache as u64 * obj::CACHE_STRIDE as u64
    }

    fn slow_labels(&mut self) -> (CodeLabel, CodeLabel) {
        (self.a.create_label(), self.a.create_label())
    }

    /// The inline-cache guard of property access and invocation: jumps to
    /// `slow` unless the value in rax is an instance (left in rcx) whose
    /// shape one of the ways of cache site `cache` remembers (that way
    /// left in rdx).
    fn shape_guard(&mut self, cache: u32, slow: CodeLabel) -> Emit {
        object_guard(&mut self.a, rax, rcx, slow)?;
        kind_guard(&mut self.a, rcx, ObjKind::Instance, slow)?;
        let mut hit = self.a.create_label();
        let site = self.cache_address(cache);
        let a = &mut self.a;
        a.mov(rdx, site)?;
        a.mov(rsi, qword_ptr(rcx + obj::INSTANCE_SHAPE))?;
        a.cmp(rsi, qword_ptr(rdx + obj::CACHE_KEY))?;
        a.je(hit)?;
        const _: () = assert!(crate::object::CACHE_WAYS == 2);
        a.cmp(rsi, qword_ptr(rdx + (obj::CACHE_SIZE + obj::CACHE_KEY)))?;
        a.jne(slow)?;
        a.add(rdx, obj::CACHE_SIZE as i32)?;
        self.set(&mut hit)
    }

    /// The guard against a constant shape: jumps to `slow` unless the value
    /// in rax is an instance (left in rcx) of `shape`.
    fn known_shape_guard(&mut self, shape: u64, slow: CodeLabel) -> Emit {
        object_guard(&mut self.a, rax, rcx, slow)?;
        kind_guard(&mut self.a, rcx, ObjKind::Instance, slow)?;
        self.a.mov(rdx, shape)?;
        self.a.cmp(qword_ptr(rcx + obj::INSTANCE_SHAPE), rdx)?;
        self.a.jne(slow)?;
        Ok(())
    }

    /// The guard `CheckShape`: deoptimizes unless slot `s` holds an
    /// instance of `shape`.
    pub(super) fn check_shape(&mut self, s: u32, shape: u64, deopt: DeoptId) -> Emit {
        self.stress(deopt)?;
        let target = self.deopts[deopt as usize];
        self.a.mov(rax, slot(s))?;
        self.known_shape_guard(shape, target)
    }

    /// Leaves in rcx the instance in slot `s` (known to be one).
    fn untag_instance(&mut self, s: u32) -> Emit {
        self.a.mov(rcx, slot(s))?;
        self.a.sub(rcx, qword_ptr(r12 + VM_OBJECT_TAG))?;
        Ok(())
    }

    /// `GetFieldNum`: field `index` of the instance in slot `src` into
    /// number `dst`, deoptimizing unless it is one.
    pub(super) fn get_field_number(&mut self, dst: Val, src: u32, index: u32, deopt: DeoptId) -> Emit {
        self.untag_instance(src)?;
        self.a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        self.a.mov(rax, qword_ptr(rdi + (index as i32) * 8))?;
        self.stress(deopt)?;
        number_guard(&mut self.a, rax, rcx, self.deopts[deopt as usize])?;
        self.store_gpr(self.loc(dst), rax)
    }

    /// A guard's reload of a fused field load into its slot.
    fn reload_field(&mut self, s: u32, src: u32, index: u32) -> Emit {
        self.untag_instance(src)?;
        self.a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        self.a.mov(rax, qword_ptr(rdi + (index as i32) * 8))?;
        self.a.mov(slot(s), rax)?;
        Ok(())
    }

    /// `SetFieldNum`: the number `v` into the field of a checked instance.
    pub(super) fn set_field_number(&mut self, s: u32, v: Val, k: Known, slow: SlowId) -> Emit {
        self.untag_instance(s)?;
        let resume = self.room_for_added_field(k, slow)?;
        self.a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        let field = qword_ptr(rdi + (k.value as i32) * 8);
        match self.loc(v) {
            Loc::Xmm(r) => self.a.movq(field, XMM[r as usize])?,
            Loc::Stack(i) => {
                self.a.mov(rax, spill(i))?;
                self.a.mov(field, rax)?;
            }
        }
        if let Some(mut resume) = resume {
            self.set(&mut resume)?;
        }
        Ok(())
    }

    /// For a `SET_PROPERTY` that adds a field (to the instance in rcx): the
    /// room check, whose failure takes the slow path (the helper grows the
    /// instance), and the new shape. Returns the label to resume at.
    fn room_for_added_field(&mut self, k: Known, slow: SlowId) -> Result<Option<CodeLabel>, LowerError> {
        if k.next_shape == 0 {
            return Ok(None);
        }
        let (entry, resume) = self.slow_labels();
        let a = &mut self.a;
        a.cmp(dword_ptr(rcx + obj::INSTANCE_CAPACITY), k.value as i32)?;
        a.jbe(entry)?;
        a.mov(rdx, k.next_shape)?;
        a.mov(qword_ptr(rcx + obj::INSTANCE_SHAPE), rdx)?;
        self.slow_paths.push(SlowPath { entry, resume, kind: SlowKind::Helper(slow) });
        Ok(Some(resume))
    }

    /// `GET_PROPERTY` of an instance of a checked shape: one load.
    pub(super) fn checked_get_field(&mut self, s: u32, src: u32, k: Known) -> Emit {
        self.untag_instance(src)?;
        let a = &mut self.a;
        a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        a.mov(rax, qword_ptr(rdi + (k.value as i32) * 8))?;
        a.mov(slot(s), rax)?;
        Ok(())
    }

    /// `SET_PROPERTY` on an instance of a checked shape: a store, and for
    /// an added field the room check (the helper grows the instance).
    pub(super) fn checked_set_field(&mut self, s: u32, k: Known, slow: SlowId) -> Emit {
        self.untag_instance(s)?;
        let resume = self.room_for_added_field(k, slow)?;
        let a = &mut self.a;
        a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        a.mov(rax, slot(s + 1))?;
        a.mov(qword_ptr(rdi + (k.value as i32) * 8), rax)?;
        a.mov(slot(s), rax)?;
        if let Some(mut resume) = resume {
            self.set(&mut resume)?;
        }
        Ok(())
    }

    /// `GET_PROPERTY` of the receiver in slot `src`, result in slot `s`:
    /// with `known`, a constant shape and field index, else the cache's.
    pub(super) fn get_field(&mut self, s: u32, src: u32, cache: u32, known: Option<Known>, slow: SlowId) -> Emit {
        let (entry, mut resume) = self.slow_labels();
        self.a.mov(rax, slot(src))?;
        match known {
            Some(k) => {
                self.known_shape_guard(k.shape, entry)?;
                let a = &mut self.a;
                a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
                a.mov(rax, qword_ptr(rdi + (k.value as i32) * 8))?;
            }
            None => {
                self.shape_guard(cache, entry)?;
                let a = &mut self.a;
                a.mov(rsi, qword_ptr(rdx + obj::CACHE_VALUE))?;
                a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
                a.mov(rax, qword_ptr(rdi + rsi * 8))?;
            }
        }
        self.a.mov(slot(s), rax)?;
        self.set(&mut resume)?;
        self.slow_paths.push(SlowPath { entry, resume, kind: SlowKind::Helper(slow) });
        Ok(())
    }

    /// `SET_PROPERTY`: receiver in slot `s`, value in `s + 1`, result (the
    /// value) in `s`. A cached addition of a field needs room for it.
    pub(super) fn set_field(&mut self, s: u32, cache: u32, known: Option<Known>, slow: SlowId) -> Emit {
        let (entry, mut resume) = self.slow_labels();
        if let Some(k) = known {
            self.a.mov(rax, slot(s))?;
            self.known_shape_guard(k.shape, entry)?;
            let a = &mut self.a;
            if k.next_shape != 0 {
                // Adding the field: the instance must have room for it.
                a.cmp(dword_ptr(rcx + obj::INSTANCE_CAPACITY), k.value as i32)?;
                a.jbe(entry)?;
                a.mov(rdx, k.next_shape)?;
                a.mov(qword_ptr(rcx + obj::INSTANCE_SHAPE), rdx)?;
            }
            a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
            a.mov(rax, slot(s + 1))?;
            a.mov(qword_ptr(rdi + (k.value as i32) * 8), rax)?;
            a.mov(slot(s), rax)?;
            self.set(&mut resume)?;
            self.slow_paths.push(SlowPath { entry, resume, kind: SlowKind::Helper(slow) });
            return Ok(());
        }
        let mut store = self.a.create_label();
        self.a.mov(rax, slot(s))?;
        self.shape_guard(cache, entry)?;
        let a = &mut self.a;
        a.mov(rsi, qword_ptr(rdx + obj::CACHE_VALUE))?;
        a.mov(rdi, qword_ptr(rdx + obj::CACHE_NEXT_SHAPE))?;
        a.test(rdi, rdi)?;
        a.jz(store)?;
        a.cmp(esi, dword_ptr(rcx + obj::INSTANCE_CAPACITY))?;
        a.jae(entry)?;
        a.mov(qword_ptr(rcx + obj::INSTANCE_SHAPE), rdi)?;
        self.set(&mut store)?;
        let a = &mut self.a;
        a.mov(rdi, qword_ptr(rcx + obj::INSTANCE_FIELDS))?;
        a.mov(rax, slot(s + 1))?;
        a.mov(qword_ptr(rdi + rsi * 8), rax)?;
        a.mov(slot(s), rax)?;
        self.set(&mut resume)?;
        self.slow_paths.push(SlowPath { entry, resume, kind: SlowKind::Helper(slow) });
        Ok(())
    }

    /// `GET_INDEX` / `SET_INDEX` of an array: receiver in slot `s` (result
    /// there, read from `src`), the index in `index` or slot `s + 1`, the
    /// value in `s + 2`.
    /// Indexes that are not integers in `0..len`, maps, strings and errors
    /// go to the helper.
    pub(super) fn index(&mut self, s: u32, src: u32, index: Option<Val>, slow: SlowId, set: Option<bool>) -> Emit {
        let (entry, mut resume) = self.slow_labels();
        self.a.mov(rax, slot(src))?;
        object_guard(&mut self.a, rax, rcx, entry)?;
        kind_guard(&mut self.a, rcx, ObjKind::Array, entry)?;
        let number = match index.map(|v| self.loc(v)) {
            Some(Loc::Xmm(r)) => XMM[r as usize],
            Some(Loc::Stack(i)) => {
                self.a.movq(xmm0, spill(i))?;
                xmm0
            }
            None => {
                self.a.mov(rax, slot(s + 1))?;
                number_guard(&mut self.a, rax, rdx, entry)?;
                self.a.movq(xmm0, rax)?;
                xmm0
            }
        };
        exact_integer(&mut self.a, rdx, number, entry)?;
        let a = &mut self.a;
        a.cmp(rdx, qword_ptr(rcx + obj::ARRAY_LEN))?;
        a.jae(entry)?;
        a.mov(rcx, qword_ptr(rcx + obj::ARRAY_PTR))?;
        match set {
            Some(result) => {
                a.mov(rax, slot(s + 2))?;
                a.mov(qword_ptr(rcx + rdx * 8), rax)?;
                if result {
                    a.mov(slot(s), rax)?;
                }
            }
            None => {
                a.mov(rax, qword_ptr(rcx + rdx * 8))?;
                a.mov(slot(s), rax)?;
            }
        }
        self.set(&mut resume)?;
        self.slow_paths.push(SlowPath { entry, resume, kind: SlowKind::Helper(slow) });
        Ok(())
    }

    /// `GET_UPVALUE` into slot `s`, or `SET_UPVALUE` from it.
    pub(super) fn upvalue(&mut self, s: u32, index: u32, set: bool) -> Emit {
        let at = obj::CLOSURE_UPVALUES as i32 + (index as i32) * 8;
        let a = &mut self.a;
        a.mov(rax, qword_ptr(r15 + fl::FRAME_CLOSURE))?;
        a.mov(rax, qword_ptr(rax + at))?;
        a.mov(rax, qword_ptr(rax + obj::UPVALUE_LOCATION))?;
        if set {
            a.mov(rcx, slot(s))?;
            a.mov(qword_ptr(rax), rcx)?;
        } else {
            a.mov(rax, qword_ptr(rax))?;
            a.mov(slot(s), rax)?;
        }
        Ok(())
    }

    /// Calls the fast entry in rax for the closure in rcx with the frame at `callee`.
    pub(super) fn call_entry(&mut self, callee: u32, pc: u32) -> Emit {
        call_fast_entry(&mut self.a, callee, pc)?;
        self.a.test(rax, rax)?;
        self.a.jnz(self.error)?;
        Ok(())
    }

    /// `INVOKE`: a cached method of the receiver's shape at its compiled
    /// entry, else the helper.
    pub(super) fn invoke(
        &mut self,
        receiver: u32,
        argc: u32,
        k: u32,
        cache: u32,
        known: Option<Known>,
        pc: u32,
    ) -> Emit {
        let (entry, mut resume) = self.slow_labels();
        self.a.mov(rax, slot(receiver))?;
        match known {
            Some(known) => {
                // The method of the only shape seen, at its current entry.
                self.known_shape_guard(known.shape, entry)?;
                let closure = Value(known.value).as_obj() as *const ObjClosure;
                self.a.mov(rcx, closure as u64)?;
                // SAFETY: the shape, and so its class's method closures and
                // their functions, live as long as this code (`code_roots`).
                let (function, arity) = unsafe { ((*closure).function, (*(*closure).function).arity) };
                if function as u64 == self.input.addresses.function && argc == self.input.arity {
                    // A method calling itself: its own fast entry, directly.
                    self.a.mov(dword_ptr(r15 + fl::FRAME_PC), pc)?;
                    self.a.lea(rdx, slot(receiver))?;
                    self.a.call(self.fast_entry)?;
                    self.a.test(rax, rax)?;
                    self.a.jnz(self.error)?;
                } else if arity == argc {
                    // The arity is known: only whether it is compiled is not.
                    let a = &mut self.a;
                    a.mov(rdx, function as u64)?;
                    a.mov(rax, qword_ptr(rdx + obj::FUNCTION_FAST))?;
                    a.test(rax, rax)?;
                    a.jz(entry)?;
                    self.call_entry(receiver, pc)?;
                } else {
                    // The wrong argument count: the helper raises the error.
                    self.a.jmp(entry)?;
                }
            }
            None => {
                let mut unknown = self.a.create_label();
                self.shape_guard(cache, entry)?;
                let a = &mut self.a;
                // The cached method is a closure value; its entry is cached when compiled.
                a.mov(rcx, qword_ptr(rdx + obj::CACHE_VALUE))?;
                a.sub(rcx, qword_ptr(r12 + VM_OBJECT_TAG))?;
                a.mov(rax, qword_ptr(rdx + obj::CACHE_ENTRY))?;
                a.test(rax, rax)?;
                a.jz(unknown)?;
                self.call_entry(receiver, pc)?;
                self.a.jmp(resume)?;
                self.set(&mut unknown)?;
                self.a.mov(rdx, qword_ptr(rcx + obj::CLOSURE_FUNCTION))?;
                fast_entry_of(&mut self.a, argc, entry)?;
                self.call_entry(receiver, pc)?;
            }
        }
        self.set(&mut resume)?;
        let kind = SlowKind::Invoke { receiver, argc, k, cache, pc };
        self.slow_paths.push(SlowPath { entry, resume, kind });
        Ok(())
    }

    /// `dst = a % b` (C's fmod): integral operands below 2^63 (the divisor
    /// neither 0 nor -1) by an integer division, whose remainder is the
    /// exact fmod except for the sign of a zero, taken from the dividend;
    /// anything else calls fmod out of line.
    pub(super) fn modulo(&mut self, dst: Val, x: Val, y: Val) -> Emit {
        let (entry, mut resume) = self.slow_labels();
        let mut nonzero = self.a.create_label();
        self.load_xmm(xmm1, y)?;
        exact_integer(&mut self.a, rcx, xmm1, entry)?;
        let a = &mut self.a;
        a.lea(rax, qword_ptr(rcx + 1))?;
        a.cmp(rax, 1)?;
        a.jbe(entry)?;
        self.load_xmm(xmm1, x)?;
        exact_integer(&mut self.a, rax, xmm1, entry)?;
        let a = &mut self.a;
        a.cqo()?;
        a.idiv(rcx)?;
        a.cvtsi2sd(xmm0, rdx)?;
        a.test(rdx, rdx)?;
        a.jnz(nonzero)?;
        // A zero remainder has the dividend's sign (-4 % 2 is -0).
        a.movq(rax, xmm1)?;
        a.mov(rcx, crate::value::SIGN_BIT)?;
        a.and(rax, rcx)?;
        a.movq(xmm0, rax)?;
        self.set(&mut nonzero)?;
        self.store_xmm(dst, xmm0)?;
        self.set(&mut resume)?;
        self.slow_paths.push(SlowPath { entry, resume, kind: SlowKind::Fmod { dst, a: x, b: y } });
        Ok(())
    }

    /// A safepoint poll: when another thread (or a signal, or the fuel
    /// budget) asks, parks out of line and goes on in this code.
    pub(super) fn poll(&mut self, deopt: DeoptId) -> Emit {
        let (entry, mut resume) = self.slow_labels();
        self.a.cmp(byte_ptr(r12 + VM_POLL), 0)?;
        self.a.jne(entry)?;
        self.set(&mut resume)?;
        self.slow_paths.push(SlowPath { entry, resume, kind: SlowKind::Poll(deopt) });
        Ok(())
    }

    /// Writes the numbers (and copies, and fused field loads) of guard
    /// `id`'s frame state into their slots (deopt stubs, parked polls).
    pub(super) fn write_frame_state(&mut self, id: DeoptId) -> Emit {
        let state = &self.input.func.deopts[id as usize];
        for &(dst, src) in &state.copies {
            self.a.mov(rax, slot(src))?;
            self.a.mov(slot(dst), rax)?;
        }
        for &(s, src, index) in &state.fields {
            self.reload_field(s, src, index)?;
        }
        for &(s, v) in &state.values {
            self.box_to_slot(s, v)?;
        }
        Ok(())
    }

    fn save_xmm(&mut self, restore: bool) -> Emit {
        let first = self.input.alloc.spill_slots;
        for (i, &r) in self.saved_xmm.iter().enumerate() {
            let at = spill(first + i as u32);
            if restore {
                self.a.movq(XMM[r as usize], at)?;
            } else {
                self.a.movq(at, XMM[r as usize])?;
            }
        }
        Ok(())
    }

    /// Emits a slow path (after the body).
    pub(super) fn slow_path(&mut self, mut path: SlowPath) -> Emit {
        self.set(&mut path.entry)?;
        match path.kind {
            SlowKind::Helper(id) => {
                let slow = &self.input.func.slows[id as usize];
                for &(dst, src) in &slow.copies {
                    self.a.mov(rax, slot(src))?;
                    self.a.mov(slot(dst), rax)?;
                }
                for &(s, v) in &slow.values {
                    self.box_to_slot(s, v)?;
                }
                self.save_xmm(false)?;
                enter_helper(&mut self.a, slow.pc, slow.depth)?;
                let helper = match slow.helper {
                    SlowHelper::GetProperty { k, cache } | SlowHelper::SetProperty { k, cache } => {
                        self.a.mov(edx, k)?;
                        self.a.mov(rcx, self.cache_address(cache))?;
                        if matches!(slow.helper, SlowHelper::GetProperty { .. }) {
                            Helper::GetProperty
                        } else {
                            Helper::SetProperty
                        }
                    }
                    SlowHelper::GetIndex => Helper::GetIndex,
                    SlowHelper::SetIndex => Helper::SetIndex,
                };
                self.call_abs(helper.address() as u64)?;
                self.save_xmm(true)?;
            }
            SlowKind::Poll(id) => {
                self.write_frame_state(id)?;
                self.save_xmm(false)?;
                let state = &self.input.func.deopts[id as usize];
                enter_helper(&mut self.a, state.pc + 1, state.depth)?;
                self.call_abs(Helper::Safepoint.address() as u64)?;
                self.save_xmm(true)?;
            }
            SlowKind::Fmod { dst, a, b } => {
                self.load_xmm(xmm0, a)?;
                self.load_xmm(xmm1, b)?;
                self.save_xmm(false)?;
                self.call_abs(fmod as extern "sysv64" fn(f64, f64) -> f64 as usize as u64)?;
                self.save_xmm(true)?;
                self.store_xmm(dst, xmm0)?;
                self.a.jmp(path.resume)?;
                return Ok(());
            }
            SlowKind::Invoke { receiver, argc, k, cache, pc } => {
                enter_helper(&mut self.a, pc, receiver + argc + 1)?;
                self.a.mov(edx, k)?;
                self.a.mov(ecx, argc)?;
                self.a.mov(r8, self.cache_address(cache))?;
                self.call_abs(Helper::Invoke.address() as u64)?;
            }
        }
        self.a.test(rax, rax)?;
        self.a.jnz(self.error)?;
        self.a.jmp(path.resume)?;
        Ok(())
    }

    /// A call, as the baseline's (`lower/opcodes.rs`'s `call`): the callee
    /// the site's cache remembers at its cached entry (a class: its
    /// instance allocated inline, then its `init`); another compiled
    /// closure of the right arity directly (this function at its own fast
    /// entry), remembered in the cache; the rest through the helper.
    pub(super) fn call(&mut self, callee: u32, argc: u32, cache: u32, pc: u32, intrinsic: Intrinsic) -> Emit {
        let slow = self.a.create_label();
        let mut resume = self.a.create_label();
        if intrinsic == Intrinsic::Push {
            self.push_in_place(callee, resume)?;
        }
        let mut uncached = self.a.create_label();
        let class = self.a.create_label();
        let mut cached = self.a.create_label();
        let site = self.cache_address(cache);
        self.a.mov(rax, slot(callee))?;
        if argc == self.input.arity {
            self.self_call(callee, pc, resume)?;
        }
        let a = &mut self.a;
        a.mov(rdx, site)?;
        a.cmp(rax, qword_ptr(rdx + obj::CACHE_VALUE))?;
        a.jne(uncached)?;
        a.mov(rcx, qword_ptr(rdx + obj::CACHE_KEY))?;
        a.cmp(byte_ptr(rcx + obj::OBJ_KIND), ObjKind::Class as i32)?;
        a.je(class)?;
        self.set(&mut cached)?;
        self.a.mov(rax, qword_ptr(rdx + obj::CACHE_ENTRY))?;
        self.call_entry(callee, pc)?;
        self.a.jmp(resume)?;
        self.set(&mut uncached)?;
        let a = &mut self.a;
        object_guard(a, rax, rcx, slow)?;
        kind_guard(a, rcx, ObjKind::Closure, slow)?;
        a.mov(rdx, qword_ptr(rcx + obj::CLOSURE_FUNCTION))?;
        fast_entry_of(&mut self.a, argc, slow)?;
        // Remember the callee (as `call::cache_callee` does).
        let a = &mut self.a;
        a.mov(rdx, site)?;
        a.mov(qword_ptr(rdx + obj::CACHE_KEY), rcx)?;
        a.mov(qword_ptr(rdx + obj::CACHE_ENTRY), rax)?;
        a.mov(rsi, slot(callee))?;
        a.mov(qword_ptr(rdx + obj::CACHE_VALUE), rsi)?;
        self.call_entry(callee, pc)?;
        self.slow_calls.push(SlowCall { entry: slow, resume, class, cached, callee, argc, cache, pc });
        self.set(&mut resume)
    }

    /// `len` in place (see `Inst::Len`); counts the call as the native's
    /// call would.
    pub(super) fn len(&mut self, dst: Val, callee: u32, arg: u32, deopt: DeoptId) -> Emit {
        self.stress(deopt)?;
        let fail = self.deopts[deopt as usize];
        let mut have = self.a.create_label();
        let mut not_array = self.a.create_label();
        let mut not_string = self.a.create_label();
        native_guard(&mut self.a, callee, Intrinsic::Len, fail)?;
        let a = &mut self.a;
        a.mov(rax, slot(arg))?;
        object_guard(a, rax, rcx, fail)?;
        kind_guard(a, rcx, ObjKind::Array, not_array)?;
        a.mov(rax, qword_ptr(rcx + obj::ARRAY_LEN))?;
        a.jmp(have)?;
        self.set(&mut not_array)?;
        kind_guard(&mut self.a, rcx, ObjKind::String, not_string)?;
        self.a.mov(rax, qword_ptr(rcx + obj::STRING_LENGTH))?;
        self.a.jmp(have)?;
        self.set(&mut not_string)?;
        kind_guard(&mut self.a, rcx, ObjKind::Map, fail)?;
        self.a.mov(rax, qword_ptr(rcx + obj::MAP_LIVE))?;
        self.set(&mut have)?;
        self.a.cvtsi2sd(xmm0, rax)?;
        self.store_xmm(dst, xmm0)?;
        self.a.inc(qword_ptr(r13 + fl::THREAD_CALLS))?;
        Ok(())
    }

    /// `push(array, item)` when the callee is that native and the array
    /// has room (as `natives::core::push` without growing), on to
    /// `resume`; anything else falls through to the call.
    fn push_in_place(&mut self, callee: u32, resume: CodeLabel) -> Emit {
        let mut call = self.a.create_label();
        native_guard(&mut self.a, callee, Intrinsic::Push, call)?;
        let a = &mut self.a;
        a.mov(rax, slot(callee + 1))?;
        object_guard(a, rax, rcx, call)?;
        kind_guard(a, rcx, ObjKind::Array, call)?;
        a.mov(rdx, qword_ptr(rcx + obj::ARRAY_LEN))?;
        a.cmp(rdx, qword_ptr(rcx + obj::ARRAY_CAP))?;
        a.jae(call)?;
        a.mov(rsi, qword_ptr(rcx + obj::ARRAY_PTR))?;
        a.mov(rdi, slot(callee + 2))?;
        a.mov(qword_ptr(rsi + rdx * 8), rdi)?;
        a.inc(rdx)?;
        a.mov(qword_ptr(rcx + obj::ARRAY_LEN), rdx)?;
        // The result is the array.
        a.mov(slot(callee), rax)?;
        a.inc(qword_ptr(r13 + fl::THREAD_CALLS))?;
        a.jmp(resume)?;
        self.set(&mut call)
    }

    /// `sqrt` in place (see `Inst::Sqrt`); counts the call.
    pub(super) fn sqrt(&mut self, dst: Val, callee: u32, x: Val, deopt: DeoptId) -> Emit {
        self.stress(deopt)?;
        let fail = self.deopts[deopt as usize];
        native_guard(&mut self.a, callee, Intrinsic::Sqrt, fail)?;
        match self.loc(x) {
            Loc::Xmm(r) => self.a.sqrtsd(xmm0, XMM[r as usize])?,
            Loc::Stack(i) => self.a.sqrtsd(xmm0, spill(i))?,
        }
        self.store_xmm(dst, xmm0)?;
        self.a.inc(qword_ptr(r13 + fl::THREAD_CALLS))?;
        Ok(())
    }

    /// With the callee's value in rax (kept): a call of this function goes
    /// to its own fast entry (which redirects to the baseline code once
    /// invalidated) and on to `resume`; anything else falls through.
    fn self_call(&mut self, callee: u32, pc: u32, resume: CodeLabel) -> Emit {
        let mut other = self.a.create_label();
        let a = &mut self.a;
        object_guard(a, rax, rcx, other)?;
        kind_guard(a, rcx, ObjKind::Closure, other)?;
        a.mov(rdx, self.input.addresses.function)?;
        a.cmp(rdx, qword_ptr(rcx + obj::CLOSURE_FUNCTION))?;
        a.jne(other)?;
        a.mov(dword_ptr(r15 + fl::FRAME_PC), pc)?;
        a.lea(rdx, slot(callee))?;
        a.call(self.fast_entry)?;
        a.test(rax, rax)?;
        a.jnz(self.error)?;
        a.jmp(resume)?;
        self.set(&mut other)
    }

    pub(super) fn slow_call(&mut self, mut call: SlowCall) -> Emit {
        // A cached class (in rcx): its instance into the callee slot, then
        // the cached call of its `init` (closure in rcx, cache in rdx).
        self.set(&mut call.class)?;
        allocate_instance(&mut self.a, call.entry)?;
        let site = self.cache_address(call.cache);
        let a = &mut self.a;
        a.mov(slot(call.callee), rax)?;
        a.mov(rdx, site)?;
        a.mov(rcx, qword_ptr(rcx + obj::CLASS_INITIALIZER))?;
        a.sub(rcx, qword_ptr(r12 + VM_OBJECT_TAG))?;
        a.jmp(call.cached)?;
        self.set(&mut call.entry)?;
        let a = &mut self.a;
        a.mov(dword_ptr(r15 + fl::FRAME_PC), call.pc)?;
        a.lea(rax, slot(call.callee + call.argc + 1))?;
        a.mov(qword_ptr(r13 + fl::THREAD_SP), rax)?;
        a.mov(rdi, r12)?;
        a.mov(rsi, r13)?;
        a.lea(rdx, slot(call.callee))?;
        a.mov(ecx, call.argc)?;
        a.mov(r8, site)?;
        self.call_abs(self.input.addresses.call)?;
        self.a.test(rax, rax)?;
        self.a.jnz(self.error)?;
        self.a.jmp(call.resume)?;
        Ok(())
    }
}

/// `a % b` for the slow path of `modulo` (Rust's `%` on f64 is C's fmod,
/// as `vm::operators::modulo` computes it).
extern "sysv64" fn fmod(a: f64, b: f64) -> f64 {
    a % b
}

/// `int` = the number in `number` as an integer, jumping to `fail` unless
/// the conversion is exact (out of range and NaN give 2^63, which converts
/// back to another number). Clobbers xmm0, or xmm1 when `number` is xmm0.
fn exact_integer(
    a: &mut CodeAssembler,
    int: AsmRegister64,
    number: AsmRegisterXmm,
    fail: CodeLabel,
) -> Result<(), LowerError> {
    let back = if number == xmm0 { xmm1 } else { xmm0 };
    a.cvttsd2si(int, number)?;
    a.cvtsi2sd(back, int)?;
    a.ucomisd(back, number)?;
    a.jne(fail)?;
    a.jp(fail)?;
    Ok(())
}
