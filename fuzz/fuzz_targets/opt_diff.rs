//! Fuzz target: the optimizing tier gives the interpreter's results.
//!
//! The input drives a structured generator (`arbitrary::Unstructured`,
//! re-exported by libfuzzer-sys) of Lox programs in and around the
//! optimizer's numeric subset: globals, functions of up to three
//! parameters calling earlier functions, bounded recursion, locals, `while`
//! and `for` loops with constant trip counts, `if`/`else`, `+ - * / %`,
//! negation, comparisons and equality, `and`/`or`. In half the programs
//! (the first input byte decides) a string, `nil`, a boolean (also from
//! `!` and comparisons), an undefined global or a call with the wrong
//! number of arguments appears now and then where a number is expected;
//! every program ends by calling one of its functions with such a value.
//! So guards fail (deoptimizations) and runtime errors are raised in
//! optimized code.
//!
//! The program is compiled in-process by the front end (`tinyvm::compile`)
//! and must verify; it then runs in three forked children
//! (`tinyvm::forked`, as `tvmc_exec` does: fuel, a time limit, stdin on
//! /dev/null, at most 16 KB of output):
//! (a) the interpreter (`JitMode::Off`, the optimizing tier off),
//! (b) the optimizing tier eager (`JitMode::Always` with
//!     `OptOptions { enabled, eager }`, what `TINYVM_OPT=eager tinyvm run`
//!     does), and
//! (c) as (b) with deopt stress (`TINYVM_DEOPT_STRESS=1`: every guard
//!     fails the first time it runs).
//! (d), (e) for programs with hot code (a quarter of them: the script's
//!     calls repeated 1000 times or more, or loops of 1000 trips or more
//!     in functions): the tier by hotness (`JitMode::Auto` with
//!     `OptOptions { enabled }`, as `TINYVM_OPT=1`; OSR into loops), without
//!     and with deopt stress.
//! The switches are given to each child with `opt::set_options` (through
//! `forked::Job::opt`) because the environment is read once per process.
//! The target panics when a child panics, dies of a signal or hangs, or
//! when (b) or (c) differ from (a) in stdout, stderr (the runtime error's
//! message and trace) or exit status. The panic message holds the program;
//! `OPT_DIFF_PRINT=1` prints every generated program, the interpreter's run and what the
//! tier compiled or declined (`TINYVM_OPT_DEBUG`) on stderr;
//! `OPT_DIFF_SOURCE=prog.lox` runs that program (in all five modes)
//! instead of the generated one, whatever the input.
//!
//! Coverage: as in `tvmc_exec`, libFuzzer sees only the parent (the
//! generator, the front end and the verifier); the children's counters
//! die with them.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;
use std::time::Duration;
use tinyvm::forked::{self, Job, Limits};
use tinyvm_runtime::bytecode::verify;
use tinyvm_runtime::codegen::opt::OptOptions;
use tinyvm_runtime::vm::JitMode;

/// Number literals, chosen for their corner cases (-0, fractions, large
/// values whose products overflow to infinity, integers past 2^53,
/// infinity and NaN; the language has no exponent notation).
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "0.5",
    "1.5",
    "-2.5",
    "7",
    "10",
    "100",
    "-0",
    "0.1",
    "4294967296",
    "9007199254740993",
    "-123456789012345678901234567890",
    "(1 / 0)",
    "(0 / 0)",
];

/// Values that are not numbers.
const ODD: &[&str] = &["nil", "true", "false", "\"s\"", "\"ab\"", "\"\"", "nope", "f0"];

