//! Thread values: the handle a `spawn` expression yields.

use super::Obj;
use crate::sync::threads::ThreadShared;
use std::sync::Arc;

#[repr(C)]
pub struct ObjThread {
    pub obj: Obj,
    /// The number shown as `<thread N>`.
    pub id: u64,
    pub shared: Arc<ThreadShared>,
}
