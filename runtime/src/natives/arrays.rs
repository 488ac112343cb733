//! Array natives: `array`, `insert` and `sort` (`slice` and `indexOf` are
//! in `strings.rs`, for strings and arrays alike).
//!
//! `sort` is a stable bottom-up merge sort written here rather than Rust's
//! `sort_by`, for three reasons: a comparison may be a program function,
//! which can fail (the error must stop the sort and propagate), collect
//! garbage, switch threads or change the array; Rust's sort may panic when
//! a comparison is not a total order, which a program's can fail to be;
//! and its scratch memory is allocated infallibly, where `Out of memory.`
//! must stay a runtime error. The sort works on a copy of the elements in
//! the thread's own GC roots (`Thread::roots`), reached by index at every
//! step, since a comparison may sort too and grow those roots.

use super::args::{self, array_value, is_integer, vec_with_room};
use super::Native;
use crate::heap::oom::try_reserve;
use crate::heap::{grow_array, out_of_memory};
use crate::object::*;
use crate::value::{Comparison, Value};
use crate::vm::error::raise;
use crate::vm::{messages, Thread, Trap, Vm};

pub const NATIVES: &[Native] =
    &[Native::fixed("array", 2, array), Native::fixed("insert", 3, insert), Native::optional("sort", 1, 2, sort)];

/// `array(n, value)`: a new array of `n` elements, each `value`.
pub fn array(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    const MESSAGE: &str = "array() expects a length that is a non-negative integer.";
    let n = args::number(th, args, 0, MESSAGE)?;
    if !is_integer(n) || n < 0.0 {
        return Err(raise(th, MESSAGE));
    }
    // Past the address space (and so past any heap limit) when not a usize.
    let n = if n < usize::MAX as f64 { n as usize } else { usize::MAX };
    let mut items = vec_with_room(vm, th, n)?;
    items.resize(n, args[1]);
    array_value(vm, th, items)
}

/// `insert(a, i, v)`: puts `v` at index `i` of the array `a`, moving the
/// elements from `i` on one place up; `i` may be the length (appends).
/// Returns nil.
pub fn insert(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let array = args::array(th, args, 0, "insert() expects an array.")?;
    // SAFETY: the array is an argument (rooted).
    let len = unsafe { (*array).len };
    let index = args[1];
    if !index.is_number() {
        return Err(raise(th, messages::INDEX_NOT_NUMBER));
    }
    let i = index.as_number();
    if !is_integer(i) {
        return Err(raise(th, messages::INDEX_NOT_INTEGER));
    }
    if i < 0.0 || i > len as f64 {
        return Err(raise(th, messages::index_out_of_bounds(&crate::print::format_number(i), len)));
    }
    grow_array(vm, th, array, 1)?;
    // SAFETY: the array is rooted and has room for one more item (no reallocation).
    unsafe { (*array).with_vec(|v| v.insert(i as usize, args[2])) };
    Ok(Value::NIL)
}

/// `sort(a)` / `sort(a, less)`: sorts the array in place, stably, and
/// returns nil. Without `less` (or with nil) the elements must be all
/// numbers (ascending; NaN after every other number) or all strings
/// (bytewise, as `<` compares them). With `less`, `less(x, y)` is called
/// with two elements and is truthy when `x` goes before `y`; an error in
/// it ends the sort and propagates. The array then holds the sorted
/// elements (whatever `less` did to it meanwhile).
pub fn sort(vm: &mut Vm, th: &mut Thread, args: &[Value]) -> Result<Value, Trap> {
    let array = args::array(th, args, 0, "sort() expects an array.")?;
    let less = args.get(1).copied().filter(|v| !v.is_nil());
    if let Some(less) = less {
        let callable =
            matches!(less.obj_kind(), Some(ObjKind::Closure | ObjKind::BoundMethod | ObjKind::Native | ObjKind::Class));
        if !callable {
            return Err(raise(th, "sort() expects a function to compare with."));
        }
    } else {
        // SAFETY: the array is an argument (rooted); nothing here allocates.
        let items = unsafe { (*array).items() };
        let numbers = items.iter().all(|v| v.is_number());
        if !numbers && !items.iter().all(|v| v.is_kind(ObjKind::String)) {
            return Err(raise(th, "sort() expects only numbers or only strings (or a function to compare them)."));
        }
    }
    let base = th.roots.len();
    let sorted = (|| {
        // SAFETY: as above; the copy is made before anything runs.
        let n = unsafe { (*array).len };
        let room = n.checked_mul(2).and_then(|m| try_reserve(&mut th.roots, m).ok());
        if room.is_none() {
            return Err(out_of_memory(th));
        }
        // SAFETY: as above.
        let items = unsafe { (*array).items() };
        th.roots.extend_from_slice(items);
        th.roots.extend_from_slice(items);
        let result = match less {
            None => merge_sort(vm, th, base, n, &mut |_, _, a, b| Ok(natural_less(a, b)))?,
            Some(less) => merge_sort(vm, th, base, n, &mut |vm, th, a, b| call_less(vm, th, less, a, b))?,
        };
        // The comparisons may have shortened the array (it is still rooted:
        // an argument): make room for every sorted element again.
        // SAFETY: as above.
        let len = unsafe { (*array).len };
        grow_array(vm, th, array, n.saturating_sub(len))?;
        let sorted = &th.roots[result..result + n];
        // SAFETY: the array is rooted and has room for `n` items (no reallocation).
        unsafe {
            (*array).with_vec(|v| {
                v.clear();
                v.extend_from_slice(sorted);
            })
        };
        Ok(())
    })();
    th.roots.truncate(base);
    sorted.map(|()| Value::NIL)
}

