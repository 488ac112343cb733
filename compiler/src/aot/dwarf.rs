//! DWARF debug information for `tinyvm build -g` (filled in by the gdb issue).

use object::write::Object;
use std::path::Path;
use tinyvm_runtime::bytecode::module::Module;
use tinyvm_runtime::codegen::lower::LoweredFunction;

use super::object::TextLayout;

pub struct DebugInfo;

impl DebugInfo {
    pub fn new(_module: &Module, _lowered: &[Result<LoweredFunction, String>], _src: &Path) -> DebugInfo {
        DebugInfo
    }

    pub fn write(&self, _obj: &mut Object, _layout: &TextLayout) {}
}