/// One function: its name, arity and whether its first parameter is a
/// recursion depth (then every call of itself passes `n - 1`).
#[derive(Clone)]
struct Fun {
    name: String,
    arity: usize,
    recursive: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hot {
    No,
    Calls,
    Loops,
}

struct Gen<'a, 'b> {
    u: &'b mut Unstructured<'a>,
    out: String,
    /// Functions defined so far (a function calls only earlier ones and itself).
    funs: Vec<Fun>,
    /// The function being generated, if any.
    current: Option<Fun>,
    globals: Vec<String>,
    /// Assignable locals and parameters in scope.
    locals: Vec<String>,
    /// Loop counters and recursion depths in scope: read, never assigned.
    fixed: Vec<String>,
    fresh: u32,
    /// Ill-typed values may appear anywhere (else only in the last call).
    odd: bool,
    /// Hot code, for tiering up by hotness (`TINYVM_OPT=1`) and OSR: the
    /// script's calls run 1000 times or more (`Calls`), or functions
    /// have loops of 1000 trips or more (`Loops`); their prints are
    /// expression statements then, to keep the output small.
    hot: Hot,
    /// Loops around the statement being generated.
    loops: u32,
    /// Statements left to generate (bounds the program's size).
    budget: u32,
    indent: usize,
}

impl Gen<'_, '_> {
    fn pick<'s>(&mut self, items: &[&'s str]) -> Result<&'s str> {
        Ok(*self.u.choose(items)?)
    }

    fn name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// `print e;`, or `e;` in the functions of hot programs.
    fn print(&mut self, e: &str) {
        if self.hot != Hot::No && self.current.is_some() {
            self.line(&format!("{e};"));
        } else {
            self.line(&format!("print {e};"));
        }
    }

    fn var(&mut self) -> Result<Option<String>> {
        let n = self.locals.len() + self.fixed.len() + self.globals.len();
        if n == 0 {
            return Ok(None);
        }
        let i = self.u.choose_index(n)?;
        let mut all = self.locals.iter().chain(&self.fixed).chain(&self.globals);
        Ok(all.nth(i).cloned())
    }

    fn leaf(&mut self) -> Result<String> {
        match self.u.int_in_range(0..=63u8)? {
            0..=23 => Ok(self.pick(NUMBERS)?.to_string()),
            24 if self.odd => Ok(self.pick(ODD)?.to_string()),
            _ => match self.var()? {
                Some(v) => Ok(v),
                None => Ok(self.pick(NUMBERS)?.to_string()),
            },
        }
    }

    fn call(&mut self, depth: u32) -> Result<String> {
        let mut candidates: Vec<Fun> = self.funs.clone();
        if let Some(f) = &self.current {
            if f.recursive {
                candidates.push(f.clone());
            }
        }
        if candidates.is_empty() {
            return self.leaf();
        }
        let f = self.u.choose(&candidates)?.clone();
        let own = self.current.as_ref().is_some_and(|c| c.name == f.name);
        // Now and then one argument too many or too few.
        let arity = match self.u.int_in_range(0..=40u8)? {
            0 if self.odd => f.arity + 1,
            1 if self.odd && f.arity > 0 => f.arity - 1,
            _ => f.arity,
        };
        let mut args = Vec::new();
        for i in 0..arity {
            args.push(if i == 0 && own {
                format!("n - {}", self.pick(&["1", "1", "1", "2", "1.5"])?)
            } else if i == 0 && f.recursive {
                // A small depth, sometimes not a number.
                match self.u.int_in_range(0..=12u8)? {
                    0 if self.odd => self.leaf()?,
                    _ => self.u.int_in_range(0..=6u8)?.to_string(),
                }
            } else {
                self.expr(depth)?
            });
        }
        Ok(format!("{}({})", f.name, args.join(", ")))
    }

    /// An expression, usually a number (most of the rest are wrong
    /// types for arithmetic: booleans, strings, and whatever `leaf` picks).
    fn expr(&mut self, depth: u32) -> Result<String> {
        if depth == 0 || self.u.ratio(1u8, 4u8)? {
            return self.leaf();
        }
        let d = depth - 1;
        Ok(match self.u.int_in_range(0..=63u8)? {
            0..=35 => {
                let op = self.pick(&["+", "-", "*", "/", "%", "+", "-", "*", "+", "*"])?;
                format!("({} {} {})", self.expr(d)?, op, self.expr(d)?)
            }
            36..=39 => format!("-{}", self.expr(d)?),
            40..=51 => self.call(d)?,
            // With numbers, `and` and `or` give numbers.
            52..=54 => {
                let op = self.pick(&["and", "or"])?;
                format!("({} {} {})", self.expr(d)?, op, self.expr(d)?)
            }
            61 if self.odd => {
                let op = self.pick(&["<", "<=", ">", ">=", "==", "!="])?;
                format!("({} {} {})", self.expr(d)?, op, self.expr(d)?)
            }
            62 if self.odd => format!("!{}", self.expr(d)?),
            63 if self.odd => format!("str({})", self.expr(d)?),
            _ => self.leaf()?,
        })
    }

    fn cond(&mut self) -> Result<String> {
        if self.u.ratio(1u8, 10u8)? {
            return self.expr(2);
        }
        let op = self.pick(&["<", "<=", ">", ">=", "==", "!="])?;
        let c = format!("{} {} {}", self.expr(2)?, op, self.expr(2)?);
        Ok(if self.u.ratio(1u8, 8u8)? { format!("!({c})") } else { c })
    }

    fn block(&mut self, max: u32) -> Result<()> {
        let (locals, fixed) = (self.locals.len(), self.fixed.len());
        self.indent += 1;
        let n = self.u.int_in_range(1..=max)?;
        for _ in 0..n {
            self.stmt()?;
        }
        self.indent -= 1;
        self.locals.truncate(locals);
        self.fixed.truncate(fixed);
        Ok(())
    }

    fn stmt(&mut self) -> Result<()> {
        if self.budget == 0 {
            return Ok(());
        }
        self.budget -= 1;
        let nested = self.indent < 4;
        match self.u.int_in_range(0..=15u8)? {
            0..=2 => {
                let v = self.name("v");
                let e = self.expr(3)?;
                self.line(&format!("var {v} = {e};"));
                self.locals.push(v);
            }
            3..=5 => {
                let targets: Vec<String> = self.locals.iter().chain(&self.globals).cloned().collect();
                if targets.is_empty() {
                    let e = self.expr(3)?;
                    self.print(&e);
                    return Ok(());
                }
                let t = self.u.choose(&targets)?.clone();
                let e = match self.u.int_in_range(0..=2u8)? {
                    0 => format!("{t} + {}", self.expr(2)?),
                    _ => self.expr(3)?,
                };
                self.line(&format!("{t} = {e};"));
            }
            6 | 7 => {
                let e = self.expr(3)?;
                self.print(&e);
            }
            8 | 9 if nested => {
                let c = self.cond()?;
                self.line(&format!("if ({c}) {{"));
                self.block(3)?;
                if self.u.arbitrary()? {
                    self.line("} else {");
                    self.block(3)?;
                }
                self.line("}");
            }
            10 if nested && self.loops < 2 => {
                let k = self.name("k");
                let hot = self.hot == Hot::Loops && self.loops == 0 && self.current.is_some();
                let trips = if hot { self.u.int_in_range(1000..=1100u16)? } else { self.u.int_in_range(0..=9u16)? };
                self.line(&format!("for (var {k} = 0; {k} < {trips}; {k} = {k} + 1) {{"));
                self.fixed.push(k);
                self.loops += 1;
                self.block(4)?;
                self.loops -= 1;
                self.fixed.pop();
                self.line("}");
            }
            11 if nested && self.loops < 2 => {
                let k = self.name("k");
                let trips = self.u.int_in_range(0..=9u8)?;
                let step = self.pick(&["1", "1", "1", "0.5", "2"])?;
                self.line(&format!("var {k} = 0;"));
                self.line(&format!("while ({k} < {trips}) {{"));
                self.fixed.push(k.clone());
                self.loops += 1;
                self.block(4)?;
                self.loops -= 1;
                self.fixed.pop();
                self.indent += 1;
                self.line(&format!("{k} = {k} + {step};"));
                self.indent -= 1;
                self.line("}");
            }
            12 if self.current.is_some() => {
                let e = self.expr(3)?;
                if !self.u.ratio(1u8, 4u8)? {
                    let c = self.cond()?;
                    self.line(&format!("if ({c}) return {e};"));
                } else {
                    self.line(&format!("return {e};"));
                }
            }
            13 => {
                let e = self.call(2)?;
                self.line(&format!("{e};"));
            }
            14 => {
                let c = self.cond()?;
                self.print(&c);
            }
            _ => {
                let e = self.expr(2)?;
                self.print(&e);
            }
        }
        Ok(())
    }

    fn function(&mut self) -> Result<()> {
        let name = format!("f{}", self.funs.len());
        let recursive = self.u.ratio(1u8, 4u8)?;
        let arity = self.u.int_in_range(usize::from(recursive)..=3)?;
        let params: Vec<String> =
            (0..arity).map(|i| if i == 0 && recursive { "n".to_string() } else { format!("p{i}") }).collect();
        let f = Fun { name: name.clone(), arity, recursive };
        self.line(&format!("fun {name}({}) {{", params.join(", ")));
        if recursive {
            self.fixed.push("n".to_string());
            self.locals.extend(params[1..].iter().cloned());
            // The base case does not recurse.
            let e = self.expr(2)?;
            self.line(&format!("  if (n < 1) return {e};"));
        } else {
            self.locals.extend(params.iter().cloned());
        }
        self.current = Some(f.clone());
        self.block(8)?;
        let e = self.expr(3)?;
        self.line(&format!("  return {e};"));
        self.line("}");
        self.locals.clear();
        self.fixed.clear();
        self.current = None;
        self.funs.push(f);
        Ok(())
    }

    fn program(&mut self) -> Result<()> {
        self.odd = self.u.arbitrary()?;
        self.hot = *self.u.choose(&[Hot::No, Hot::No, Hot::No, Hot::No, Hot::Calls, Hot::Loops])?;
        for _ in 0..self.u.int_in_range(0..=3u8)? {
            let g = format!("g{}", self.globals.len());
            let e = self.expr(1)?;
            self.line(&format!("var {g} = {e};"));
            self.globals.push(g);
        }
        for _ in 0..self.u.int_in_range(1..=4u8)? {
            self.function()?;
        }
        // Each function called a few times, with round-dependent numbers.
        let hot = self.hot == Hot::Calls;
        let rounds = if hot { self.u.int_in_range(1000..=1100u16)? } else { self.u.int_in_range(1..=4u16)? };
        self.line(&format!("for (var r = 0; r < {rounds}; r = r + 1) {{"));
        self.indent += 1;
        self.fixed.push("r".to_string());
        let mut calls = Vec::new();
        for f in self.funs.clone() {
            let args: Vec<String> = (0..f.arity)
                .map(|i| {
                    Ok(if i == 0 && f.recursive {
                        self.u.int_in_range(0..=6u8)?.to_string()
                    } else {
                        format!("r {} {}", self.pick(&["+", "-", "*"])?, self.pick(NUMBERS)?)
                    })
                })
                .collect::<Result<_>>()?;
            calls.push(format!("{}({})", f.name, args.join(", ")));
        }
        if hot {
            // Only the last rounds print.
            self.line(&format!("if (r < {}) {{", rounds - 2));
            for call in &calls {
                self.line(&format!("  {call};"));
            }
            self.line("} else {");
            for call in &calls {
                self.line(&format!("  print {call};"));
            }
            self.line("}");
        } else {
            for call in &calls {
                self.line(&format!("print {call};"));
            }
        }
        self.fixed.pop();
        self.indent -= 1;
        self.line("}");
        // Then statements of the script, which may pass odd values.
        self.indent = 0;
        while self.budget > 0 && !self.u.is_empty() {
            self.stmt()?;
        }
        // Last, a function that ran with numbers gets something else.
        let f = self.u.choose(&self.funs)?.clone();
        if f.arity > 0 {
            let at = self.u.choose_index(f.arity)?;
            let args: Vec<String> = (0..f.arity)
                .map(|i| Ok(if i == at { self.pick(ODD)?.to_string() } else { self.pick(NUMBERS)?.to_string() }))
                .collect::<Result<_>>()?;
            self.line(&format!("print {}({});", f.name, args.join(", ")));
        }
        Ok(())
    }
}

