//! Loops and leaving them: `while`, `for`, `for`-`in`, `break`, `continue`.
//!
//! Every loop pushes a `LoopLabels` while its body is emitted: `continue`
//! jumps back to the loop's continue target, `break` forward to after the
//! loop's own exit (breaks are patched when the loop ends). Both first undo
//! what the body began (`LoopExit`: leave the locks, close or pop the
//! locals), so the stack has the loop's depth where they land.

use super::ast_walk::Codegen;
use crate::frontend::ast::*;
use tinyvm_runtime::bytecode::Op;

/// The jumps of the loop being emitted.
pub(super) struct LoopLabels {
    /// Where `continue` goes (the condition, the increment, or `FOR_IN_NEXT`).
    continue_target: usize,
    /// Operand positions of the `break` jumps, patched after the loop.
    breaks: Vec<usize>,
}

impl Codegen<'_, '_> {
    /// Emits `body` as the body of a loop whose `continue` target is `start`.
    fn loop_body(&mut self, body: &Stmt, continue_target: usize) -> Vec<usize> {
        self.loops.push(LoopLabels { continue_target, breaks: Vec::new() });
        self.stmt(body);
        self.loops.pop().map(|l| l.breaks).unwrap_or_default()
    }

    fn patch_breaks(&mut self, breaks: Vec<usize>) {
        for at in breaks {
            self.f.patch(at);
        }
    }

    pub(super) fn while_loop(&mut self, cond: &Expr, body: &Stmt, line: u32) {
        let start = self.f.offset();
        self.expr(cond);
        let exit = self.f.jump(Op::JumpIfFalse, line);
        self.f.op(Op::Pop, line);
        let breaks = self.loop_body(body, start);
        self.f.loop_to(start, line);
        self.f.patch(exit);
        self.f.op(Op::Pop, line);
        self.patch_breaks(breaks);
    }

    pub(super) fn for_loop(&mut self, l: &ForLoop) {
        if let Some(init) = &l.init {
            self.stmt(init);
        }
        let mut start = self.f.offset();
        let mut exit = None;
        if let Some(cond) = &l.cond {
            self.expr(cond);
            exit = Some(self.f.jump(Op::JumpIfFalse, cond.line));
            self.f.op(Op::Pop, cond.line);
        }
        if let Some(increment) = &l.increment {
            let body_jump = self.f.jump(Op::Jump, increment.line);
            let increment_start = self.f.offset();
            self.expr(increment);
            self.f.op(Op::Pop, increment.line);
            self.f.loop_to(start, increment.line);
            start = increment_start;
            self.f.patch(body_jump);
        }
        let breaks = self.loop_body(&l.body, start);
        self.f.loop_to(start, l.end.line);
        if let Some(exit) = exit {
            self.f.patch(exit);
            self.f.op(Op::Pop, l.end.line);
        }
        self.patch_breaks(breaks);
        self.end_scope(&l.end);
    }

    /// `for (var x in v)`: `v` into the first hidden slot, `FOR_IN_START`
    /// pushes the position and version, then each `FOR_IN_NEXT` pushes
    /// the next element as a fresh `x` (or nil when over, popped after
    /// the loop).
    pub(super) fn for_in(&mut self, l: &ForIn) {
        let line = l.line;
        self.expr(&l.iterable);
        self.f.open_local(" iterable", l.slot, false);
        self.f.op_u32(Op::ForInStart, l.slot, line);
        let start = self.f.offset();
        let exit = self.f.emit(Op::ForInNext, &[l.slot as i64, 0], line) + Op::ForInNext.operand_offset(1);
        self.f.open_local(&l.name, l.slot + 3, false);
        let breaks = self.loop_body(&l.body, start);
        self.end_scope(&l.body_end);
        self.f.loop_to(start, line);
        self.f.patch(exit);
        self.f.op(Op::Pop, line);
        self.patch_breaks(breaks);
        self.end_scope(&l.end);
    }

    /// Undoes what the loop body began: leaves its locks, then closes or
    /// pops its locals, innermost first.
    fn leave_loop_body(&mut self, exit: &LoopExit, line: u32) {
        for &slot in &exit.locks {
            self.f.op_u32(Op::GetLocal, slot, line);
            self.f.op(Op::MonitorExit, line);
        }
        for &captured in &exit.pops {
            self.f.op(if captured { Op::CloseUpvalue } else { Op::Pop }, line);
        }
    }

    pub(super) fn break_loop(&mut self, exit: &LoopExit, line: u32) {
        self.leave_loop_body(exit, line);
        let at = self.f.jump(Op::Jump, line);
        if let Some(l) = self.loops.last_mut() {
            l.breaks.push(at);
        }
    }

    pub(super) fn continue_loop(&mut self, exit: &LoopExit, line: u32) {
        self.leave_loop_body(exit, line);
        if let Some(target) = self.loops.last().map(|l| l.continue_target) {
            self.f.loop_to(target, line);
        }
    }
}
