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
use tinyvm_runtime::codegen::debuginfo::{debug_units, DebugFile, DebugFunction};
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

    /// The absolute path of source file `name` (the main file is `path`;
    /// an import's name is relative to where the compiler ran).
    fn source_path(&self, name: &str) -> PathBuf {
        if name == self.module.source_name() {
            return self.path.clone();
        }
        std::path::absolute(name).unwrap_or_else(|_| PathBuf::from(name))
    }

    /// Adds the DWARF sections to `obj` for code laid out as in `layout`:
    /// a compile unit per source file (the object writer lays each file's
    /// functions out together, so each unit covers one range).
    pub fn write(&self, obj: &mut Object, layout: &TextLayout) -> Result<(), String> {
        let paths: Vec<PathBuf> = self.module.sources.iter().map(|s| self.source_path(s)).collect();
        let mut files: Vec<DebugFile> = paths
            .iter()
            .map(|path| DebugFile { path, start: text_address(0), len: 0, functions: Vec::new() })
            .collect();
        let mut ranges: Vec<Option<(u64, u64)>> = vec![None; files.len()];
        for (index, placed) in layout.functions.iter().enumerate() {
            let (Some((offset, len)), Some(Ok(lowered))) = (placed, self.lowered.get(index)) else { continue };
            let proto = &self.module.functions[index];
            let file = (proto.source as usize).min(files.len() - 1);
            files[file].functions.push(DebugFunction { proto, lowered, start: text_address(*offset), len: *len });
            let range = ranges[file].get_or_insert((*offset, *offset + *len));
            *range = (range.0.min(*offset), range.1.max(*offset + *len));
        }
        for (file, range) in files.iter_mut().zip(&ranges) {
            if let Some((start, end)) = range {
                file.start = text_address(*start);
                file.len = end - start;
            }
        }
        files.retain(|f| !f.functions.is_empty());
        let mut unit = debug_units(&files);
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
