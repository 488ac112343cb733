//! Fuzz target: the source front end and bytecode emitter.
//!
//! Arbitrary bytes; if they are UTF-8 they are compiled with
//! `tinyvm::compile` (lexer, parser or classic-Lox front end, emitter).
//!
//! Properties: nothing panics (including stack overflow on deep nesting);
//! when compilation succeeds, the module passes `verify_module` (the
//! compiler must never emit unverifiable code), survives an encode/decode
//! round trip unchanged, and can be disassembled.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyvm_runtime::bytecode::{listing, tvmc, verify, Constant};

fuzz_target!(|data: &[u8]| {
    // Sources are bytes (string literals and comments may hold any).
    let Ok(module) = tinyvm::compile(data, "fuzz.tvm") else { return };

    let verified = match verify::verify_module(&module) {
        Ok(v) => v,
        Err(e) => panic!("compiler emitted unverifiable code: {e}"),
    };

    let bytes = tvmc::encode(&module);
    let decoded = tvmc::decode(&bytes).expect("encoded module must decode");
    let has_nan = module.functions.iter().any(|f| {
        f.constants
            .iter()
            .any(|c| matches!(c, Constant::Number(n) if n.is_nan()))
    });
    if has_nan {
        // NaN != NaN, so compare the encodings instead of the modules.
        assert_eq!(tvmc::encode(&decoded), bytes, "round trip changed the module");
    } else {
        assert_eq!(decoded, module, "round trip changed the module");
    }

    let _ = listing::disassemble(&module, &verified.max_stack);
});
