//! Thread values: the handle a `spawn` expression yields.

use super::Obj;
use crate::value::Value;
use std::sync::{Arc, Mutex};

#[repr(C)]
pub struct ObjThread {
    pub obj: Obj,
    /// The number shown as `<thread N>`.
    pub id: u64,
    pub shared: Arc<ThreadShared>,
}

/// What a thread value shares with its running thread.
pub struct ThreadShared {
    pub id: u64,
    state: Mutex<(bool, Value)>,
}

impl ThreadShared {
    pub fn new(id: u64) -> ThreadShared {
        ThreadShared { id, state: Mutex::new((false, Value::NIL)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (bool, Value)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call's result (nil until it finishes, or after an error).
    pub fn result(&self) -> Value {
        self.lock().1
    }

    pub fn finished(&self) -> bool {
        self.lock().0
    }

    /// Records the call's result (nil after an error) and that it ended.
    pub fn finish(&self, result: Value) {
        *self.lock() = (true, result);
    }
}
