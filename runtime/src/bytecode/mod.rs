//! The bytecode: instruction set, module data, `.tvmc` files, verification
//! and listing. Defined here, written by the compiler, read by every backend.

pub mod depth;
pub mod listing;
pub mod module;
pub mod opcode;
pub mod tvmc;
pub mod verify;
pub mod walk;

pub use module::{Constant, FunctionKind, FunctionProto, LocalInfo, Module};
pub use opcode::Op;
