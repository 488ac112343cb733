//! The bytecode verifier: proves a module safe to run before anything runs.
//!
//! The interpreter, the GC and generated code trust verified code: they
//! read operands without bounds checks and keep no other guard. So every
//! invariant they rely on is checked here, and each has a test that breaks
//! it (`tests::` below, or the end-to-end cases in `tests/bad_bytecode.rs`):
//!
//! 1. The module has functions; function 0, and only it, is a script
//!    with no parameters or upvalues (`rejects_a_second_script`;
//!    bad_bytecode.rs "no functions", "function 0 is not a script").
//! 2. Counts the runtime sizes memory by stay under `MAX_COUNT`, and a
//!    function has no more caches than code bytes (bad_bytecode.rs "more caches
//!    than the code has room for").
//! 3. The line table covers offset 0, ascends, stays in the code, and each
//!    entry starts an instruction, so that every tier reports the same
//!    line (`rejects_bad_line_tables`).
//! 4. Every instruction decodes, and every jump lands on an instruction
//!    start, forwards for JUMP/JUMP_IF_FALSE and backwards for LOOP
//!    (bad_bytecode.rs "unknown opcode", "truncated operand", "jump into an
//!    operand", "jump past the end"; `rejects_a_loop_that_jumps_forwards`).
//! 5. Operand indices are in range: constants, globals, upvalues and
//!    caches in every instruction, reachable or not (the loader rewrites
//!    the global operands of all of them), and locals below the current
//!    stack depth (bad_bytecode.rs "constant out of range", "global out of range",
//!    "local beyond the stack", "cache out of range";
//!    `rejects_bad_operands_in_unreachable_code`).
//! 6. Constants have the type their instruction reads: numbers or strings
//!    for CONSTANT, functions for CLOSURE (whose target is not the script),
//!    strings for names (bad_bytecode.rs "property name that is a number",
//!    "closure of a number constant", "function constant naming the
//!    script").
//! 7. An inline cache belongs to one instruction, which alone interprets
//!    what it holds (`rejects_a_shared_cache`).
//! 8. CLOSURE's captures are complete and valid: a local at or below the
//!    depth (the new closure's own slot included) or an upvalue of the
//!    enclosing closure (`rejects_bad_captures`).
//! 9. The operand stack never underflows, depths agree where paths meet,
//!    and no path falls off the end (bad_bytecode.rs "stack underflow", "stack
//!    depths that disagree where paths meet", "falls off the end").
//! 10. A slot that an open upvalue may point at (captured by a CLOSURE and
//!     not closed since, on some path) leaves the stack only by
//!     CLOSE_UPVALUE or RETURN: popped otherwise, the upvalue would point
//!     at a dead slot that the GC does not scan and the next push reuses
//!     (bad_bytecode.rs `captured_locals_must_be_closed_before_their_slot_is_popped`).
//! 11. Local-variable debug records have slots under `MAX_COUNT` and
//!     ranges inside the code (`rejects_bad_local_records`; only gdb reads
//!     them).
//!
//! The verifier computes each function's maximum stack depth, which the
//! runtime trusts for its stack-overflow checks. It never panics on any
//! input.

use super::module::{Constant, FunctionKind, FunctionProto, Module};
use super::opcode::{decode, decode_fixed, ConstKind, Instruction, Op, Operand, StackEffect, Trailing};

/// Upper bound on any count the runtime sizes memory by (slots, constants).
pub const MAX_COUNT: u32 = 1 << 24;

/// Why a module was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyError(pub String);

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What verification learned: per function, the maximum operand stack depth
/// (slots above the frame base, slot 0 included).
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub max_stack: Vec<u32>,
}

/// Verifies a whole module.
pub fn verify_module(module: &Module) -> Result<Verified, VerifyError> {
    if module.functions.is_empty() {
        return Err(VerifyError("module has no functions".into()));
    }
    if module.sources.is_empty() {
        return Err(VerifyError("module names no source file".into()));
    }
    if module.globals.len() as u64 >= MAX_COUNT as u64 {
        return Err(VerifyError("too many globals".into()));
    }
    let script = &module.functions[0];
    if script.kind != FunctionKind::Script || script.arity != 0 || script.upvalue_count != 0 {
        return Err(VerifyError("function 0 is not a script".into()));
    }
    let mut max_stack = Vec::with_capacity(module.functions.len());
    for (index, function) in module.functions.iter().enumerate() {
        let depth = FunctionVerifier { module, function, index }
            .verify()
            .map_err(|e| VerifyError(format!("function {} '{}': {}", index, function.name, e)))?;
        max_stack.push(depth);
    }
    Ok(Verified { max_stack })
}