/// The order of `sort` without a function: numbers ascending (NaN after
/// every other number, NaNs equal), strings bytewise. Both values are
/// numbers or both strings.
fn natural_less(a: Value, b: Value) -> bool {
    if a.is_number() {
        let (x, y) = (a.as_number(), b.as_number());
        return x < y || (y.is_nan() && !x.is_nan());
    }
    // SAFETY: both are strings of the array being sorted, rooted in
    // `Thread::roots`; nothing runs during the comparison.
    unsafe {
        let (x, y) = (a.as_obj() as *mut ObjString, b.as_obj() as *mut ObjString);
        Comparison::Less.holds_for_strings((*x).bytes(), (*y).bytes())
    }
}

/// Calls the program's `less(a, b)` and tells whether its result is truthy.
fn call_less(vm: &mut Vm, th: &mut Thread, less: Value, a: Value, b: Value) -> Result<bool, Trap> {
    // SAFETY: both pointers are into the thread's value stack mapping.
    let room = unsafe { th.stack_limit.offset_from(th.sp) };
    if room < 3 {
        return Err(raise(th, messages::STACK_OVERFLOW));
    }
    let slot = th.sp;
    th.push(less);
    th.push(a);
    th.push(b);
    crate::vm::call::call_from_native(vm, th, slot, 2)?;
    Ok(!th.pop().is_falsey())
}

/// A comparison of `merge_sort`: whether the first value goes before the second.
type Less<'a> = dyn FnMut(&mut Vm, &mut Thread, Value, Value) -> Result<bool, Trap> + 'a;

/// Sorts the `n` values at `th.roots[base..base + n]` stably by `less`,
/// using `th.roots[base + n..base + 2n]` as the second buffer; returns the
/// start of the buffer that holds the result. Bottom-up: runs of 1, 2, 4,
/// ... are merged pairwise from one buffer into the other, so at most
/// `n * ceil(log2 n)` comparisons; two runs already in order cost one.
/// Values are read by index after every comparison, which may run program
/// code that moves `th.roots` (a nested sort) but never changes this part.
fn merge_sort(vm: &mut Vm, th: &mut Thread, base: usize, n: usize, less: &mut Less) -> Result<usize, Trap> {
    let (mut from, mut to) = (base, base + n);
    let mut width = 1;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j, mut k) = (lo, mid, lo);
            // The right run goes first only when strictly less: stable.
            let ordered = mid == hi || {
                let (x, y) = (th.roots[from + mid - 1], th.roots[from + mid]);
                !less(vm, th, y, x)?
            };
            if !ordered {
                while i < mid && j < hi {
                    let (x, y) = (th.roots[from + i], th.roots[from + j]);
                    if less(vm, th, y, x)? {
                        th.roots[to + k] = y;
                        j += 1;
                    } else {
                        th.roots[to + k] = x;
                        i += 1;
                    }
                    k += 1;
                }
            }
            th.roots.copy_within(from + i..from + mid, to + k);
            k += mid - i;
            th.roots.copy_within(from + j..from + hi, to + k);
            lo = hi;
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    Ok(from)
}
