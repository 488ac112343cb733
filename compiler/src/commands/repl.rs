//! `tinyvm repl` (and `tinyvm` with no arguments): read a line, run it,
//! print its value, as clox's REPL does.
//!
//! Each entry is compiled to a module of its own and run in one VM
//! (`tinyvm_runtime::repl::Session`), so globals persist between entries.
//! An expression statement's value is printed (nil is not); its `;` may be
//! left out. An entry the parser finds unfinished at its end (an open
//! block, a dangling operator) continues on the next line. On a terminal
//! lines are edited with rustyline and kept in `~/.tinyvm_history`;
//! otherwise (stdin piped) lines are read as they come, with no prompt.

use crate::JitArg;
use std::io::{BufRead, IsTerminal};
use tinyvm::frontend::diagnostic::{self, At, ErrorFormat, Severity};
use tinyvm::frontend::{compile_repl_line, program::SourceText, Compiled};
use tinyvm_runtime::bytecode::Module;
use tinyvm_runtime::repl::Session;
use tinyvm_runtime::vm::Options;

/// The first prompt and the prompt of a continued entry.
const PROMPT: &str = "> ";
const CONTINUATION: &str = ". ";

pub fn run(jit: JitArg, format: ErrorFormat) -> i32 {
    let heap_limit = match tinyvm_runtime::heap::oom::heap_limit_from_env() {
        Ok(limit) => limit,
        Err(message) => return super::Failure { message, status: tinyvm_runtime::program::EXIT_RUNTIME }.report(),
    };
    let options = Options {
        jit: super::run::jit_mode(jit),
        stats: std::env::var("TINYVM_STATS").is_ok_and(|v| v == "1"),
        args: Vec::new(),
        program_name: "repl".to_string(),
        error_format: format.for_runtime(),
        heap_limit,
        fuel: Options::fuel_from_env(),
        color: super::color(),
        sources: Vec::new(),
        optimize: true,
    };
    let mut session = match Session::new(options) {
        Ok(session) => session,
        Err(status) => return status,
    };
    let mut input = Input::open();
    let mut pending = String::new();
    let mut entries = 0;
    loop {
        let line = match input.read(if pending.is_empty() { PROMPT } else { CONTINUATION }) {
            Read::Line(line) => line,
            Read::Interrupted => {
                pending.clear();
                continue;
            }
            Read::End => break,
        };
        pending.push_str(&line);
        pending.push('\n');
        if pending.trim().is_empty() {
            pending.clear();
            continue;
        }
        let name = format!("<repl {}>", entries + 1);
        match compile_entry(&pending, &name, format, false) {
            Entry::Unfinished => continue,
            Entry::Failed(message) => tinyvm_runtime::output::write_stderr(message.as_bytes()),
            Entry::Ready(module, echo) => {
                input.remember(pending.trim_end());
                session.add_source(name, pending.clone().into_bytes());
                session.run_line(module, echo);
            }
        }
        entries += 1;
        pending.clear();
    }
    // An entry left unfinished at the end of input: its errors.
    if !pending.trim().is_empty() {
        if let Entry::Failed(message) = compile_entry(&pending, &format!("<repl {}>", entries + 1), format, true) {
            tinyvm_runtime::output::write_stderr(message.as_bytes());
        }
    }
    input.save();
    session.finish()
}

enum Entry {
    Ready(Module, bool),
    /// The errors are all at the end of the text: more lines may finish it.
    Unfinished,
    /// The rendered errors.
    Failed(String),
}

/// Compiles an entry; failing that, the entry with a `;` added; failing
/// both, it is unfinished when every error is at its end (unless `last`).
fn compile_entry(text: &str, name: &str, format: ErrorFormat, last: bool) -> Entry {
    let (texts, result) = compile_repl_line(text.as_bytes(), name);
    let diagnostics = match result {
        Ok((Compiled { module, .. }, echo)) => return Entry::Ready(module, echo),
        Err(diagnostics) => diagnostics,
    };
    let trimmed = text.trim_end();
    if !trimmed.ends_with(';') && !trimmed.ends_with('}') {
        if let (_, Ok((Compiled { module, .. }, echo))) = compile_repl_line(format!("{trimmed};\n").as_bytes(), name) {
            return Entry::Ready(module, echo);
        }
    }
    if !last && diagnostics.iter().all(|d| d.at == At::End && d.file == 0) {
        return Entry::Unfinished;
    }
    Entry::Failed(render(&diagnostics, &texts, format))
}

/// Compile errors as `run` shows them, without the closing `could not
/// compile` line (there is no program to name).
fn render(diagnostics: &[diagnostic::Diagnostic], texts: &[SourceText], format: ErrorFormat) -> String {
    match format {
        ErrorFormat::Short => diagnostic::render(diagnostics, texts, format, false),
        ErrorFormat::Human => {
            let mut out = if super::color() { termcolor::Buffer::ansi() } else { termcolor::Buffer::no_color() };
            diagnostic::snippets(&mut out, diagnostics, texts, Severity::Error);
            String::from_utf8_lossy(out.as_slice()).into_owned()
        }
    }
}

enum Read {
    Line(String),
    /// Ctrl-C: the entry so far is dropped.
    Interrupted,
    /// Ctrl-D or the end of stdin.
    End,
}

/// Where lines come from: rustyline on a terminal, else stdin as it is.
enum Input {
    Editor(Box<rustyline::DefaultEditor>, Option<std::path::PathBuf>),
    Piped(std::io::StdinLock<'static>),
}

impl Input {
    fn open() -> Input {
        if std::io::stdin().is_terminal() {
            if let Ok(mut editor) = rustyline::DefaultEditor::new() {
                let history = std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".tinyvm_history"));
                if let Some(path) = &history {
                    // No history yet is no error.
                    let _ = editor.load_history(path);
                }
                return Input::Editor(Box::new(editor), history);
            }
        }
        Input::Piped(std::io::stdin().lock())
    }

    fn read(&mut self, prompt: &str) -> Read {
        match self {
            Input::Editor(editor, _) => match editor.readline(prompt) {
                Ok(line) => Read::Line(line),
                Err(rustyline::error::ReadlineError::Interrupted) => Read::Interrupted,
                Err(_) => Read::End,
            },
            Input::Piped(stdin) => {
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => Read::End,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        Read::Line(text.trim_end_matches(['\n', '\r']).to_string())
                    }
                }
            }
        }
    }

    fn remember(&mut self, entry: &str) {
        if let Input::Editor(editor, _) = self {
            let _ = editor.add_history_entry(entry);
        }
    }

    fn save(&mut self) {
        if let Input::Editor(editor, Some(path)) = self {
            // A history that cannot be written is not worth an error at exit.
            let _ = editor.save_history(path);
        }
    }
}