/// The program, and whether it has hot code.
fn generate(data: &[u8]) -> (String, bool) {
    let mut u = Unstructured::new(data);
    let mut g = Gen {
        u: &mut u,
        out: String::new(),
        funs: Vec::new(),
        current: None,
        globals: Vec::new(),
        locals: Vec::new(),
        fixed: Vec::new(),
        fresh: 0,
        odd: false,
        hot: Hot::No,
        loops: 0,
        budget: 60,
        indent: 0,
    };
    // Running out of input ends the program early (with whatever it has).
    let _ = g.program();
    let hot = g.hot != Hot::No;
    let mut out = g.out;
    // An unfinished function or block: close what is open.
    let open = out.matches('{').count().saturating_sub(out.matches('}').count());
    for _ in 0..open {
        let _ = writeln!(out, "}}");
    }
    (out, hot)
}

fuzz_target!(|data: &[u8]| {
    // A program of one's own instead (to reproduce or minimize a finding):
    // every mode runs it.
    let (source, hot) = match std::env::var_os("OPT_DIFF_SOURCE") {
        Some(path) => (std::fs::read_to_string(path).expect("read OPT_DIFF_SOURCE"), true),
        None => generate(data),
    };
    let print = std::env::var_os("OPT_DIFF_PRINT").is_some();
    if print {
        eprintln!("{source}");
    }
    let module = match tinyvm::compile(source.as_bytes(), "opt_diff.lox") {
        Ok(module) => module,
        // The generator's own mistakes (an unclosed block cut short) only.
        Err(errors) => {
            if print {
                eprintln!("does not compile: {errors:?}");
            }
            return;
        }
    };
    assert!(verify::verify_module(&module).is_ok(), "the compiler emitted unverifiable code:\n{source}");
    let eager = OptOptions { enabled: true, eager: true, ..OptOptions::default() };
    let tiered = OptOptions { enabled: true, ..OptOptions::default() };
    let mut jobs = vec![
        Job { module: &module, jit: JitMode::Off, opt: Some(OptOptions::default()) },
        Job { module: &module, jit: JitMode::Always, opt: Some(eager) },
        Job { module: &module, jit: JitMode::Always, opt: Some(OptOptions { stress: true, ..eager }) },
    ];
    let mut names = vec!["interpreter", "opt eager", "opt eager + deopt stress"];
    if hot {
        jobs.push(Job { module: &module, jit: JitMode::Auto, opt: Some(tiered) });
        jobs.push(Job { module: &module, jit: JitMode::Auto, opt: Some(OptOptions { stress: true, ..tiered }) });
        names.extend(["opt by hotness", "opt by hotness + deopt stress"]);
    }
    let limits = Limits {
        fuel: Some(if hot { 400_000 } else { 100_000 }),
        time: Duration::from_secs(10),
        max_output: 16 << 10,
        ..Limits::default()
    };
    let runs = forked::run_all(&jobs, 3, &limits).expect("fork the children");
    if print {
        eprintln!("interpreter: {}", runs[0].summary());
        // What the tier compiled or declined (TINYVM_OPT_DEBUG).
        let debug = Job { module: &module, jit: JitMode::Always, opt: Some(OptOptions { debug: true, ..eager }) };
        let run = forked::run(debug, &limits).expect("fork the child");
        for line in String::from_utf8_lossy(&run.stderr).lines().filter(|l| l.starts_with("opt: ")) {
            eprintln!("{line}");
        }
    }
    for (run, name) in runs.iter().zip(names.iter().copied()) {
        assert!(!run.crashed() && !run.hung(), "{name} crashed or hung: {}\nprogram:\n{source}", run.summary());
    }
    for (run, name) in runs.iter().zip(names.iter().copied()).skip(1) {
        assert!(
            runs[0].agrees_with(run),
            "{name} differs from the interpreter:\n  interpreter: {}\n  {name}: {}\nprogram:\n{source}",
            runs[0].summary(),
            run.summary()
        );
    }
});
