//! DWARF for compiled functions, built with gimli: shared by `tinyvm build
//! -g` (symbolic addresses, written into the program's object with
//! relocations) and the JIT (absolute addresses, in the in-memory ELF it
//! registers with gdb). Only the finishing differs, as for the code itself.
//!
//! One compile unit per source file (producer `tinyvm VERSION`); a
//! subprogram per function, named as the program names it (`fib`,
//! `Tree.check`, `script`), with its declaration line, address range, and
//! its parameters and locals as variables located in the value stack
//! (`r14 + 8 * slot`, r14 being the frame base in generated code), locals
//! in nested lexical blocks covering their scopes; a line-table row
//! wherever the source line changes (slow paths as non-statement rows); and
//! call frame information from the lowering's unwind program.
//!
//! Types, for gdb's expressions and its pretty-printer
//! (`compiler/src/aot/gdb/tinyvm_gdb.py`): a value is `tinyvm_value`, a
//! typedef of `double`, so number values compare and compute as numbers
//! (`break fib if n == 2`, `print n + 1`; any other value is a NaN and
//! equals nothing); a function returns `struct tinyvm_return { unsigned
//! int status; tinyvm_bits value; }`, which the System V ABI returns in
//! rax:rdx, where generated code leaves the status and the result, so
//! `finish` shows the returned value.

use super::lower::{dwarf_reg, LoweredFunction, Unwind};
use crate::bytecode::module::{FunctionKind, FunctionProto};
use gimli::write::{
    Address, AttributeValue, CallFrameInstruction, CommonInformationEntry, Dwarf, Expression, FileId,
    FrameDescriptionEntry, FrameTable, LineProgram, LineString, Unit, UnitEntryId,
};
use gimli::{constants, Encoding, Format, LineEncoding, Register};

/// The type name the gdb pretty-printer recognizes.
pub const VALUE_TYPE: &str = "tinyvm_value";
/// A value's bits as an integer (the `value` of `RETURN_TYPE`).
pub const BITS_TYPE: &str = "tinyvm_bits";
/// What a compiled function returns (status in rax, result in rdx).
pub const RETURN_TYPE: &str = "tinyvm_return";

/// The DWARF types of a compile unit.
#[derive(Clone, Copy)]
struct Types {
    value: UnitEntryId,
    result: UnitEntryId,
}

/// A compiled function to describe.
pub struct DebugFunction<'a> {
    pub proto: &'a FunctionProto,
    pub lowered: &'a LoweredFunction,
    /// Where its code starts.
    pub start: Address,
    pub len: u64,
}

/// `text` as a DWARF string or ELF symbol name: both end at a NUL byte, so
/// a NUL in a name (a `.tvmc` file may hold one) is written as U+FFFD.
pub fn dwarf_string(text: &str) -> Vec<u8> {
    text.replace('\0', "\u{FFFD}").into_bytes()
}

/// `address + offset`.
pub fn offset(address: Address, offset: u64) -> Address {
    match address {
        Address::Constant(a) => Address::Constant(a + offset),
        Address::Symbol { symbol, addend } => Address::Symbol { symbol, addend: addend + offset as i64 },
    }
}

/// One source file's compiled functions, for its compile unit: their code
/// lies in `len` bytes from `start`.
pub struct DebugFile<'a> {
    pub path: &'a std::path::Path,
    pub start: Address,
    pub len: u64,
    pub functions: Vec<DebugFunction<'a>>,
}

/// The DWARF of a program's files (a compile unit each) and the call frame
/// information of all their functions, ready to be written.
pub struct DebugUnits {
    pub dwarf: Dwarf,
    pub frames: FrameTable,
}

/// Describes the functions of `files`, a compile unit per file.
pub fn debug_units(files: &[DebugFile]) -> DebugUnits {
    let encoding = Encoding { format: Format::Dwarf32, version: 4, address_size: 8 };
    let mut dwarf = Dwarf::new();
    let mut frames = FrameTable::default();
    let cie = frames.add_cie(cie(encoding));
    for file in files {
        let unit = compile_unit(encoding, file.path, file.start, file.len);
        let id = dwarf.units.add(unit);
        let unit = dwarf.units.get_mut(id);
        let root = unit.root();
        let types = types(unit, root);
        let dir = unit.line_program.default_directory();
        let name = file.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let file_id = unit.line_program.add_file(LineString::String(dwarf_string(&name)), dir, None);
        for function in &file.functions {
            describe_function(unit, root, file_id, types, function);
            line_rows(unit, file_id, function);
            frames.add_fde(cie, fde(function));
        }
    }
    DebugUnits { dwarf, frames }
}

