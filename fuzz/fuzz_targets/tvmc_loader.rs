//! Fuzz target: the `.tvmc` loader path (decoder, verifier, disassembler).
//!
//! Two flavours, chosen by the input itself:
//! - input starting with the magic `TVMC`: a whole file, through
//!   `tvmc::decode` (header, version, flags, length and checksum checks);
//! - anything else: a bare payload, through `tvmc::decode_payload`, so that
//!   the fuzzer explores the decoder and verifier without having to forge
//!   checksums. (A payload begins with the u32 length of the source name;
//!   "TVMC" as that length is 1.1 GB and can never decode, so no payload is
//!   lost to the first flavour.)
//!
//! Properties: nothing panics; a decoded module re-encodes to bytes that
//! decode to a module encoding to the same bytes; a module that verifies
//! can be disassembled and lowered to x86-64 (both trust verified code)
//! and verifies again after an encode/decode round trip with the same result.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyvm_runtime::bytecode::{listing, tvmc, verify};

fuzz_target!(|data: &[u8]| {
    let decoded = if tvmc::looks_like_tvmc(data) {
        tvmc::decode(data)
    } else {
        tvmc::decode_payload(data)
    };
    let Ok(module) = decoded else { return };

    // Encoding is total on decoded modules, and decode(encode(m)) is a
    // fixed point (compared as bytes: NaN constants make `==` on modules
    // unreliable, and a non-0/1 `is_parameter` byte is normalised).
    let bytes = tvmc::encode(&module);
    let again = tvmc::decode(&bytes).expect("re-encoded module must decode");
    assert_eq!(tvmc::encode(&again), bytes, "encode/decode is not a fixed point");

    let Ok(verified) = verify::verify_module(&module) else { return };
    assert_eq!(
        verified.max_stack.len(),
        module.functions.len(),
        "one max_stack entry per function"
    );
    assert_eq!(
        verify::verify_module(&again).as_ref(),
        Ok(&verified),
        "verification differs after a round trip"
    );
    let _ = listing::disassemble(&module, &verified.max_stack);

    // The x86-64 lowering (shared by the JIT and `tinyvm build`) trusts
    // verified code too: it must lower every verified function.
    for lowered in tinyvm::aot::lower_module(&module, &verified, tinyvm::aot::LowerOptions::for_build(false)) {
        lowered.expect("verified code must lower");
    }
});
