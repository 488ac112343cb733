//! Programs of several files (DESIGN.md 1.4, `import`): bundled into one
//! executable and one `.tvmc` that need no source at run time; compile
//! errors and runtime traces name the file; `disasm` and `build -g` cover
//! every file.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// main.tvm imports lib/util.tvm twice; util imports shapes.tvm, which
/// imports util.tvm back (a cycle).
fn write_program(dir: &Path) {
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    let files = [
        ("main.tvm", "import \"lib/util.tvm\";\nimport \"lib/util.tvm\";\nprint \"main\";\nprint area(Square(4));\nprint count;\n"),
        (
            "lib/util.tvm",
            "import \"shapes.tvm\";\nvar count = 0;\nfun area(s) {\n  count = count + 1;\n  return s.side * s.side;\n}\nprint \"util\";\n",
        ),
        (
            "lib/shapes.tvm",
            "import \"util.tvm\";\nclass Square { init(side) { this.side = side; } }\nprint \"shapes\";\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

const OUTPUT: &str = "shapes\nutil\nmain\n16\n1\n";

fn in_dir(dir: &Path, args: &[&str]) -> Outcome {
    let mut cmd = tinyvm_cmd(args);
    cmd.current_dir(dir);
    run_with(cmd, b"", Duration::from_secs(60))
}

#[test]
fn a_three_file_program_runs_from_its_executable_and_bytecode_without_sources() {
    let dir = scratch();
    write_program(dir.path());
    for mode in ["--jit=off", "--jit=always"] {
        let out = in_dir(dir.path(), &["run", mode, "main.tvm"]);
        assert_eq!((out.status, out.stdout.as_str(), out.stderr.as_str()), (Some(0), OUTPUT, ""), "{mode}");
    }
    assert_eq!(in_dir(dir.path(), &["build", "main.tvm", "-o", "prog"]).status, Some(0));
    assert_eq!(in_dir(dir.path(), &["compile", "main.tvm", "-o", "prog.tvmc"]).status, Some(0));
    for name in ["main.tvm", "lib/util.tvm", "lib/shapes.tvm"] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    let exe = run_with(Command::new(dir.path().join("prog")), b"", Duration::from_secs(60));
    assert_eq!((exe.status, exe.stdout.as_str(), exe.stderr.as_str()), (Some(0), OUTPUT, ""));
    let bytecode = in_dir(dir.path(), &["run", "prog.tvmc"]);
    assert_eq!((bytecode.status, bytecode.stdout.as_str()), (Some(0), OUTPUT));
    // The listing names each function's file.
    let listing = in_dir(dir.path(), &["disasm", "prog.tvmc"]);
    for header in ["script script (main.tvm:1)", "function area (lib/util.tvm:3)", "script script (lib/shapes.tvm:1)"] {
        assert!(listing.stdout.contains(header), "no {header:?} in\n{}", listing.stdout);
    }
}

#[test]
fn compile_errors_in_an_imported_file_name_it() {
    let dir = scratch();
    std::fs::write(dir.path().join("main.tvm"), "import \"bad.tvm\";\nprint 1;\n").unwrap();
    std::fs::write(dir.path().join("bad.tvm"), "print 1;\nvar = 2;\n").unwrap();
    let short = in_dir(dir.path(), &["run", "--error-format=short", "main.tvm"]);
    assert_eq!(
        (short.status, short.stderr.as_str()),
        (Some(65), "bad.tvm: [line 2] Error at '=': Expect variable name.\n")
    );
    let human = in_dir(dir.path(), &["build", "main.tvm"]);
    assert_eq!(human.status, Some(65));
    assert!(human.stderr.starts_with("error: Expect variable name.\n  --> bad.tvm:2:5\n"), "{}", human.stderr);
    assert!(human.stderr.contains("2 | var = 2;"), "{}", human.stderr);
    // A missing file is a compile error at the import.
    std::fs::write(dir.path().join("main.tvm"), "print 0;\nimport \"missing.tvm\";\n").unwrap();
    let missing = in_dir(dir.path(), &["compile", "--error-format=short", "main.tvm"]);
    assert_eq!(
        (missing.status, missing.stderr.as_str()),
        (Some(65), "[line 2] Error at '\"missing.tvm\"': Cannot import 'missing.tvm': No such file or directory.\n")
    );
}

#[test]
fn a_runtime_error_in_an_imported_function_names_its_file() {
    let dir = scratch();
    std::fs::write(dir.path().join("main.tvm"), "import \"util.tvm\";\nfun go() { return fail(); }\ngo();\n").unwrap();
    std::fs::write(dir.path().join("util.tvm"), "fun fail() {\n  return nil.x;\n}\n").unwrap();
    let expected = "error: Only instances have properties.\n  --> util.tvm:2\n  |\n2 |   return nil.x;\n  |\n    at fail (util.tvm:2)\n    at go (main.tvm:2)\n    at script (main.tvm:3)\n";
    for mode in ["--jit=off", "--jit=always"] {
        let out = in_dir(dir.path(), &["run", mode, "main.tvm"]);
        assert_eq!((out.status, out.stderr.as_str()), (Some(70), expected), "{mode}");
    }
    assert_eq!(in_dir(dir.path(), &["build", "main.tvm", "-o", "prog"]).status, Some(0));
    let mut exe = Command::new(dir.path().join("prog"));
    exe.current_dir(dir.path());
    let out = run_with(exe, b"", Duration::from_secs(60));
    assert_eq!((out.status, out.stderr.as_str()), (Some(70), expected));
    let short = in_dir(dir.path(), &["run", "--error-format=short", "main.tvm"]);
    assert_eq!(
        short.stderr,
        "Only instances have properties.\n[line 2] in fail()\n[line 2] in go()\n[line 3] in script\n"
    );
}

#[test]
fn gdb_stops_at_a_line_of_an_imported_file() {
    if Command::new("gdb").arg("--version").output().is_err() {
        eprintln!("SKIPPED: gdb is not installed");
        return;
    }
    let dir = scratch();
    write_program(dir.path());
    assert_eq!(in_dir(dir.path(), &["build", "-g", "main.tvm", "-o", "prog"]).status, Some(0));
    let units = Command::new("readelf").arg("--debug-dump=info").arg(dir.path().join("prog")).output().unwrap();
    let units = String::from_utf8_lossy(&units.stdout);
    for file in ["main.tvm", "util.tvm", "shapes.tvm"] {
        assert!(units.contains(&format!("DW_AT_name        : {file}")), "no compile unit for {file}");
    }
    std::fs::write(dir.path().join("cmds.gdb"), "set pagination off\nbreak util.tvm:4\nrun\nbt 2\n").unwrap();
    let out = in_dir(dir.path(), &["gdb", "--batch", "-x", "cmds.gdb", "prog"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("area (s=Square instance) at lib/util.tvm:4")
            || text.contains("area (s=Square instance) at util.tvm:4"),
        "{text}"
    );
    assert!(text.contains("at main.tvm:4"), "{text}");
}