/// The compile unit of source file `path`, covering `len` bytes from `start`.
fn compile_unit(encoding: Encoding, path: &std::path::Path, start: Address, len: u64) -> Unit {
    let directory = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let line_program = LineProgram::new(
        encoding,
        LineEncoding::default(),
        LineString::String(dwarf_string(&directory)),
        None,
        LineString::String(dwarf_string(&file_name)),
        None,
    );
    let mut unit = Unit::new(encoding, line_program);
    let root = unit.root();
    let entry = unit.get_mut(root);
    let producer = format!("tinyvm {}", env!("CARGO_PKG_VERSION"));
    entry.set(constants::DW_AT_producer, AttributeValue::String(producer.into_bytes()));
    entry.set(constants::DW_AT_language, AttributeValue::Language(constants::DW_LANG_C99));
    entry.set(constants::DW_AT_name, AttributeValue::String(dwarf_string(&file_name)));
    entry.set(constants::DW_AT_comp_dir, AttributeValue::String(dwarf_string(&directory)));
    entry.set(constants::DW_AT_low_pc, AttributeValue::Address(start));
    entry.set(constants::DW_AT_high_pc, AttributeValue::Udata(len));
    unit
}

/// A base type `name` of `size` bytes.
fn base_type(unit: &mut Unit, root: UnitEntryId, name: &str, encoding: constants::DwAte, size: u8) -> UnitEntryId {
    let base = unit.add(root, constants::DW_TAG_base_type);
    let entry = unit.get_mut(base);
    entry.set(constants::DW_AT_name, AttributeValue::String(name.as_bytes().to_vec()));
    entry.set(constants::DW_AT_encoding, AttributeValue::Encoding(encoding));
    entry.set(constants::DW_AT_byte_size, AttributeValue::Data1(size));
    base
}

/// `typedef TARGET name;`
fn typedef(unit: &mut Unit, root: UnitEntryId, name: &str, target: UnitEntryId) -> UnitEntryId {
    let typedef = unit.add(root, constants::DW_TAG_typedef);
    let entry = unit.get_mut(typedef);
    entry.set(constants::DW_AT_name, AttributeValue::String(name.as_bytes().to_vec()));
    entry.set(constants::DW_AT_type, AttributeValue::UnitRef(target));
    typedef
}

/// `typedef double tinyvm_value;`, `typedef unsigned long tinyvm_bits;` and
/// `struct tinyvm_return { unsigned int status; tinyvm_bits value; };`.
fn types(unit: &mut Unit, root: UnitEntryId) -> Types {
    let double = base_type(unit, root, "double", constants::DW_ATE_float, 8);
    let value = typedef(unit, root, VALUE_TYPE, double);
    let unsigned_long = base_type(unit, root, "unsigned long", constants::DW_ATE_unsigned, 8);
    let bits = typedef(unit, root, BITS_TYPE, unsigned_long);
    let unsigned_int = base_type(unit, root, "unsigned int", constants::DW_ATE_unsigned, 4);
    let result = unit.add(root, constants::DW_TAG_structure_type);
    let entry = unit.get_mut(result);
    entry.set(constants::DW_AT_name, AttributeValue::String(RETURN_TYPE.as_bytes().to_vec()));
    entry.set(constants::DW_AT_byte_size, AttributeValue::Data1(16));
    for (name, ty, at) in [("status", unsigned_int, 0u8), ("value", bits, 8)] {
        let member = unit.add(result, constants::DW_TAG_member);
        let entry = unit.get_mut(member);
        entry.set(constants::DW_AT_name, AttributeValue::String(name.as_bytes().to_vec()));
        entry.set(constants::DW_AT_type, AttributeValue::UnitRef(ty));
        entry.set(constants::DW_AT_data_member_location, AttributeValue::Data1(at));
    }
    Types { value, result }
}

fn describe_function(unit: &mut Unit, root: UnitEntryId, file: FileId, types: Types, function: &DebugFunction) {
    let value_type = types.value;
    let (proto, lowered) = (function.proto, function.lowered);
    let sub = unit.add(root, constants::DW_TAG_subprogram);
    let entry = unit.get_mut(sub);
    entry.set(constants::DW_AT_name, AttributeValue::String(dwarf_string(&proto.name)));
    entry.set(constants::DW_AT_decl_file, AttributeValue::FileIndex(Some(file)));
    entry.set(constants::DW_AT_decl_line, AttributeValue::Udata(proto.line.max(1) as u64));
    entry.set(constants::DW_AT_low_pc, AttributeValue::Address(function.start));
    entry.set(constants::DW_AT_high_pc, AttributeValue::Udata(function.len));
    entry.set(constants::DW_AT_external, AttributeValue::Flag(true));
    entry.set(constants::DW_AT_type, AttributeValue::UnitRef(types.result));
    let mut frame_base = Expression::new();
    frame_base.op_reg(Register(dwarf_reg::RBP));
    entry.set(constants::DW_AT_frame_base, AttributeValue::Exprloc(frame_base));

    // Where the code of bytecode offset `at` (or the next one) starts. The
    // body is laid out in bytecode order, so both offsets of `lines` ascend.
    let native_of = |at: u32| -> u64 {
        let next = lowered.lines.partition_point(|&(_, b)| b < at);
        lowered.lines.get(next).map(|&(n, _)| n as u64).unwrap_or(function.len)
    };
    if proto.kind == FunctionKind::Method || proto.kind == FunctionKind::Initializer {
        variable(unit, sub, value_type, "this", 0, true);
    }
    // Lox scopes nest, so a later local's range lies inside the ranges of
    // the locals still in scope: each gets a block inside theirs.
    let mut locals: Vec<_> = proto.locals.iter().collect();
    locals.sort_by_key(|l| (l.start, std::cmp::Reverse(l.end)));
    let mut open: Vec<(u32, UnitEntryId)> = Vec::new();
    for local in locals {
        if local.is_parameter {
            variable(unit, sub, value_type, &local.name, local.slot, true);
            continue;
        }
        while open.last().is_some_and(|&(end, _)| local.start >= end || local.end > end) {
            open.pop();
        }
        let parent = open.last().map(|&(_, block)| block).unwrap_or(sub);
        let (start, end) = (native_of(local.start), native_of(local.end));
        let block = unit.add(parent, constants::DW_TAG_lexical_block);
        let entry = unit.get_mut(block);
        entry.set(constants::DW_AT_low_pc, AttributeValue::Address(offset(function.start, start)));
        entry.set(constants::DW_AT_high_pc, AttributeValue::Udata(end.max(start) - start));
        variable(unit, block, value_type, &local.name, local.slot, false);
        open.push((local.end, block));
    }
}

