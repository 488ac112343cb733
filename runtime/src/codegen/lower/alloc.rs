//! Inline allocation of instances: the common case of `heap::new_instance`
//! in generated code, for `CALL` sites whose cached callee is a class (in
//! the baseline and the optimized code alike).
//!
//! It does what `heap::alloc_object` and `heap::new_instance` do for an
//! instance that fits a pool class with a non-empty free list and no
//! collection due: pop the free list, account the bytes, write the header,
//! link the object into the heap's list and fill in the instance. Anything
//! else (a collection due, which GC stress makes always true; an empty free
//! list; a large instance) jumps to the helper, which stays the reference.
//! Generated code holds the VM lock, as every pool user must.

use super::asm::{slot, Emit};
use super::Lowerer;
use crate::heap::layout as heap;
use crate::object::layout as obj;
use crate::object::ObjKind;
use crate::vm::layout::VM_OBJECT_TAG;
use iced_x86::code_asm::*;

/// The out-of-line part of a `CALL` site whose cached callee is a class
/// with a compiled `init`: allocate the instance into the callee slot, then
/// continue at the site's cached call with the initializer.
pub(super) struct ClassCall {
    pub entry: CodeLabel,
    /// Where the `NEW_INSTANCE` helper path resumes (instance in the slot).
    pub after_helper: CodeLabel,
    /// The helper path, for when the inline allocation does not apply.
    pub helper: CodeLabel,
    /// The site's call of the cached entry (closure in rcx, cache in rdx).
    pub call_cached: CodeLabel,
    pub callee: u32,
    pub cache: i64,
    pub pc: u32,
}

impl Lowerer<'_> {
    /// Emits a `ClassCall` block (with the slow paths, after the body).
    pub(super) fn class_call_block(&mut self, mut block: ClassCall) -> Emit {
        let mut init = self.a.create_label();
        self.set(&mut block.after_helper)?;
        self.records.slow_lines.push((self.a.instructions().len(), block.pc - 1));
        self.load_cache(rdx, block.cache)?;
        self.a.mov(rcx, qword_ptr(rdx + obj::CACHE_KEY))?;
        self.a.jmp(init)?;
        self.set(&mut block.entry)?;
        self.records.slow_lines.push((self.a.instructions().len(), block.pc - 1));
        allocate_instance(&mut self.a, block.helper)?;
        self.a.mov(slot(block.callee), rax)?;
        self.load_cache(rdx, block.cache)?;
        // Class in rcx, cache in rdx.
        self.set(&mut init)?;
        self.a.mov(rcx, qword_ptr(rcx + obj::CLASS_INITIALIZER))?;
        self.untag_object(rcx)?;
        self.a.jmp(block.call_cached)?;
        Ok(())
    }
}

/// Allocates an instance of the class whose pointer is in rcx (left
/// unchanged) and leaves its value in rax, or jumps to `slow` with the
/// heap untouched. Clobbers rdx, rsi, rdi, r8 and r9.
pub(crate) fn allocate_instance(a: &mut CodeAssembler, slow: CodeLabel) -> Result<(), IcedError> {
    // eax = inline field slots, rsi = size, rdx = pool class.
    a.mov(eax, dword_ptr(rcx + obj::CLASS_FIELD_HINT))?;
    a.cmp(eax, heap::MAX_POOLED_FIELDS as i32)?;
    a.ja(slow)?;
    a.lea(rsi, qword_ptr(rax * 8 + obj::INSTANCE_INLINE_FIELDS as i32))?;
    a.mov(rdi, qword_ptr(r12 + heap::HEAP_BYTES_ALLOCATED))?;
    a.add(rdi, rsi)?;
    a.cmp(rdi, qword_ptr(r12 + heap::HEAP_NEXT_GC))?;
    a.ja(slow)?;
    a.lea(rdx, qword_ptr(rsi - 1))?;
    a.shr(rdx, heap::GRANULE_SHIFT)?;
    // Pop the free list; start loading the next node (as `Pools::alloc`).
    a.mov(r8, qword_ptr(r12 + rdx * 8 + heap::HEAP_FREE_LISTS as i32))?;
    a.test(r8, r8)?;
    a.jz(slow)?;
    a.mov(r9, qword_ptr(r8))?;
    a.mov(qword_ptr(r12 + rdx * 8 + heap::HEAP_FREE_LISTS as i32), r9)?;
    a.prefetcht0(byte_ptr(r9))?;
    a.mov(qword_ptr(r12 + heap::HEAP_BYTES_ALLOCATED), rdi)?;
    a.add(qword_ptr(r12 + heap::HEAP_ALLOCATED_TOTAL), rsi)?;
    // The header (`Obj::new(ObjKind::Instance)`), first in the heap's list.
    a.mov(qword_ptr(r8 + obj::OBJ_HEADER_WORD), ObjKind::Instance as i32)?;
    a.mov(r9, qword_ptr(r12 + heap::HEAP_OBJECTS))?;
    a.mov(qword_ptr(r8 + obj::OBJ_NEXT), r9)?;
    a.mov(qword_ptr(r12 + heap::HEAP_OBJECTS), r8)?;
    // The instance: its class's root shape, no fields yet, inline slots.
    a.mov(qword_ptr(r8 + obj::INSTANCE_CLASS), rcx)?;
    a.mov(r9, qword_ptr(rcx + obj::CLASS_ROOT_SHAPE))?;
    a.mov(qword_ptr(r8 + obj::INSTANCE_SHAPE), r9)?;
    a.lea(r9, qword_ptr(r8 + obj::INSTANCE_INLINE_FIELDS))?;
    a.mov(qword_ptr(r8 + obj::INSTANCE_FIELDS), r9)?;
    a.mov(dword_ptr(r8 + obj::INSTANCE_CAPACITY), eax)?;
    a.mov(dword_ptr(r8 + obj::INSTANCE_INLINE_CAPACITY), eax)?;
    a.mov(rax, r8)?;
    a.add(rax, qword_ptr(r12 + VM_OBJECT_TAG))?;
    Ok(())
}
