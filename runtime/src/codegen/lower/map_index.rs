//! `GET_INDEX` and `SET_INDEX`: arrays inline in the body; maps in an
//! out-of-line block (so that the array path stays as short as it was).
//!
//! The map block mirrors `object::map`: the key normalized as
//! `normalize_key` does (`-0` becomes `0`; NaN goes to the helper, which
//! raises), the home slot as `home_slot` computes it (the key's bits times
//! `HASH_MULTIPLIER`, shifted right by the map's `shift`), and the probe of
//! `ObjMap::find` (linear, wrapping with `mask`, ending at `EMPTY_SLOT`).
//! A key found is read, or (`SET_INDEX`) its value replaced in place, which
//! changes no key, so the map's `version` stays. A key absent reads as nil;
//! storing to it (a new key, maybe a rebuild) and every other case is the
//! helper's, which stays the reference.

use super::asm::{slot, Emit};
use super::{ColdBlock, Lowerer};
use crate::bytecode::opcode::Op;
use crate::helper_of;
use crate::object::layout as obj;
use crate::object::map::{EMPTY_SLOT, HASH_MULTIPLIER};
use crate::object::ObjKind;
use crate::value::Value;
use iced_x86::code_asm::*;

/// The out-of-line map case of an indexing instruction: entered with the
/// receiver's object pointer in rcx when it is an object but no array.
pub(super) struct MapIndex {
    entry: CodeLabel,
    /// The instruction's helper path.
    slow: CodeLabel,
    resume: CodeLabel,
    /// The operand-stack depth before the instruction.
    depth: u32,
    /// `SET_INDEX` (else `GET_INDEX`).
    set: bool,
    /// Whether `SET_INDEX`'s result (the value) must be stored.
    result_needed: bool,
    pc: u32,
}

