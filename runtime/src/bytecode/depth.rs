//! Operand-stack depths of verified code, per instruction.
//!
//! The x86-64 lowering keeps the operand stack in the frame's value-stack
//! slots, so it needs the depth before each instruction; this recomputes
//! what the verifier proved, without re-checking.

use super::opcode::decode;

/// Depth before each instruction start (`None`: unreachable or not a start).
/// `capture_count(k)` is the upvalue count of the function constant `k`.
pub fn stack_depths(code: &[u8], arity: u32, capture_count: &dyn Fn(u32) -> u32) -> Vec<Option<u32>> {
    let mut depth_at: Vec<Option<u32>> = vec![None; code.len()];
    let mut work = vec![(0usize, 1 + arity)];
    while let Some((offset, depth)) = work.pop() {
        if offset >= code.len() || depth_at[offset].is_some() {
            continue;
        }
        depth_at[offset] = Some(depth);
        let Some(ins) = decode(code, offset, &|k| Some(capture_count(k))) else { continue };
        let effect = ins.effect();
        let after = (depth + effect.pushes).saturating_sub(effect.pops);
        if ins.op.operands().iter().any(|o| o.is_jump()) {
            work.push((ins.jump_target() as usize, after));
        }
        if effect.falls_through() {
            work.push((offset + ins.size, after));
        }
    }
    depth_at
}
