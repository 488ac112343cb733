//! DWARF for `tinyvm build -g`: the runtime's shared description of the
//! compiled functions (`codegen::debuginfo`) at symbolic addresses in
//! `.text`, written into the program's object with ELF relocations, plus
//! the gdb support script in `.debug_gdb_scripts`.

use super::elf_writer::TextLayout;
use gimli::write::{Address, EndianVec, RelocateWriter, Relocation, RelocationTarget, Sections};
use gimli::{LittleEndian, SectionId};
use object::write::{Object, SymbolId};
use object::{elf, RelocationFlags, SectionKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tinyvm_runtime::bytecode::module::Module;
use tinyvm_runtime::codegen::debuginfo::{debug_unit, DebugFunction};
use tinyvm_runtime::codegen::lower::LoweredFunction;

/// Symbol 0 in gimli addresses: the object's `.text` section.
const TEXT: usize = 0;

pub struct DebugInfo<'a> {
    module: &'a Module,
    lowered: &'a [Result<LoweredFunction, String>],
    path: PathBuf,
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
        let path = std::path::absolute(src).unwrap_or_else(|_| src.to_path_buf());
        DebugInfo { module, lowered, path }
    }

    /// Adds the DWARF sections to `obj` for code laid out as in `layout`.
    pub fn write(&self, obj: &mut Object, layout: &TextLayout) -> Result<(), String> {
        let total = layout.functions.iter().flatten().map(|&(offset, len)| offset + len).max().unwrap_or(0);
        let functions: Vec<DebugFunction> = layout
            .functions
            .iter()
            .enumerate()
            .filter_map(|(index, placed)| match (placed, self.lowered.get(index)) {
                (Some((offset, len)), Some(Ok(lowered))) => Some(DebugFunction {
                    proto: &self.module.functions[index],
                    lowered,
                    start: text_address(*offset),
                    len: *len,
                }),
                _ => None,
            })
            .collect();
        let mut unit = debug_unit(&self.path, text_address(0), total, &functions);
        let mut sections = Sections::new(Section { data: EndianVec::new(LittleEndian), relocations: Vec::new() });
        unit.dwarf.write(&mut sections).map_err(|e| e.to_string())?;
        unit.frames.write_debug_frame(&mut sections.debug_frame).map_err(|e| e.to_string())?;
        add_sections(obj, &sections)?;
        let scripts = obj.add_section(Vec::new(), b".debug_gdb_scripts".to_vec(), SectionKind::Debug);
        obj.set_section_data(scripts, super::gdb_script::debug_gdb_scripts(), 1);
        Ok(())
    }
}

/// Adds each non-empty section, with its relocations, to the object.
fn add_sections(obj: &mut Object, sections: &Sections<Section>) -> Result<(), String> {
    let text = obj.section_id(object::write::StandardSection::Text);
    let text_symbol = obj.section_symbol(text);
    let mut ids: HashMap<SectionId, object::write::SectionId> = HashMap::new();
    sections.for_each(|id, section| -> Result<(), String> {
        if !section.data.slice().is_empty() {
            let sid = obj.add_section(Vec::new(), id.name().as_bytes().to_vec(), SectionKind::Debug);
            obj.set_section_data(sid, section.data.slice().to_vec(), 1);
            ids.insert(id, sid);
        }
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
            let relocation = object::write::Relocation {
                offset: r.offset as u64,
                symbol,
                addend: r.addend,
                flags: RelocationFlags::Elf { r_type },
            };
            obj.add_relocation(sid, relocation).map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}