impl Lowerer<'_> {
    /// Loads the array index in rax into rdx when it is an integer in
    /// `0..len` of the array at rcx; else jumps to `slow` (the helper
    /// raises). Clobbers xmm0 and xmm1.
    fn array_index(&mut self, slow: CodeLabel) -> Emit {
        self.jump_unless_number(rax, rdx, slow)?;
        self.a.movq(xmm0, rax)?;
        self.a.cvttsd2si(rdx, xmm0)?;
        self.a.cvtsi2sd(xmm1, rdx)?;
        self.a.ucomisd(xmm0, xmm1)?;
        self.a.jne(slow)?;
        self.a.jp(slow)?;
        self.a.cmp(rdx, qword_ptr(rcx + obj::ARRAY_LEN))?;
        self.a.jae(slow)?;
        Ok(())
    }

    /// `GET_INDEX`: an array element inline, a map's value in the map
    /// block, the rest (strings, errors) in the helper.
    pub(super) fn get_index(&mut self, pc: u32, d: u32) -> Emit {
        let (slow, mut resume) = self.slow_path(pc, d, helper_of!(Op::GetIndex), vec![]);
        let not_array = self.a.create_label();
        self.a.mov(rax, slot(d - 2))?;
        self.jump_unless_object(rax, rcx, slow)?;
        self.cmp_kind(rcx, ObjKind::Array)?;
        self.a.jne(not_array)?;
        self.a.mov(rax, slot(d - 1))?;
        self.array_index(slow)?;
        self.a.mov(rcx, qword_ptr(rcx + obj::ARRAY_PTR))?;
        self.a.mov(rax, qword_ptr(rcx + rdx * 8))?;
        self.a.mov(slot(d - 2), rax)?;
        self.set(&mut resume)?;
        let block = MapIndex { entry: not_array, slow, resume, depth: d, set: false, result_needed: true, pc };
        self.out_of_line.cold_blocks.push(ColdBlock::MapIndex(block));
        Ok(())
    }

    /// `SET_INDEX`: an array element stored inline, an existing map key's
    /// value replaced in the map block, the rest (new keys, errors) in the
    /// helper. The result (the value) is not stored when a `POP` follows.
    pub(super) fn set_index(&mut self, pc: u32, d: u32, next: Option<usize>) -> Emit {
        let (slow, mut resume) = self.slow_path(pc, d, helper_of!(Op::SetIndex), vec![]);
        let not_array = self.a.create_label();
        let result_needed = !self.popped_next(next);
        self.a.mov(rax, slot(d - 3))?;
        self.jump_unless_object(rax, rcx, slow)?;
        self.cmp_kind(rcx, ObjKind::Array)?;
        self.a.jne(not_array)?;
        self.a.mov(rax, slot(d - 2))?;
        self.array_index(slow)?;
        self.a.mov(rcx, qword_ptr(rcx + obj::ARRAY_PTR))?;
        self.a.mov(rax, slot(d - 1))?;
        self.a.mov(qword_ptr(rcx + rdx * 8), rax)?;
        if result_needed {
            self.a.mov(slot(d - 3), rax)?;
        }
        self.set(&mut resume)?;
        let block = MapIndex { entry: not_array, slow, resume, depth: d, set: true, result_needed, pc };
        self.out_of_line.cold_blocks.push(ColdBlock::MapIndex(block));
        Ok(())
    }

    /// Emits a `MapIndex` block (with the slow paths, after the body).
    pub(super) fn map_index_block(&mut self, mut block: MapIndex) -> Emit {
        let d = block.depth;
        let (receiver, key) = if block.set { (d - 3, d - 2) } else { (d - 2, d - 1) };
        let mut key_ready = self.a.create_label();
        let mut probe = self.a.create_label();
        let mut found = self.a.create_label();
        let mut absent = self.a.create_label();
        self.set(&mut block.entry)?;
        self.records.slow_lines.push((self.a.instructions().len(), block.pc - 1));
        self.cmp_kind(rcx, ObjKind::Map)?;
        self.a.jne(block.slow)?;
        self.a.mov(rax, slot(key))?;
        // `normalize_key`: a number that is NaN goes to the helper; a zero
        // (either sign: twice its bits is 0) becomes +0.
        self.test_tag_bits(rax, rdx)?;
        self.a.jz(key_ready)?;
        self.a.movq(xmm0, rax)?;
        self.a.ucomisd(xmm0, xmm0)?;
        self.a.jp(block.slow)?;
        self.a.lea(rdx, qword_ptr(rax + rax))?;
        self.a.test(rdx, rdx)?;
        self.a.cmovz(rax, rdx)?;
        self.set(&mut key_ready)?;
        // `home_slot`: rdx = (key * HASH_MULTIPLIER) >> shift.
        let a = &mut self.a;
        a.mov(rsi, rcx)?;
        a.mov(rdx, HASH_MULTIPLIER)?;
        a.imul_2(rdx, rax)?;
        a.mov(ecx, dword_ptr(rsi + obj::MAP_SHIFT))?;
        a.shr(rdx, cl)?;
        a.mov(rdi, qword_ptr(rsi + obj::MAP_INDEX))?;
        a.mov(r8, qword_ptr(rsi + obj::MAP_ENTRIES))?;
        // `ObjMap::find`: rcx = the entry's offset in the entries.
        self.set(&mut probe)?;
        let a = &mut self.a;
        a.mov(ecx, dword_ptr(rdi + rdx * 4))?;
        a.cmp(ecx, EMPTY_SLOT as i32)?;
        a.je(absent)?;
        const _: () = assert!(obj::MAP_ENTRY_SIZE == 1 << 4);
        a.shl(rcx, 4)?;
        a.cmp(rax, qword_ptr(r8 + rcx))?;
        a.je(found)?;
        a.add(rdx, 1)?;
        a.and(rdx, qword_ptr(rsi + obj::MAP_MASK))?;
        a.jmp(probe)?;
        self.set(&mut found)?;
        let value = qword_ptr(r8 + rcx + obj::MAP_ENTRY_VALUE);
        let a = &mut self.a;
        if block.set {
            a.mov(rax, slot(d - 1))?;
            a.mov(value, rax)?;
            if block.result_needed {
                a.mov(slot(receiver), rax)?;
            }
        } else {
            a.mov(rax, value)?;
            a.mov(slot(receiver), rax)?;
        }
        a.jmp(block.resume)?;
        self.set(&mut absent)?;
        if block.set {
            // A new key: the helper inserts it.
            self.a.jmp(block.slow)?;
        } else {
            self.a.mov(rax, Value::NIL.0)?;
            self.a.mov(slot(receiver), rax)?;
            self.a.jmp(block.resume)?;
        }
        Ok(())
    }
}
