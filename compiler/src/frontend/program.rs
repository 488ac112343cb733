//! A whole program: the main file and the files it imports.
//!
//! `import "path";` names a file relative to the importing file. Each file
//! (by canonical path) joins the program once: its top-level code runs
//! where it is first imported, in the order the program runs, which is the
//! order of a depth-first walk of the imports (a file's imports run before
//! the rest of it); a later or cyclic import of it does nothing. The
//! driver parses the main file, then each import as it meets it, and marks
//! on each `Import` statement whether it is that first import.

use super::ast::{FunctionKind, Program, ProgramFile, Stmt};
use super::diagnostic::{At, Diagnostic};
use super::parser::lints::Findings;
use std::path::{Path, PathBuf};

/// A source file's name (as given, or as an import resolved it) and text.
#[derive(Clone, Debug)]
pub struct SourceText {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Reads an imported file (by the path an import resolved to).
pub type ReadFile<'a> = &'a mut (dyn FnMut(&Path) -> std::io::Result<Vec<u8>> + Send);

/// A parsed program and its warnings.
pub struct Parsed {
    pub program: Program,
    pub warnings: Vec<Diagnostic>,
}

/// Parses the program whose main file is `main` (named `name`), reading
/// imports with `read`. On failure: every error, each naming its file.
pub fn parse_program(name: &str, main: &[u8], read: ReadFile) -> (Vec<SourceText>, Result<Parsed, Vec<Diagnostic>>) {
    let mut driver = Driver {
        texts: Vec::new(),
        canonical: Vec::new(),
        files: Vec::new(),
        diagnostics: Vec::new(),
        findings: Vec::new(),
    };
    driver.add(name.to_string(), canonical(Path::new(name)), main.to_vec(), FunctionKind::Script, read);
    let result = if driver.diagnostics.is_empty() {
        let warnings = super::warnings::program_warnings(&driver.findings);
        Ok(Parsed { program: Program { files: driver.files }, warnings })
    } else {
        Err(driver.diagnostics)
    };
    (driver.texts, result)
}

struct Driver {
    texts: Vec<SourceText>,
    /// The canonical path of each file (None when it has none: a program
    /// from the command line or stdin).
    canonical: Vec<Option<PathBuf>>,
    files: Vec<ProgramFile>,
    diagnostics: Vec<Diagnostic>,
    /// What each file's parse found for warnings.
    findings: Vec<Findings>,
}

fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

impl Driver {
    /// Adds file `name` and, depth first, the files it imports; returns its index.
    fn add(
        &mut self,
        name: String,
        path: Option<PathBuf>,
        bytes: Vec<u8>,
        kind: FunctionKind,
        read: ReadFile,
    ) -> usize {
        let index = self.texts.len();
        self.texts.push(SourceText { name: name.clone(), bytes });
        self.canonical.push(path);
        // A placeholder until parsed, so that a cyclic import finds it.
        self.files.push(ProgramFile { name: name.clone(), script: super::ast::FunctionDecl::empty(kind) });
        let text = String::from_utf8_lossy(&self.texts[index].bytes).into_owned();
        self.findings.push(Findings::default());
        let parsed = if kind == FunctionKind::Script && super::classic::is_classic(&text) {
            super::classic::parse(&text).map(|script| (script, Findings::default()))
        } else {
            super::parser::parse(&self.texts[index].bytes, kind)
        };
        match parsed {
            Ok((mut script, findings)) => {
                self.findings[index] = findings;
                for stmt in script.body.iter_mut() {
                    if let Stmt::Import { path, file, line, span } = stmt {
                        *file = self.import(index, path, *line, span.clone(), read);
                    }
                }
                self.files[index].script = script;
            }
            Err(diagnostics) => {
                self.diagnostics.extend(diagnostics.into_iter().map(|d| Diagnostic { file: index, ..d }))
            }
        }
        index
    }

    /// Resolves an import in file `from`: the index of the file when this
    /// is its first import, else None.
    fn import(
        &mut self,
        from: usize,
        path: &[u8],
        line: u32,
        span: std::ops::Range<usize>,
        read: ReadFile,
    ) -> Option<usize> {
        let text = String::from_utf8_lossy(path).into_owned();
        let base = Path::new(&self.texts[from].name).parent().unwrap_or(Path::new(""));
        let joined = base.join(&text);
        let name = joined.display().to_string();
        let fail = |driver: &mut Driver, why: String| {
            driver.diagnostics.push(Diagnostic {
                message: format!("Cannot import '{}': {}.", text, why),
                line,
                at: At::Token(format!("\"{}\"", text)),
                span: span.clone(),
                file: from,
            });
            None
        };
        let Some(canonical) = canonical(&joined) else {
            let why = match std::fs::metadata(&joined) {
                Err(e) => tinyvm_runtime::output::io_error_text(&e),
                Ok(_) => "cannot resolve its path".to_string(),
            };
            return fail(self, why);
        };
        if self.canonical.iter().any(|c| c.as_ref() == Some(&canonical)) {
            return None;
        }
        let bytes = match read(&joined) {
            Ok(bytes) => bytes,
            Err(e) => return fail(self, tinyvm_runtime::output::io_error_text(&e)),
        };
        Some(self.add(name, Some(canonical), bytes, FunctionKind::FileScript, read))
    }
}

/// Reads imports from the file system.
pub fn read_from_disk(path: &Path) -> std::io::Result<Vec<u8>> {
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    std::fs::read(path)
}
