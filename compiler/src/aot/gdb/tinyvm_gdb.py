# TinyVM support for gdb: shows TinyVM values as the program's `print` would,
# and hides the entry stubs of compiled functions in backtraces.
# Loaded by `tinyvm gdb PROG`, or from an executable built with `tinyvm build -g`
# once gdb's auto-load safe-path allows it. Object layout numbers below are
# filled in by tinyvm from the runtime it was built with.
import gdb

LAYOUT = {{LAYOUT}}
FAST_ENTRY_OFFSET = {{FAST_ENTRY_OFFSET}}
VALUE_TYPE = "tinyvm_value"

QNAN = LAYOUT["QNAN"]
OBJ_TAG = LAYOUT["OBJ_TAG"]
NIL = QNAN | LAYOUT["TAG_NIL"]
FALSE = QNAN | LAYOUT["TAG_FALSE"]
TRUE = QNAN | LAYOUT["TAG_TRUE"]
TOMBSTONE = LAYOUT["TOMBSTONE"]
POINTER_MASK = LAYOUT["POINTER_MASK"]
MAX_NESTING = 64


def _read(addr, size):
    return bytes(gdb.selected_inferior().read_memory(addr, size))


def _u64(addr):
    return int.from_bytes(_read(addr, 8), "little")


def _u8(addr):
    return _read(addr, 1)[0]


def format_number(n):
    """Like the runtime's number.rs: shortest round-trip digits (ties to
    even, as Python's repr and ryu-js both pick them), laid out as
    JavaScript's Number.prototype.toString does. tests/gdb.rs compares the
    two on edge cases."""
    import math
    if math.isnan(n):
        return "nan"
    if math.isinf(n):
        return "inf" if n > 0 else "-inf"
    if n == 0:
        return "-0" if math.copysign(1.0, n) < 0 else "0"
    sign = "-" if n < 0 else ""
    text = repr(abs(n))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or "0")
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    k = len(digits)
    if k <= point <= 21:
        body = digits + "0" * (point - k)
    elif 0 < point <= 21:
        body = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        body = "0." + "0" * (-point) + digits
    else:
        e = point - 1
        rest = "." + digits[1:] if k > 1 else ""
        body = "%s%se%s%d" % (digits[0], rest, "-" if e < 0 else "+", abs(e))
    return sign + body


def _string(ptr):
    length = _u64(ptr + LAYOUT["STRING_LEN"])
    return _read(ptr + LAYOUT["STRING_DATA"], min(length, 4096)).decode("utf-8", "replace")


def _function_name(function):
    name = _u64(function + LAYOUT["FUNCTION_NAME"])
    return "<script>" if name == 0 else "<fn %s>" % _string(name)


def _map_entries(ptr, limit):
    """The first `limit` live (key, value) pairs of the map at `ptr`, in
    insertion order (object/map.rs: written entries, removed ones with the
    tombstone key), and whether there are more."""
    entries = _u64(ptr + LAYOUT["MAP_ENTRIES"])
    used = _u64(ptr + LAYOUT["MAP_USED"])
    size, value_at = LAYOUT["MAP_ENTRY_SIZE"], LAYOUT["MAP_ENTRY_VALUE"]
    pairs = []
    for i in range(used):
        key = _u64(entries + size * i)
        if key == TOMBSTONE:
            continue
        if len(pairs) == limit:
            return pairs, True
        pairs.append((key, _u64(entries + size * i + value_at)))
    return pairs, False


def format_value(bits, depth=0, path=()):
    if bits & QNAN != QNAN:
        import struct
        return format_number(struct.unpack("<d", bits.to_bytes(8, "little"))[0])
    if bits == NIL:
        return "nil"
    if bits == FALSE:
        return "false"
    if bits == TRUE:
        return "true"
    if bits & OBJ_TAG != OBJ_TAG:
        return "<undefined>"
    ptr = bits & POINTER_MASK
    try:
        kind = _u8(ptr + LAYOUT["OBJ_KIND"])
        if kind == LAYOUT["KIND_STRING"]:
            return _string(ptr)
        if kind == LAYOUT["KIND_FUNCTION"]:
            return _function_name(ptr)
        if kind == LAYOUT["KIND_CLOSURE"]:
            return _function_name(_u64(ptr + LAYOUT["CLOSURE_FUNCTION"]))
        if kind == LAYOUT["KIND_BOUND_METHOD"]:
            closure = _u64(ptr + LAYOUT["BOUND_METHOD"])
            return _function_name(_u64(closure + LAYOUT["CLOSURE_FUNCTION"]))
        if kind == LAYOUT["KIND_NATIVE"]:
            return "<native fn>"
        if kind == LAYOUT["KIND_CLASS"]:
            return _string(_u64(ptr + LAYOUT["CLASS_NAME"]))
        if kind == LAYOUT["KIND_INSTANCE"]:
            klass = _u64(ptr + LAYOUT["INSTANCE_CLASS"])
            return _string(_u64(klass + LAYOUT["CLASS_NAME"])) + " instance"
        if kind == LAYOUT["KIND_ARRAY"]:
            # As print.rs: an array or map inside itself prints `[...]` / `{...}`.
            if depth >= MAX_NESTING or ptr in path:
                return "[...]"
            inner = path + (ptr,)
            items = _u64(ptr + LAYOUT["ARRAY_PTR"])
            count = _u64(ptr + LAYOUT["ARRAY_LEN"])
            shown = [format_value(_u64(items + 8 * i), depth + 1, inner) for i in range(min(count, 100))]
            if count > 100:
                shown.append("...")
            return "[" + ", ".join(shown) + "]"
        if kind == LAYOUT["KIND_MAP"]:
            if depth >= MAX_NESTING or ptr in path:
                return "{...}"
            inner = path + (ptr,)
            pairs, more = _map_entries(ptr, 100)
            shown = [
                format_value(k, depth + 1, inner) + ": " + format_value(v, depth + 1, inner) for k, v in pairs
            ]
            if more:
                shown.append("...")
            return "{" + ", ".join(shown) + "}"
        if kind == LAYOUT["KIND_THREAD"]:
            return "<thread %d>" % _u64(ptr + LAYOUT["THREAD_ID"])
        return "<object kind %d>" % kind
    except gdb.MemoryError:
        return "<invalid object 0x%x>" % ptr


class ValuePrinter:
    """Prints a TinyVM value as the program's print statement would."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        return format_value(int(self.value) & 0xFFFFFFFFFFFFFFFF)


def lookup(value):
    if value.type.name == VALUE_TYPE:
        return ValuePrinter(value)
    return None


class EntryStubFilter:
    """Hides the System V entry stub that precedes each compiled function's
    fast entry (it would show the function a second time in backtraces)."""

    def __init__(self):
        self.name = "tinyvm-entry-stubs"
        self.priority = 100
        self.enabled = True
        gdb.frame_filters[self.name] = self

    def filter(self, frames):
        for frame in frames:
            try:
                f = frame.inferior_frame()
                function = f.function()
                symtab = function.symtab if function is not None else None
                producer = getattr(symtab, "producer", None) or ""
                if symtab is not None and producer.startswith("tinyvm") and f.level() > 0:
                    start = int(function.value().address)
                    if f.pc() - start < FAST_ENTRY_OFFSET:
                        continue
            except (RuntimeError, gdb.error):
                pass
            yield frame


# Load once, even when both `tinyvm gdb` and auto-load bring the script.
if not getattr(gdb, "_tinyvm_loaded", False):
    gdb._tinyvm_loaded = True
    gdb.pretty_printers.append(lookup)
    EntryStubFilter()