/// A parameter or local at `r14 + 8 * slot`.
fn variable(unit: &mut Unit, parent: UnitEntryId, value_type: UnitEntryId, name: &str, slot: u32, parameter: bool) {
    let tag = if parameter { constants::DW_TAG_formal_parameter } else { constants::DW_TAG_variable };
    let var = unit.add(parent, tag);
    let entry = unit.get_mut(var);
    entry.set(constants::DW_AT_name, AttributeValue::String(dwarf_string(name)));
    entry.set(constants::DW_AT_type, AttributeValue::UnitRef(value_type));
    let mut location = Expression::new();
    location.op_breg(Register(dwarf_reg::R14), slot as i64 * 8);
    entry.set(constants::DW_AT_location, AttributeValue::Exprloc(location));
}

/// Line rows: the declaration line for the prologue, then a row wherever
/// the source line changes; slow paths get non-statement rows (lines for
/// backtraces, but no breakpoint locations).
fn line_rows(unit: &mut Unit, file: FileId, function: &DebugFunction) {
    let (proto, lowered) = (function.proto, function.lowered);
    let program = &mut unit.line_program;
    program.begin_sequence(Some(function.start));
    let emit = |program: &mut LineProgram, at: u32, line: u32, statement: bool, prologue_end: bool| {
        let row = program.row();
        row.address_offset = at as u64;
        row.file = file;
        row.line = line.max(1) as u64;
        row.is_statement = statement;
        row.prologue_end = prologue_end;
        program.generate_row();
    };
    emit(program, 0, proto.line, true, false);
    let mut last_line = None;
    for &(native, bytecode) in &lowered.lines {
        let line = proto.line_at(bytecode as usize);
        let body_start = native == lowered.body_start;
        if Some(line) != last_line || body_start {
            emit(program, native, line, true, body_start);
            last_line = Some(line);
        }
    }
    for &(native, bytecode) in &lowered.slow_lines {
        emit(program, native, proto.line_at(bytecode as usize), false, false);
    }
    program.end_sequence(function.len);
}

fn cie(encoding: Encoding) -> CommonInformationEntry {
    let mut cie = CommonInformationEntry::new(encoding, 1, -8, Register(dwarf_reg::RA));
    cie.add_instruction(CallFrameInstruction::Cfa(Register(dwarf_reg::RSP), 8));
    cie.add_instruction(CallFrameInstruction::Offset(Register(dwarf_reg::RA), -8));
    cie
}

fn fde(function: &DebugFunction) -> FrameDescriptionEntry {
    let mut fde = FrameDescriptionEntry::new(function.start, function.len as u32);
    let saved = [dwarf_reg::RBP, dwarf_reg::RBX, dwarf_reg::R12, dwarf_reg::R13, dwarf_reg::R14, dwarf_reg::R15];
    for &(at, step) in &function.lowered.unwind {
        let instructions = match step {
            Unwind::Entry | Unwind::Popped => {
                let mut v = vec![CallFrameInstruction::Cfa(Register(dwarf_reg::RSP), 8)];
                v.extend(saved.iter().map(|&r| CallFrameInstruction::Restore(Register(r))));
                v
            }
            Unwind::PushedFramePointer => {
                vec![CallFrameInstruction::CfaOffset(16), CallFrameInstruction::Offset(Register(dwarf_reg::RBP), -16)]
            }
            Unwind::FramePointerSet => vec![CallFrameInstruction::CfaRegister(Register(dwarf_reg::RBP))],
            Unwind::Saved { register, offset } => {
                vec![CallFrameInstruction::Offset(Register(register), -(offset as i32))]
            }
            Unwind::Remember => vec![CallFrameInstruction::RememberState],
            Unwind::Restore => vec![CallFrameInstruction::RestoreState],
        };
        for instruction in instructions {
            fde.add_instruction(at, instruction);
        }
    }
    fde
}
