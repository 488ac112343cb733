//! DWARF for `tinyvm build -g`, written with gimli into the program's object.
//!
//! One compile unit for the source file (producer `tinyvm VERSION`); a
//! subprogram per compiled function, named as the program names it
//! (`fib`, `Tree.check`, `script`), with its declaration line, address range,
//! and its parameters and locals as variables located in the value stack
//! (`r14 + 8 * slot`, r14 being the frame base in generated code), each in a
//! lexical block covering its scope; a line-table row wherever the source
//! line changes (slow paths included); and call frame information
//! (`.debug_frame`) from the lowering's unwind program, so gdb unwinds
//! through generated frames into the runtime and back.

use super::object::TextLayout;
use gimli::write::{
    Address, AttributeValue, CallFrameInstruction, CommonInformationEntry, DwarfUnit, EndianVec, Expression,
    FrameDescriptionEntry, FrameTable, LineProgram, LineString, RelocateWriter, Relocation, RelocationTarget, Sections,
    UnitEntryId,
};
use gimli::{constants, Encoding, Format, LineEncoding, LittleEndian, Register, SectionId};
use object::write::{Object, SymbolId};
use object::{elf, RelocationFlags, SectionKind};
use std::collections::HashMap;
use std::path::Path;
use tinyvm_runtime::bytecode::module::{FunctionKind, Module};
use tinyvm_runtime::codegen::lower::{dwarf_reg, LoweredFunction, Unwind};

/// Symbol 0 in gimli addresses: the object's `.text` section.
const TEXT: usize = 0;
/// The type name the gdb pretty-printer recognizes.
pub const VALUE_TYPE: &str = "tinyvm_value";

pub struct DebugInfo<'a> {
    module: &'a Module,
    lowered: &'a [Result<LoweredFunction, String>],
    file_name: String,
    directory: String,
}

/// A section being written, with the relocations gimli asked for.
#[derive(Clone)]
struct Section {
    data: EndianVec<LittleEndian>,
    relocations: Vec<Relocation>,
}

impl RelocateWriter for Section {
    type Writer = EndianVec<LittleEndian>;
    fn writer(&self) -> &Self::Writer {
        &self.data
    }
    fn writer_mut(&mut self) -> &mut Self::Writer {
        &mut self.data
    }
    fn relocate(&mut self, relocation: Relocation) {
        self.relocations.push(relocation);
    }
}

fn text_address(offset: u64) -> Address {
    Address::Symbol { symbol: TEXT, addend: offset as i64 }
}

