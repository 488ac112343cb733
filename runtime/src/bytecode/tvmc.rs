//! The `.tvmc` file format: encoding and decoding of a `Module`.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic "TVMC" | version u16 | flags u16 | payload length u32 | FNV-1a-64 of payload u64 | payload
//! payload: source name, globals, functions (see `write_function`)
//! ```
//!
//! Strings are a u32 length and their bytes: UTF-8 for names, any bytes for
//! string constants (Lox strings are bytes). Decoding checks every length
//! against the bytes that remain, so a corrupted count cannot cause a huge
//! allocation; the verifier (`verify.rs`) then checks the code itself.

use super::module::{Constant, FunctionKind, FunctionProto, LocalInfo, Module};

pub const MAGIC: &[u8; 4] = b"TVMC";
/// Version 2: `CALL` has an inline-cache operand. Version 3: a list of
/// source files, each function names its file; `FOR_IN_*` instructions.
pub const FORMAT_VERSION: u16 = 3;
const HEADER_SIZE: usize = 4 + 2 + 2 + 4 + 8;

/// Why a file could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// FNV-1a, 64 bit (the `fnv` crate): detects every single-byte change of
/// the payload.
pub fn checksum(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// Serializes a module into `.tvmc` bytes.
pub fn encode(module: &Module) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(module.sources.len() as u32);
    for s in &module.sources {
        w.string(s);
    }
    w.u32(module.globals.len() as u32);
    for g in &module.globals {
        w.string(g);
    }
    w.u32(module.functions.len() as u32);
    for f in &module.functions {
        write_function(&mut w, f);
    }
    let payload = w.bytes;
    let mut out = Vec::with_capacity(HEADER_SIZE + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

fn write_function(w: &mut Writer, f: &FunctionProto) {
    w.string(&f.name);
    w.string(&f.short_name);
    w.u8(f.kind as u8);
    w.u8(f.arity);
    w.u32(f.upvalue_count);
    w.u32(f.cache_count);
    w.u32(f.line);
    w.u32(f.source);
    w.u32(f.code.len() as u32);
    w.bytes.extend_from_slice(&f.code);
    w.u32(f.lines.len() as u32);
    for &(offset, line) in &f.lines {
        w.u32(offset);
        w.u32(line);
    }
    w.u32(f.constants.len() as u32);
    for c in &f.constants {
        match c {
            Constant::Number(n) => {
                w.u8(0);
                w.bytes.extend_from_slice(&n.to_bits().to_le_bytes());
            }
            Constant::String(s) => {
                w.u8(1);
                w.bytes_string(s);
            }
            Constant::Function(i) => {
                w.u8(2);
                w.u32(*i);
            }
        }
    }
    w.u32(f.locals.len() as u32);
    for l in &f.locals {
        w.string(&l.name);
        w.u32(l.slot);
        w.u32(l.start);
        w.u32(l.end);
        w.u8(l.is_parameter as u8);
    }
}

/// A number constant as a value can hold it: a NaN read from a file may
/// carry any payload, including the bits of a boxed object or singleton
/// (values are NaN-boxed), so every NaN becomes the one quiet NaN.
fn canonical(n: f64) -> f64 {
    if n.is_nan() {
        f64::NAN
    } else {
        n
    }
}

/// Whether `bytes` start like a `.tvmc` file (used to pick the loader).
pub fn looks_like_tvmc(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Checks the header and checksum and decodes the module (not yet verified).
pub fn decode(bytes: &[u8]) -> Result<Module, FormatError> {
    if bytes.len() < HEADER_SIZE {
        return Err(FormatError("file is truncated (no complete header)".into()));
    }
    if &bytes[0..4] != MAGIC {
        return Err(FormatError("not a TinyVM bytecode file (bad magic)".into()));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FORMAT_VERSION {
        return Err(FormatError(format!(
            "unsupported format version {} (this runtime reads version {})",
            version, FORMAT_VERSION
        )));
    }
    let flags = u16::from_le_bytes([bytes[6], bytes[7]]);
    if flags != 0 {
        return Err(FormatError(format!("unknown flags {:#x}", flags)));
    }
    let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let payload = &bytes[HEADER_SIZE..];
    if payload.len() != len {
        return Err(FormatError(format!(
            "payload is {} bytes but the header says {} (truncated or padded file)",
            payload.len(),
            len
        )));
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&bytes[12..20]);
    if u64::from_le_bytes(sum) != checksum(payload) {
        return Err(FormatError("checksum mismatch (the file is corrupted)".into()));
    }
    decode_payload(payload)
}

/// Decodes a payload without the header (the fuzz target calls this directly
/// so that it explores the decoder rather than the checksum).
pub fn decode_payload(payload: &[u8]) -> Result<Module, FormatError> {
    let mut r = Reader { bytes: payload, at: 0 };
    let source_count = r.count(4)?;
    let mut sources = Vec::with_capacity(source_count);
    for _ in 0..source_count {
        sources.push(r.string()?);
    }
    let global_count = r.count(4)?;
    let mut globals = Vec::with_capacity(global_count);
    for _ in 0..global_count {
        globals.push(r.string()?);
    }
    let function_count = r.count(30)?;
    let mut functions = Vec::with_capacity(function_count);
    for _ in 0..function_count {
        functions.push(read_function(&mut r)?);
    }
    if r.at != payload.len() {
        return Err(FormatError(format!("{} unexpected bytes after the last function", payload.len() - r.at)));
    }
    Ok(Module { sources, globals, functions })
}

fn read_function(r: &mut Reader) -> Result<FunctionProto, FormatError> {
    let name = r.string()?;
    let short_name = r.string()?;
    let kind = FunctionKind::from_byte(r.u8()?).ok_or_else(|| FormatError("unknown function kind".into()))?;
    let arity = r.u8()?;
    let upvalue_count = r.u32()?;
    let cache_count = r.u32()?;
    let line = r.u32()?;
    let source = r.u32()?;
    let code_len = r.count(1)?;
    let code = r.take(code_len)?.to_vec();
    let line_count = r.count(8)?;
    let mut lines = Vec::with_capacity(line_count);
    for _ in 0..line_count {
        lines.push((r.u32()?, r.u32()?));
    }
    let constant_count = r.count(5)?;
    let mut constants = Vec::with_capacity(constant_count);
    for _ in 0..constant_count {
        constants.push(match r.u8()? {
            0 => Constant::Number(canonical(f64::from_bits(r.u64()?))),
            1 => Constant::String(r.bytes_string()?.to_vec()),
            2 => Constant::Function(r.u32()?),
            t => return Err(FormatError(format!("unknown constant tag {}", t))),
        });
    }
    let local_count = r.count(17)?;
    let mut locals = Vec::with_capacity(local_count);
    for _ in 0..local_count {
        locals.push(LocalInfo {
            name: r.string()?,
            slot: r.u32()?,
            start: r.u32()?,
            end: r.u32()?,
            is_parameter: r.u8()? != 0,
        });
    }
    Ok(FunctionProto {
        name,
        short_name,
        kind,
        arity,
        upvalue_count,
        cache_count,
        line,
        source,
        code,
        lines,
        constants,
        locals,
    })
}

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn string(&mut self, s: &str) {
        self.bytes_string(s.as_bytes());
    }
    fn bytes_string(&mut self, s: &[u8]) {
        self.u32(s.len() as u32);
        self.bytes.extend_from_slice(s);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if self.bytes.len() - self.at < n {
            return Err(FormatError(format!("unexpected end of data at byte {}", self.at)));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, FormatError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, FormatError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
    /// A count of elements that each take at least `min_size` bytes.
    fn count(&mut self, min_size: usize) -> Result<usize, FormatError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.bytes.len() - self.at {
            return Err(FormatError(format!("count {} at byte {} exceeds the file size", n, self.at - 4)));
        }
        Ok(n)
    }
    /// A name: UTF-8 text.
    fn string(&mut self) -> Result<String, FormatError> {
        let b = self.bytes_string()?;
        String::from_utf8(b.to_vec()).map_err(|_| FormatError(format!("invalid UTF-8 in a name at byte {}", self.at)))
    }
    /// A string constant: any bytes.
    fn bytes_string(&mut self) -> Result<&'a [u8], FormatError> {
        let n = self.count(1)?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NaN constant with the bits of a boxed object must not become one.
    #[test]
    fn nan_constants_decode_as_the_one_quiet_nan() {
        let module = Module {
            sources: vec!["n.tvm".into()],
            globals: vec![],
            functions: vec![FunctionProto {
                name: "script".into(),
                short_name: "script".into(),
                kind: FunctionKind::Script,
                arity: 0,
                upvalue_count: 0,
                cache_count: 0,
                line: 1,
                source: 0,
                code: vec![1, 34],
                lines: vec![(0, 1)],
                constants: vec![Constant::Number(f64::from_bits(0xfffc_0000_0000_1000)), Constant::Number(-0.5)],
                locals: vec![],
            }],
        };
        let decoded = decode(&encode(&module)).expect("decodes");
        let bits: Vec<u64> = decoded.functions[0]
            .constants
            .iter()
            .map(|c| match c {
                Constant::Number(n) => n.to_bits(),
                _ => 0,
            })
            .collect();
        assert_eq!(bits, [f64::NAN.to_bits(), (-0.5f64).to_bits()]);
    }
}
