//! gdb's JIT interface: each JIT-compiled function is described by an
//! in-memory ELF object (its symbols, `abi::code_symbols`, and DWARF line, variable and frame
//! information from `debuginfo` at the code's real addresses) linked into
//! `__jit_debug_descriptor`, and gdb is told through its breakpoint on
//! `__jit_debug_register_code`. So `bt` in gdb names JIT-compiled TinyVM
//! functions and lines. Entries are removed when the code is freed.
//! Only used under the VM lock.

use super::debuginfo::{debug_units, DebugFile, DebugFunction};
use super::lower::LoweredFunction;
use crate::bytecode::module::FunctionProto;
use gimli::write::{Address, EndianVec, Sections};
use gimli::LittleEndian;
use object::write::{Object, Symbol, SymbolSection};
use object::{Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope};

#[repr(C)]
pub struct JitCodeEntry {
    next_entry: *mut JitCodeEntry,
    prev_entry: *mut JitCodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

#[repr(C)]
pub struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut JitCodeEntry,
    first_entry: *mut JitCodeEntry,
}

const JIT_REGISTER_FN: u32 = 1;
const JIT_UNREGISTER_FN: u32 = 2;

/// Read by gdb (the name and layout are gdb's).
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut __jit_debug_descriptor: JitDescriptor = JitDescriptor {
    version: 1,
    action_flag: 0,
    relevant_entry: std::ptr::null_mut(),
    first_entry: std::ptr::null_mut(),
};

/// gdb puts a breakpoint here; it must not be inlined or removed.
#[no_mangle]
#[inline(never)]
pub extern "C" fn __jit_debug_register_code() {
    std::hint::black_box(());
}

/// A function's entry in gdb's list, unregistered when dropped.
pub struct Registration {
    entry: Box<JitCodeEntry>,
    _image: Vec<u8>,
}

// SAFETY: registrations are created and dropped under the VM lock only.
unsafe impl Send for Registration {}

/// Builds the ELF image describing `code` (the installed copy of `lowered`).
fn image(proto: &FunctionProto, lowered: &LoweredFunction, code: *const u8, source: &str) -> Option<Vec<u8>> {
    let len = lowered.code.len() as u64;
    let start = Address::Constant(code as u64);
    let function = DebugFunction { proto, lowered, start, len };
    let file = DebugFile { path: std::path::Path::new(source), start, len, functions: vec![function] };
    let mut unit = debug_units(&[file]);
    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    unit.dwarf.write(&mut sections).ok()?;
    unit.frames.write_debug_frame(&mut sections.debug_frame).ok()?;

    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
    obj.set_section_data(text, lowered.code.clone(), 16);
    for symbol in super::abi::code_symbols(&proto.name, len) {
        obj.add_symbol(Symbol {
            name: symbol.name,
            value: symbol.offset,
            size: symbol.size,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
    }
    let _ = sections.for_each(|id, section| -> Result<(), ()> {
        if !section.slice().is_empty() {
            let sid = obj.add_section(Vec::new(), id.name().as_bytes().to_vec(), SectionKind::Debug);
            obj.set_section_data(sid, section.slice().to_vec(), 1);
        }
        Ok(())
    });
    let mut bytes = obj.write().ok()?;
    set_text_address(&mut bytes, code as u64).then_some(bytes)
}

/// Sets the address of the executable section in an ELF64 image (the code
/// was placed by the JIT, not by a linker).
fn set_text_address(bytes: &mut [u8], address: u64) -> bool {
    let read = |b: &[u8], at: usize, n: usize| -> Option<u64> {
        let s = b.get(at..at + n)?;
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(s);
        Some(u64::from_le_bytes(v))
    };
    let (Some(shoff), Some(shentsize), Some(shnum)) =
        (read(bytes, 0x28, 8), read(bytes, 0x3A, 2), read(bytes, 0x3C, 2))
    else {
        return false;
    };
    for i in 0..shnum as usize {
        let header = shoff as usize + i * shentsize as usize;
        const SHF_EXECINSTR: u64 = 4;
        if read(bytes, header + 8, 8).is_some_and(|flags| flags & SHF_EXECINSTR != 0) {
            if let Some(field) = bytes.get_mut(header + 16..header + 24) {
                field.copy_from_slice(&address.to_le_bytes());
                return true;
            }
        }
    }
    false
}

/// Registers JIT code with gdb. Returns None if the image cannot be built.
pub fn register(
    proto: &FunctionProto,
    lowered: &LoweredFunction,
    code: *const u8,
    source: &str,
) -> Option<Registration> {
    let image = image(proto, lowered, code, source)?;
    let mut entry = Box::new(JitCodeEntry {
        next_entry: std::ptr::null_mut(),
        prev_entry: std::ptr::null_mut(),
        symfile_addr: image.as_ptr(),
        symfile_size: image.len() as u64,
    });
    // SAFETY: the descriptor is only touched under the VM lock; the entry is
    // boxed (stable address) and lives until unregistered in `drop`.
    unsafe {
        let descriptor = &mut *std::ptr::addr_of_mut!(__jit_debug_descriptor);
        entry.next_entry = descriptor.first_entry;
        if !descriptor.first_entry.is_null() {
            (*descriptor.first_entry).prev_entry = &mut *entry;
        }
        descriptor.first_entry = &mut *entry;
        descriptor.relevant_entry = &mut *entry;
        descriptor.action_flag = JIT_REGISTER_FN;
    }
    __jit_debug_register_code();
    Some(Registration { entry, _image: image })
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: as in `register`; the entry is in the list.
        unsafe {
            let descriptor = &mut *std::ptr::addr_of_mut!(__jit_debug_descriptor);
            let entry: *mut JitCodeEntry = &mut *self.entry;
            if !(*entry).prev_entry.is_null() {
                (*(*entry).prev_entry).next_entry = (*entry).next_entry;
            } else {
                descriptor.first_entry = (*entry).next_entry;
            }
            if !(*entry).next_entry.is_null() {
                (*(*entry).next_entry).prev_entry = (*entry).prev_entry;
            }
            descriptor.relevant_entry = entry;
            descriptor.action_flag = JIT_UNREGISTER_FN;
        }
        __jit_debug_register_code();
    }
}