impl<'a> DebugInfo<'a> {
    pub fn new(module: &'a Module, lowered: &'a [Result<LoweredFunction, String>], src: &Path) -> DebugInfo<'a> {
        let absolute = std::path::absolute(src).unwrap_or_else(|_| src.to_path_buf());
        let directory = absolute.parent().map(|p| p.display().to_string()).unwrap_or_default();
        let file_name = absolute.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        DebugInfo { module, lowered, file_name, directory }
    }

    /// Adds the DWARF sections to `obj` for code laid out as in `layout`.
    pub fn write(&self, obj: &mut Object, layout: &TextLayout) -> Result<(), String> {
        let encoding = Encoding { format: Format::Dwarf32, version: 4, address_size: 8 };
        let mut dwarf = DwarfUnit::new(encoding);
        let line_program = LineProgram::new(
            encoding,
            LineEncoding::default(),
            LineString::String(self.directory.clone().into_bytes()),
            None,
            LineString::String(self.file_name.clone().into_bytes()),
            None,
        );
        dwarf.unit.line_program = line_program;
        let directory = dwarf.unit.line_program.default_directory();
        let file =
            dwarf.unit.line_program.add_file(LineString::String(self.file_name.clone().into_bytes()), directory, None);

        let root = dwarf.unit.root();
        let total: u64 = layout.functions.iter().flatten().map(|&(offset, len)| offset + len).max().unwrap_or(0);
        {
            let unit = dwarf.unit.get_mut(root);
            let producer = format!("tinyvm {}", env!("CARGO_PKG_VERSION"));
            unit.set(constants::DW_AT_producer, AttributeValue::String(producer.into_bytes()));
            unit.set(constants::DW_AT_language, AttributeValue::Language(constants::DW_LANG_C99));
            unit.set(constants::DW_AT_name, AttributeValue::String(self.file_name.clone().into_bytes()));
            unit.set(constants::DW_AT_comp_dir, AttributeValue::String(self.directory.clone().into_bytes()));
            unit.set(constants::DW_AT_low_pc, AttributeValue::Address(text_address(0)));
            unit.set(constants::DW_AT_high_pc, AttributeValue::Udata(total));
        }
        let value_type = self.value_type(&mut dwarf, root);

        let mut frames = FrameTable::default();
        let cie = frames.add_cie(self.cie(encoding));
        for (index, placed) in layout.functions.iter().enumerate() {
            let (Some((offset, len)), Some(Ok(lowered))) = (placed, self.lowered.get(index)) else { continue };
            self.function(&mut dwarf, root, file, value_type, index, *offset, *len, lowered);
            frames.add_fde(cie, self.fde(*offset, *len, lowered));
        }

        let mut sections = Sections::new(Section { data: EndianVec::new(LittleEndian), relocations: Vec::new() });
        dwarf.write(&mut sections).map_err(|e| e.to_string())?;
        frames.write_debug_frame(&mut sections.debug_frame).map_err(|e| e.to_string())?;
        self.add_sections(obj, &sections)?;
        let scripts = obj.add_section(Vec::new(), b".debug_gdb_scripts".to_vec(), SectionKind::Debug);
        obj.set_section_data(scripts, super::gdb_script::debug_gdb_scripts(), 1);
        Ok(())
    }

    /// `typedef unsigned long tinyvm_value;`
    fn value_type(&self, dwarf: &mut DwarfUnit, root: UnitEntryId) -> UnitEntryId {
        let base = dwarf.unit.add(root, constants::DW_TAG_base_type);
        let entry = dwarf.unit.get_mut(base);
        entry.set(constants::DW_AT_name, AttributeValue::String(b"unsigned long".to_vec()));
        entry.set(constants::DW_AT_encoding, AttributeValue::Encoding(constants::DW_ATE_unsigned));
        entry.set(constants::DW_AT_byte_size, AttributeValue::Data1(8));
        let typedef = dwarf.unit.add(root, constants::DW_TAG_typedef);
        let entry = dwarf.unit.get_mut(typedef);
        entry.set(constants::DW_AT_name, AttributeValue::String(VALUE_TYPE.as_bytes().to_vec()));
        entry.set(constants::DW_AT_type, AttributeValue::UnitRef(base));
        typedef
    }

    #[allow(clippy::too_many_arguments)]
    fn function(
        &self,
        dwarf: &mut DwarfUnit,
        root: UnitEntryId,
        file: gimli::write::FileId,
        value_type: UnitEntryId,
        index: usize,
        offset: u64,
        len: u64,
        lowered: &LoweredFunction,
    ) {
        let proto = &self.module.functions[index];
        let sub = dwarf.unit.add(root, constants::DW_TAG_subprogram);
        let entry = dwarf.unit.get_mut(sub);
        entry.set(constants::DW_AT_name, AttributeValue::String(proto.name.as_bytes().to_vec()));
        entry.set(constants::DW_AT_decl_file, AttributeValue::FileIndex(Some(file)));
        entry.set(constants::DW_AT_decl_line, AttributeValue::Udata(proto.line.max(1) as u64));
        entry.set(constants::DW_AT_low_pc, AttributeValue::Address(text_address(offset)));
        entry.set(constants::DW_AT_high_pc, AttributeValue::Udata(len));
        entry.set(constants::DW_AT_external, AttributeValue::Flag(true));
        let mut frame_base = Expression::new();
        frame_base.op_reg(Register(dwarf_reg::RBP));
        entry.set(constants::DW_AT_frame_base, AttributeValue::Exprloc(frame_base));

        // Where each bytecode offset's code starts (for variable scopes).
        let native_of = |bytecode: u32| -> u64 {
            lowered
                .lines
                .iter()
                .filter(|&&(n, b)| b >= bytecode && n >= lowered.body_start)
                .map(|&(n, _)| n as u64)
                .min()
                .unwrap_or(len)
        };
        if proto.kind == FunctionKind::Method || proto.kind == FunctionKind::Initializer {
            self.variable(dwarf, sub, value_type, "this", 0, true, None);
        }
        // Lox scopes nest, so a later local's range lies inside the ranges of
        // the locals still in scope: each gets a block inside theirs.
        let mut locals: Vec<_> = proto.locals.iter().collect();
        locals.sort_by_key(|l| (l.start, std::cmp::Reverse(l.end)));
        let mut open: Vec<(u32, u32, UnitEntryId)> = Vec::new();
        for local in locals {
            if local.is_parameter {
                self.variable(dwarf, sub, value_type, &local.name, local.slot, true, None);
                continue;
            }
            while open.last().is_some_and(|&(_, end, _)| local.start >= end || local.end > end) {
                open.pop();
            }
            let parent = open.last().map(|&(_, _, block)| block).unwrap_or(sub);
            let start = native_of(local.start);
            let end = native_of(local.end).max(start);
            let block = self.variable(
                dwarf,
                parent,
                value_type,
                &local.name,
                local.slot,
                false,
                Some((offset + start, end - start)),
            );
            open.push((local.start, local.end, block));
        }
        self.line_rows(dwarf, file, offset, len, lowered, index);
    }

    /// A parameter or local at `r14 + 8 * slot`; a local with a scope gets a
    /// lexical block covering it. Returns the block (or the parent).
    #[allow(clippy::too_many_arguments)]
    fn variable(
        &self,
        dwarf: &mut DwarfUnit,
        parent: UnitEntryId,
        value_type: UnitEntryId,
        name: &str,
        slot: u32,
        parameter: bool,
        scope: Option<(u64, u64)>,
    ) -> UnitEntryId {
        let parent = match scope {
            Some((start, length)) => {
                let block = dwarf.unit.add(parent, constants::DW_TAG_lexical_block);
                let entry = dwarf.unit.get_mut(block);
                entry.set(constants::DW_AT_low_pc, AttributeValue::Address(text_address(start)));
                entry.set(constants::DW_AT_high_pc, AttributeValue::Udata(length));
                block
            }
            None => parent,
        };
        let tag = if parameter { constants::DW_TAG_formal_parameter } else { constants::DW_TAG_variable };
        let var = dwarf.unit.add(parent, tag);
        let entry = dwarf.unit.get_mut(var);
        entry.set(constants::DW_AT_name, AttributeValue::String(name.as_bytes().to_vec()));
        entry.set(constants::DW_AT_type, AttributeValue::UnitRef(value_type));
        let mut location = Expression::new();
        location.op_breg(Register(dwarf_reg::R14), slot as i64 * 8);
        entry.set(constants::DW_AT_location, AttributeValue::Exprloc(location));
        parent
    }

    /// Line rows: the declaration line for the prologue, then a row wherever
    /// the source line changes.
    fn line_rows(
        &self,
        dwarf: &mut DwarfUnit,
        file: gimli::write::FileId,
        offset: u64,
        len: u64,
        lowered: &LoweredFunction,
        index: usize,
    ) {
        let proto = &self.module.functions[index];
        let program = &mut dwarf.unit.line_program;
        program.begin_sequence(Some(text_address(offset)));
        let emit = |program: &mut LineProgram, at: u64, line: u32, statement: bool, prologue_end: bool| {
            let row = program.row();
            row.address_offset = at;
            row.file = file;
            row.line = line.max(1) as u64;
            row.is_statement = statement;
            row.prologue_end = prologue_end;
            program.generate_row();
        };
        emit(program, 0, proto.line, true, false);
        let mut last_line = None;
        let mut first_body_row = true;
        for &(native, bytecode) in &lowered.lines {
            let line = proto.line_at(bytecode as usize);
            if Some(line) == last_line && native != lowered.body_start {
                continue;
            }
            last_line = Some(line);
            let prologue_end = first_body_row && native >= lowered.body_start;
            if prologue_end {
                first_body_row = false;
            }
            emit(program, native as u64, line, true, prologue_end);
        }
        // Slow paths: lines for backtraces, but no breakpoint locations.
        for &(native, bytecode) in &lowered.slow_lines {
            emit(program, native as u64, proto.line_at(bytecode as usize), false, false);
        }
        program.end_sequence(len);
    }

    fn cie(&self, encoding: Encoding) -> CommonInformationEntry {
        let mut cie = CommonInformationEntry::new(encoding, 1, -8, Register(dwarf_reg::RA));
        cie.add_instruction(CallFrameInstruction::Cfa(Register(dwarf_reg::RSP), 8));
        cie.add_instruction(CallFrameInstruction::Offset(Register(dwarf_reg::RA), -8));
        cie
    }

    fn fde(&self, offset: u64, len: u64, lowered: &LoweredFunction) -> FrameDescriptionEntry {
        let mut fde = FrameDescriptionEntry::new(text_address(offset), len as u32);
        let saved: &[u16] =
            &[dwarf_reg::RBP, dwarf_reg::RBX, dwarf_reg::R12, dwarf_reg::R13, dwarf_reg::R14, dwarf_reg::R15];
        for &(at, step) in &lowered.unwind {
            let instructions: Vec<CallFrameInstruction> = match step {
                Unwind::Entry | Unwind::Popped => {
                    let mut v = vec![CallFrameInstruction::Cfa(Register(dwarf_reg::RSP), 8)];
                    v.extend(saved.iter().map(|&r| CallFrameInstruction::Restore(Register(r))));
                    v
                }
                Unwind::PushedFramePointer => vec![
                    CallFrameInstruction::CfaOffset(16),
                    CallFrameInstruction::Offset(Register(dwarf_reg::RBP), -16),
                ],
                Unwind::FramePointerSet => vec![CallFrameInstruction::CfaRegister(Register(dwarf_reg::RBP))],
                Unwind::Saved { register, offset } => {
                    vec![CallFrameInstruction::Offset(Register(register), -(offset as i32))]
                }
            };
            for instruction in instructions {
                fde.add_instruction(at, instruction);
            }
        }
        fde
    }

    /// Adds each non-empty section, with its relocations, to the object.
    fn add_sections(&self, obj: &mut Object, sections: &Sections<Section>) -> Result<(), String> {
        let text = obj.section_id(object::write::StandardSection::Text);
        let text_symbol = obj.section_symbol(text);
        let mut ids: HashMap<SectionId, object::write::SectionId> = HashMap::new();
        sections.for_each(|id, section| -> Result<(), String> {
            if section.data.slice().is_empty() {
                return Ok(());
            }
            let sid = obj.add_section(Vec::new(), id.name().as_bytes().to_vec(), SectionKind::Debug);
            obj.set_section_data(sid, section.data.slice().to_vec(), 1);
            ids.insert(id, sid);
            Ok(())
        })?;
        let mut section_symbols: HashMap<SectionId, SymbolId> = HashMap::new();
        for (&id, &sid) in &ids {
            section_symbols.insert(id, obj.section_symbol(sid));
        }
        sections.for_each(|id, section| -> Result<(), String> {
            let Some(&sid) = ids.get(&id) else { return Ok(()) };
            for r in &section.relocations {
                let symbol = match r.target {
                    RelocationTarget::Symbol(_) => text_symbol,
                    RelocationTarget::Section(target) => {
                        *section_symbols.get(&target).ok_or_else(|| format!("no section {:?}", target))?
                    }
                };
                let r_type = match r.size {
                    4 => elf::R_X86_64_32,
                    8 => elf::R_X86_64_64,
                    s => return Err(format!("unsupported relocation size {}", s)),
                };
                obj.add_relocation(
                    sid,
                    object::write::Relocation {
                        offset: r.offset as u64,
                        symbol,
                        addend: r.addend,
                        flags: RelocationFlags::Elf { r_type },
                    },
                )
                .map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }
}
