//! (tests to be written)

mod common;
