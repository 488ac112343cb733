//! Writes the ELF relocatable object of a program: machine code in `.text`
//! (two local symbols per function, `abi::code_symbols`), the program's bytecode in `.rodata`,
//! and in `.data.rel.ro` the table of function entry points and the
//! `tvm_program` descriptor that the runtime's `main` reads.

use object::write::{Object, Relocation, StandardSection, Symbol, SymbolId, SymbolSection};
use object::{
    elf, Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use std::collections::HashMap;
use tinyvm_runtime::bytecode::module::Module;
use tinyvm_runtime::codegen::abi::{code_symbols, CodeSymbol};
use tinyvm_runtime::codegen::helpers::Helper;
use tinyvm_runtime::codegen::lower::LoweredFunction;
use tinyvm_runtime::program::descriptor_layout as layout;

/// Where each function's code landed in `.text` (for DWARF).
#[derive(Clone, Debug, Default)]
pub struct TextLayout {
    /// (offset in .text, length) per function with code.
    pub functions: Vec<Option<(u64, u64)>>,
}

fn abs64(obj: &mut Object, section: object::write::SectionId, offset: u64, symbol: SymbolId, addend: i64) {
    obj.add_relocation(
        section,
        Relocation { offset, symbol, addend, flags: RelocationFlags::Elf { r_type: elf::R_X86_64_64 } },
    )
    .expect("valid relocation");
}

/// Adds sections to the object once the code is laid out (DWARF).
pub type AddSections<'a> = &'a dyn Fn(&mut Object, &TextLayout);

/// Builds the object. `code[i]` is the lowering of function `i`, if any;
/// `flags` are the descriptor's `PROGRAM_*` bits.
pub fn write_object(
    module: &Module,
    bytecode: &[u8],
    flags: u64,
    code: &[Option<&LoweredFunction>],
    debug: Option<AddSections>,
) -> Result<Vec<u8>, String> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    let mut helper_symbols: HashMap<Helper, SymbolId> = HashMap::new();
    let mut function_symbols = vec![None; module.functions.len()];
    let mut layout = TextLayout { functions: vec![None; module.functions.len()] };
    // Each source file's functions together, so that its DWARF compile
    // unit covers one range of `.text`.
    let mut order: Vec<usize> = (0..code.len()).collect();
    order.sort_by_key(|&i| (module.functions[i].source, i));
    for index in order {
        let Some(lowered) = code[index] else { continue };
        let offset = obj.append_section_data(text, &lowered.code, 16);
        layout.functions[index] = Some((offset, lowered.code.len() as u64));
        let [stub, body] = code_symbols(&module.functions[index].name, lowered.code.len() as u64);
        let mut symbol_of = |s: CodeSymbol| {
            obj.add_symbol(Symbol {
                name: s.name,
                value: offset + s.offset,
                size: s.size,
                kind: SymbolKind::Text,
                scope: SymbolScope::Compilation,
                weak: false,
                section: SymbolSection::Section(text),
                flags: SymbolFlags::None,
            })
        };
        // The entry table points at the start (the stub): Rust calls there.
        let symbol = symbol_of(stub);
        symbol_of(body);
        function_symbols[index] = Some(symbol);
        for call in &lowered.helper_calls {
            let helper = *helper_symbols.entry(call.helper).or_insert_with(|| {
                obj.add_symbol(Symbol {
                    name: call.helper.symbol().as_bytes().to_vec(),
                    value: 0,
                    size: 0,
                    kind: SymbolKind::Text,
                    scope: SymbolScope::Unknown,
                    weak: false,
                    section: SymbolSection::Undefined,
                    flags: SymbolFlags::None,
                })
            });
            obj.add_relocation(
                text,
                Relocation {
                    offset: offset + call.offset as u64,
                    symbol: helper,
                    addend: -4,
                    flags: RelocationFlags::Elf { r_type: elf::R_X86_64_PLT32 },
                },
            )
            .map_err(|e| e.to_string())?;
        }
    }

    let rodata = obj.section_id(StandardSection::ReadOnlyData);
    let bytecode_offset = obj.append_section_data(rodata, bytecode, 16);
    let rodata_symbol = obj.section_symbol(rodata);

    let relro = obj.section_id(StandardSection::ReadOnlyDataWithRel);
    let table = vec![0u8; module.functions.len() * 8];
    let table_offset = obj.append_section_data(relro, &table, 8);
    for (index, symbol) in function_symbols.iter().enumerate() {
        if let Some(symbol) = symbol {
            abs64(&mut obj, relro, table_offset + index as u64 * 8, *symbol, 0);
        }
    }
    let relro_symbol = obj.section_symbol(relro);
    // The runtime's `ProgramDescriptor`, field by field at its offsets.
    let mut descriptor = vec![0u8; layout::SIZE];
    let mut put = |at: usize, value: u64| descriptor[at..at + 8].copy_from_slice(&value.to_le_bytes());
    put(layout::BYTECODE_LEN, bytecode.len() as u64);
    put(layout::NATIVE_COUNT, module.functions.len() as u64);
    put(layout::FLAGS, flags);
    let descriptor_offset = obj.append_section_data(relro, &descriptor, 8);
    abs64(&mut obj, relro, descriptor_offset + layout::BYTECODE as u64, rodata_symbol, bytecode_offset as i64);
    abs64(&mut obj, relro, descriptor_offset + layout::NATIVES as u64, relro_symbol, table_offset as i64);
    obj.add_symbol(Symbol {
        name: b"tvm_program".to_vec(),
        value: descriptor_offset,
        size: descriptor.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(relro),
        flags: SymbolFlags::None,
    });
    // A non-executable stack.
    obj.add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Other);
    if let Some(add_debug) = debug {
        add_debug(&mut obj, &layout);
    }
    obj.write().map_err(|e| e.to_string())
}
