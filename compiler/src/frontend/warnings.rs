//! The program's warnings (DESIGN.md 1.4), from what each file's parse
//! found (`parser::lints`): locals never read and statements after
//! `return`/`break`/`continue` (decided per file), and reads of a global
//! that nothing in the program or its imports defines (decided here, over
//! every file, unless the program calls `load()`, which may define any).
//! Warnings never change the exit status.

use super::diagnostic::{At, Diagnostic};
use super::parser::lints::Findings;
use std::collections::HashSet;

/// Every warning of the program, file by file in source order.
pub fn program_warnings(files: &[Findings]) -> Vec<Diagnostic> {
    let mut defined: HashSet<&str> = tinyvm_runtime::natives::names().collect();
    for f in files {
        defined.extend(f.global_definitions.iter().map(String::as_str));
    }
    let loads = files.iter().any(|f| f.global_uses.iter().any(|u| u.name == "load"));
    let mut out = Vec::new();
    for (file, findings) in files.iter().enumerate() {
        let mut warnings: Vec<Diagnostic> =
            findings.warnings.iter().map(|w| Diagnostic { file, ..w.clone() }).collect();
        if !loads {
            for u in findings.global_uses.iter().filter(|u| !defined.contains(u.name.as_str())) {
                warnings.push(Diagnostic {
                    message: format!("Undefined variable '{}'.", u.name),
                    line: u.line,
                    at: At::Nothing,
                    span: u.span.clone(),
                    file,
                });
            }
        }
        warnings.sort_by_key(|w| (w.span.start, w.span.end));
        out.extend(warnings);
    }
    out
}