struct FunctionVerifier<'a> {
    module: &'a Module,
    function: &'a FunctionProto,
    index: usize,
}

/// Stack slots that an open upvalue may point at, ascending (usually
/// none: only locals captured by closures, until their scope ends).
#[derive(Clone, Debug, Default, PartialEq)]
struct Captured(Vec<u32>);

impl Captured {
    fn insert(&mut self, slot: u32) {
        if let Err(at) = self.0.binary_search(&slot) {
            self.0.insert(at, slot);
        }
    }

    fn remove(&mut self, slot: u32) {
        if let Ok(at) = self.0.binary_search(&slot) {
            self.0.remove(at);
        }
    }

    /// The lowest captured slot at `slot` or above.
    fn lowest_from(&self, slot: u32) -> Option<u32> {
        self.0.get(self.0.partition_point(|&s| s < slot)).copied()
    }

    /// The union with `other`, when it has slots that `self` lacks.
    fn union(&self, other: &Captured) -> Option<Captured> {
        if other.0.iter().all(|s| self.0.binary_search(s).is_ok()) {
            return None;
        }
        let mut all = self.clone();
        for &s in &other.0 {
            all.insert(s);
        }
        Some(all)
    }
}

impl FunctionVerifier<'_> {
    fn verify(&self) -> Result<u32, String> {
        let f = self.function;
        if self.index != 0 && f.kind == FunctionKind::Script {
            return Err("only function 0 may be a script".into());
        }
        if f.kind == FunctionKind::FileScript && (self.index == 0 || f.arity != 0 || f.upvalue_count != 0) {
            return Err("an imported file's script takes no arguments or upvalues".into());
        }
        if f.source as usize >= self.module.sources.len() {
            return Err(format!("source file {} out of range", f.source));
        }
        if f.upvalue_count >= MAX_COUNT || f.cache_count >= MAX_COUNT {
            return Err("count out of range".into());
        }
        if f.constants.len() as u64 >= MAX_COUNT as u64 || f.code.len() as u64 >= u32::MAX as u64 {
            return Err("function too large".into());
        }
        if f.code.is_empty() {
            return Err("empty code".into());
        }
        // Every cache site is an operand in the code, so a larger count is a
        // corrupt header that would only make the loader allocate in vain.
        if f.cache_count as usize > f.code.len() {
            return Err("more caches than the code has room for".into());
        }
        self.check_lines()?;
        self.check_constants()?;
        let starts = self.instruction_starts()?;
        let depth = self.simulate_stack(&starts)?;
        // Local records are debug information only (nothing executes them);
        // locals declared in unreachable code may lie beyond the depth that
        // reachable code reaches, so only their bounds are checked.
        for local in &f.locals {
            if local.slot >= MAX_COUNT || local.start > local.end || local.end as usize > f.code.len() {
                return Err(format!("local '{}' has an invalid slot or range", local.name));
            }
        }
        Ok(depth)
    }

    fn check_lines(&self) -> Result<(), String> {
        let lines = &self.function.lines;
        if lines.is_empty() || lines[0].0 != 0 {
            return Err("line table does not cover offset 0".into());
        }
        for pair in lines.windows(2) {
            if pair[1].0 <= pair[0].0 {
                return Err("line table offsets are not ascending".into());
            }
        }
        if lines.iter().any(|&(offset, _)| offset as usize >= self.function.code.len()) {
            return Err("line table offset past the end of the code".into());
        }
        Ok(())
    }

    fn check_constants(&self) -> Result<(), String> {
        for constant in &self.function.constants {
            if let Constant::Function(target) = constant {
                let target = *target as usize;
                if target == 0 || target >= self.module.functions.len() {
                    return Err(format!("function constant {} out of range", target));
                }
            }
        }
        Ok(())
    }

    /// The upvalue count of function constant `k`, when it is one.
    fn capture_count(&self, k: u32) -> Option<u32> {
        match self.function.constants.get(k as usize) {
            Some(Constant::Function(target)) => self.module.functions.get(*target as usize).map(|f| f.upvalue_count),
            _ => None,
        }
    }

    /// Decodes the whole instruction at `offset`, saying why it cannot.
    fn decode(&self, offset: usize) -> Result<Instruction, String> {
        let code = &self.function.code;
        let fixed =
            decode_fixed(code, offset).ok_or_else(|| format!("bad or truncated instruction at offset {}", offset))?;
        if fixed.op.info().trailing == Trailing::Captures && self.capture_count(fixed.args[0] as u32).is_none() {
            return Err(format!("constant {} is not a function", fixed.args[0]));
        }
        decode(code, offset, &|k| self.capture_count(k))
            .ok_or_else(|| format!("truncated closure at offset {}", offset))
    }

    /// Decodes every instruction once; returns a map of instruction starts.
    fn instruction_starts(&self) -> Result<Vec<bool>, String> {
        let code = &self.function.code;
        let mut starts = vec![false; code.len()];
        // An inline cache belongs to one instruction: the interpreter and
        // generated code trust what their own instruction stored in it.
        let mut cache_used = vec![false; (self.function.cache_count as usize).min(code.len())];
        let mut offset = 0;
        while offset < code.len() {
            starts[offset] = true;
            let ins = self.decode(offset)?;
            for (operand, &value) in ins.op.operands().iter().zip(&ins.args) {
                // Operands whose range does not depend on the stack are
                // checked for every instruction, reachable or not: the
                // loader rewrites global operands of all of them.
                match *operand {
                    Operand::Cache => match cache_used.get_mut(value as usize) {
                        Some(used) if !*used => *used = true,
                        Some(_) => return Err(format!("cache {} shared by two instructions", value)),
                        None => return Err(format!("cache {} out of range", value)),
                    },
                    Operand::Const(kind) => self.check_constant_use(ins.op, kind, value)?,
                    Operand::Global if value as usize >= self.module.globals.len() => {
                        return Err(format!("global {} out of range", value))
                    }
                    Operand::Upvalue if value as u64 >= self.function.upvalue_count as u64 => {
                        return Err(format!("upvalue {} out of range", value))
                    }
                    Operand::Count if value as u64 >= MAX_COUNT as u64 => return Err("count too large".into()),
                    _ => {}
                }
            }
            offset += ins.size;
        }
        // A line applies from an instruction's start: every tier reports
        // the line of the instruction an error happens in, and the
        // interpreter's pc is past it while generated code's is inside it.
        if let Some(&(at, _)) = self.function.lines.iter().find(|&&(at, _)| !starts[at as usize]) {
            return Err(format!("line table entry at offset {} inside an instruction", at));
        }
        Ok(starts)
    }

    /// Simulates the operand stack over every path. The state before an
    /// instruction is the depth and the set of slots that an open upvalue
    /// may point at (captured by a `CLOSURE` and not closed since); where
    /// paths meet, depths must agree and the sets are united, and an
    /// instruction is visited again when its set grows.
    fn simulate_stack(&self, starts: &[bool]) -> Result<u32, String> {
        let code = &self.function.code;
        let entry_depth = 1 + self.function.arity as u32;
        let mut state_at: Vec<Option<(u32, Captured)>> = vec![None; code.len()];
        let mut work = vec![(0usize, entry_depth, Captured::default())];
        let mut max_depth = entry_depth;
        while let Some((offset, depth, captured)) = work.pop() {
            let captured = match &mut state_at[offset] {
                Some((known, _)) if *known != depth => {
                    return Err(format!("stack depth {} and {} meet at offset {}", known, depth, offset))
                }
                Some((_, known)) => match known.union(&captured) {
                    Some(grown) => {
                        *known = grown.clone();
                        grown
                    }
                    None => continue,
                },
                slot @ None => {
                    *slot = Some((depth, captured.clone()));
                    captured
                }
            };
            let (ins, effect, jump) = self.effect(offset, depth, starts)?;
            if depth < effect.needs || depth < effect.pops {
                return Err(format!("stack underflow at offset {}", offset));
            }
            let after = depth - effect.pops + effect.pushes;
            if after >= MAX_COUNT {
                return Err("stack too deep".into());
            }
            let captured = self.captures_after(&ins, depth, &effect, captured)?;
            max_depth = max_depth.max(after);
            if let Some(target) = jump {
                work.push((target, after, captured.clone()));
            }
            if effect.falls_through() {
                let next = offset + ins.size;
                if next >= code.len() {
                    return Err(format!("control falls off the end after offset {}", offset));
                }
                work.push((next, after, captured));
            }
        }
        Ok(max_depth)
    }

    /// The captured slots after `ins`. A slot that an open upvalue may
    /// point at must be closed (`CLOSE_UPVALUE`, or the function's
    /// `RETURN`) before it leaves the stack: popped any other way, the
    /// upvalue would point at a dead slot that the GC does not scan and
    /// that the next push reuses.
    fn captures_after(
        &self,
        ins: &Instruction,
        depth: u32,
        effect: &StackEffect,
        mut captured: Captured,
    ) -> Result<Captured, String> {
        match ins.op {
            Op::Return => return Ok(Captured::default()),
            Op::CloseUpvalue => captured.remove(depth - 1),
            Op::Closure => {
                for capture in ins.captures(&self.function.code).flatten() {
                    if capture.is_local {
                        captured.insert(capture.index);
                    }
                }
            }
            _ => {
                if let Some(slot) = captured.lowest_from(depth - effect.pops) {
                    return Err(format!(
                        "captured local slot {} leaves the stack without CLOSE_UPVALUE at offset {}",
                        slot, ins.offset
                    ));
                }
            }
        }
        Ok(captured)
    }

    /// Checks the operands of the instruction at `offset` (reached with
    /// `depth` values on the stack); returns it, its effect and its jump target.
    fn effect(
        &self,
        offset: usize,
        depth: u32,
        starts: &[bool],
    ) -> Result<(Instruction, StackEffect, Option<usize>), String> {
        let f = self.function;
        let ins = self.decode(offset)?;
        let mut jump = None;
        for (operand, &value) in ins.op.operands().iter().zip(&ins.args) {
            match *operand {
                Operand::Const(kind) => self.check_constant_use(ins.op, kind, value)?,
                Operand::Local if value as u64 >= depth as u64 => {
                    return Err(format!("local slot {} beyond stack depth {} at offset {}", value, depth, offset))
                }
                Operand::Global if value as usize >= self.module.globals.len() => {
                    return Err(format!("global {} out of range", value))
                }
                Operand::Upvalue if value as u64 >= f.upvalue_count as u64 => {
                    return Err(format!("upvalue {} out of range", value))
                }
                Operand::Cache if value as u64 >= f.cache_count as u64 => {
                    return Err(format!("cache {} out of range", value))
                }
                Operand::Count if value as u64 >= MAX_COUNT as u64 => return Err("count too large".into()),
                Operand::JumpForward | Operand::JumpBack => {
                    let target = ins.jump_target();
                    if target < 0 || target as usize >= f.code.len() || !starts[target as usize] {
                        return Err(format!("jump target {} invalid at offset {}", target, offset));
                    }
                    let backward = *operand == Operand::JumpBack;
                    if backward != (target as usize <= offset) {
                        return Err(format!("jump direction wrong at offset {}", offset));
                    }
                    jump = Some(target as usize);
                }
                _ => {}
            }
        }
        for (i, capture) in ins.captures(&f.code).enumerate() {
            let ok = match capture {
                // The new closure is pushed before its captures are taken.
                Some(c) if c.is_local => c.index <= depth,
                Some(c) => c.index < f.upvalue_count,
                None => false,
            };
            if !ok {
                return Err(format!("closure capture {} invalid at offset {}", i, offset));
            }
        }
        let effect = ins.effect();
        Ok((ins, effect, jump))
    }

    fn check_constant_use(&self, op: Op, kind: ConstKind, k: i64) -> Result<(), String> {
        let constant = self.function.constants.get(k as usize).ok_or_else(|| format!("constant {} out of range", k))?;
        let ok = match kind {
            ConstKind::Value => matches!(constant, Constant::Number(_) | Constant::String(_)),
            ConstKind::Name => matches!(constant, Constant::String(_)),
            ConstKind::Function => matches!(constant, Constant::Function(_)),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("constant {} has the wrong type for {}", k, op.mnemonic()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::module::LocalInfo;

    fn function(kind: FunctionKind, code: Vec<u8>, constants: Vec<Constant>) -> FunctionProto {
        FunctionProto {
            name: "f".into(),
            short_name: "f".into(),
            kind,
            arity: 0,
            upvalue_count: 0,
            cache_count: 0,
            line: 1,
            source: 0,
            code,
            lines: vec![(0, 1)],
            constants,
            locals: Vec::new(),
        }
    }

    fn script(code: Vec<u8>) -> FunctionProto {
        function(FunctionKind::Script, code, vec![Constant::Number(1.0)])
    }

    fn module(functions: Vec<FunctionProto>) -> Module {
        Module { sources: vec!["t.tvm".into()], globals: vec!["g".into()], functions }
    }

    fn code(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    const NIL_RETURN: &[u8] = &[Op::Nil as u8, Op::Return as u8];

    fn rejected(m: &Module, why: &str) {
        let e = verify_module(m).expect_err("must be rejected");
        assert!(e.0.contains(why), "{e}: expected {why:?}");
    }

    #[test]
    fn accepts_a_minimal_script() {
        assert_eq!(verify_module(&module(vec![script(NIL_RETURN.to_vec())])), Ok(Verified { max_stack: vec![2] }));
    }

    #[test]
    fn rejects_a_second_script() {
        let m = module(vec![script(NIL_RETURN.to_vec()), script(NIL_RETURN.to_vec())]);
        rejected(&m, "only function 0 may be a script");
    }

    #[test]
    fn rejects_bad_line_tables() {
        for (lines, why) in [
            (vec![], "does not cover offset 0"),
            (vec![(1, 1)], "does not cover offset 0"),
            (vec![(0, 1), (0, 2)], "not ascending"),
            (vec![(0, 1), (6, 2)], "past the end"),
            (vec![(0, 1), (1, 2)], "inside an instruction"),
        ] {
            let mut f = script(code(&[&[Op::Constant as u8], &0u32.to_le_bytes(), &[Op::Return as u8]]));
            f.lines = lines;
            rejected(&module(vec![f]), why);
        }
    }

    #[test]
    fn rejects_bad_operands_in_unreachable_code() {
        let dead = |op: Op, operand: u32| {
            let mut f = script(code(&[NIL_RETURN, &[op as u8], &operand.to_le_bytes(), &[Op::Pop as u8], NIL_RETURN]));
            f.lines = vec![(0, 1)];
            module(vec![f])
        };
        rejected(&dead(Op::GetGlobal, 7), "global 7 out of range");
        rejected(&dead(Op::Constant, 3), "constant 3 out of range");
        rejected(&dead(Op::GetUpvalue, 0), "upvalue 0 out of range");
    }

    #[test]
    fn rejects_a_loop_that_jumps_forwards() {
        let forward = (1i32).to_le_bytes();
        let m = module(vec![script(code(&[&[Op::Loop as u8], &forward, &[Op::Nil as u8], NIL_RETURN]))]);
        rejected(&m, "jump direction wrong");
    }

    #[test]
    fn rejects_a_shared_cache() {
        let get = |cache: u32| code(&[&[Op::GetProperty as u8], &0u32.to_le_bytes(), &cache.to_le_bytes()]);
        let body = code(&[&[Op::Nil as u8], &get(0), &get(0), &[Op::Pop as u8], NIL_RETURN]);
        let mut f = function(FunctionKind::Script, body, vec![Constant::String(b"x".to_vec())]);
        f.cache_count = 1;
        rejected(&module(vec![f]), "shared by two instructions");
    }

    /// A script that makes a closure of function 1 (one upvalue) with the
    /// capture descriptor `(is_local, index)` after pushing `before` nils.
    fn capture(before: usize, is_local: u8, index: u32) -> Module {
        let nils = vec![Op::Nil as u8; before];
        let closure = code(&[&[Op::Closure as u8], &0u32.to_le_bytes(), &[is_local], &index.to_le_bytes()]);
        let pops = vec![Op::Pop as u8; 1];
        let body = code(&[&nils, &closure, &pops, &vec![Op::CloseUpvalue as u8; before], NIL_RETURN]);
        let s = function(FunctionKind::Script, body, vec![Constant::Function(1)]);
        let mut g = function(
            FunctionKind::Function,
            code(&[&[Op::GetUpvalue as u8], &0u32.to_le_bytes(), &[Op::Return as u8]]),
            vec![],
        );
        g.upvalue_count = 1;
        module(vec![s, g])
    }

    #[test]
    fn rejects_bad_captures() {
        assert!(verify_module(&capture(1, 1, 1)).is_ok(), "a local below the depth");
        rejected(&capture(1, 1, 3), "closure capture 0 invalid");
        rejected(&capture(1, 0, 0), "closure capture 0 invalid"); // the script has no upvalues
        rejected(&capture(1, 2, 1), "closure capture 0 invalid");
        let mut truncated = capture(0, 1, 0);
        let f = &mut truncated.functions[0];
        f.code.truncate(7);
        f.lines = vec![(0, 1)];
        rejected(&truncated, "truncated closure");
    }

    #[test]
    fn rejects_bad_local_records() {
        for (slot, start, end) in [(MAX_COUNT, 0, 1), (1, 1, 0), (1, 0, 3)] {
            let mut f = script(NIL_RETURN.to_vec());
            f.locals = vec![LocalInfo { name: "v".into(), slot, start, end, is_parameter: false }];
            rejected(&module(vec![f]), "invalid slot or range");
        }
    }
}
