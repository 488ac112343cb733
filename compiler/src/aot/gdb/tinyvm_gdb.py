# TinyVM support for gdb: shows TinyVM values as the program's `print` would
# (locals, arguments, `finish`), gives expressions convenience functions
# ($tvm, $field, $key, $global), makes each compiled function one frame (its
# System V entry stub is unwound through), and names the runtime's Rust
# frames without their hashes.
# Loaded by `tinyvm gdb PROG`, or from an executable built with `tinyvm build -g`
# once gdb's auto-load safe-path allows it. Object layout numbers below are
# filled in by tinyvm from the runtime it was built with.
import re
import struct

import gdb
import gdb.unwinder
from gdb.FrameDecorator import FrameDecorator

LAYOUT = {{LAYOUT}}
VALUE_TYPE = "tinyvm_value"
BITS_TYPE = "tinyvm_bits"
RETURN_TYPE = "tinyvm_return"

QNAN = LAYOUT["QNAN"]
OBJ_TAG = LAYOUT["OBJ_TAG"]
NIL = QNAN | LAYOUT["TAG_NIL"]
UNDEFINED = QNAN | LAYOUT["TAG_UNDEFINED"]
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


def _u32(addr):
    return int.from_bytes(_read(addr, 4), "little")


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



def _type_name(value):
    """The name of value's type, typedefs kept (`tinyvm_value`), or None."""
    try:
        return value.type.name
    except gdb.error:
        return None


def value_bits(value):
    """The 64 bits of a TinyVM value: a `tinyvm_value` (a double: its bits,
    read from memory where it lives, as a NaN's payload may not survive a
    conversion), or an integer holding them."""
    code = value.type.strip_typedefs().code
    if code == gdb.TYPE_CODE_FLT:
        if value.address is not None:
            return _u64(int(value.address))
        return int.from_bytes(struct.pack("<d", float(value)), "little")
    return int(value) & 0xFFFFFFFFFFFFFFFF


class ValuePrinter:
    """Prints a TinyVM value as the program's print statement would."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        return format_value(value_bits(self.value))


class ReturnPrinter:
    """A compiled function's return (`finish`): the returned value, or that
    the function raised a runtime error (status 1) instead."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        if int(self.value["status"]) != 0:
            return "<runtime error>"
        return format_value(value_bits(self.value["value"]))


def lookup(value):
    name = _type_name(value)
    if name in (VALUE_TYPE, BITS_TYPE):
        return ValuePrinter(value)
    if name == RETURN_TYPE or (value.type.strip_typedefs().tag == RETURN_TYPE):
        return ReturnPrinter(value)
    return None


# -- Convenience functions ---------------------------------------------------


def _value_type():
    """`tinyvm_value` where DWARF declares it (`-g`, JIT code), else None."""
    try:
        return gdb.lookup_type(VALUE_TYPE)
    except gdb.error:
        return None


def _as_value(addr):
    """The TinyVM value stored at `addr`, as an lvalue gdb prints with the
    printer (or, without TinyVM's DWARF types loaded, as the printed text)."""
    value_type = _value_type()
    if value_type is not None:
        return gdb.Value(addr).cast(value_type.pointer()).dereference()
    return gdb.Value(format_value(_u64(addr)))


def _object(bits, kind_name):
    """The object pointer of `bits` when it is an object of kind `kind_name`."""
    if bits & OBJ_TAG != OBJ_TAG or bits == NIL or bits in (TRUE, FALSE, UNDEFINED):
        return None
    ptr = bits & POINTER_MASK
    return ptr if _u8(ptr + LAYOUT["OBJ_KIND"]) == LAYOUT[kind_name] else None


def _fields(ptr):
    """An instance's fields: [(name, address of its slot)] in slot order."""
    fields = []
    shape = _u64(ptr + LAYOUT["INSTANCE_SHAPE"])
    slots = _u64(ptr + LAYOUT["INSTANCE_FIELDS"])
    while shape != 0:
        key = _u64(shape + LAYOUT["SHAPE_KEY"])
        if key == 0:
            break
        index = _u32(shape + LAYOUT["SHAPE_FIELD_COUNT"]) - 1
        fields.append((_string(key), slots + 8 * index))
        shape = _u64(shape + LAYOUT["SHAPE_PARENT"])
    fields.reverse()
    return fields


def _string_argument(value, what):
    try:
        return value.string()
    except gdb.error:
        raise gdb.GdbError("%s: give the name as a string, as in \"count\"" % what)


# -- Instances and maps as structs ---------------------------------------------
#
# gdb's Python cannot make struct types, but it reads them from DWARF: for
# each set of field names an instance has (its shape), or of keys a map
# has, a small ELF object declaring `struct CLASS { tinyvm_value FIELD; ...
# }` is written to a temporary directory and added with add-symbol-file, so
# that `$tvm(this).count` is an ordinary member access (and an lvalue).

def _uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _cstr(s):
    return s.encode("utf-8", "replace").replace(b"\0", b"?") + b"\0"


def struct_object(name, members, size):
    """An ELF64 relocatable holding only DWARF: `typedef double tinyvm_value;`
    and `struct NAME { tinyvm_value MEMBER; ... }` of `size` bytes, each
    member (name, offset) a value at that offset."""
    abbrev = bytes([
        1, 0x11, 1, 0x03, 0x08, 0x13, 0x0B, 0, 0,          # compile_unit: name, language
        2, 0x24, 0, 0x03, 0x08, 0x3E, 0x0B, 0x0B, 0x0B, 0, 0,  # base_type: name, encoding, byte_size
        3, 0x16, 0, 0x03, 0x08, 0x49, 0x13, 0, 0,          # typedef: name, type
        4, 0x13, 1, 0x03, 0x08, 0x0B, 0x0F, 0, 0,          # structure_type: name, byte_size
        5, 0x0D, 0, 0x03, 0x08, 0x49, 0x13, 0x38, 0x0F, 0, 0,  # member: name, type, location
        0,
    ])
    body = bytearray()
    header = 11  # unit_length (4), version (2), abbrev offset (4), address size (1)
    body += bytes([1]) + _cstr("tinyvm-fields") + bytes([0x0C])
    double = header + len(body)
    body += bytes([2]) + _cstr("double") + bytes([0x04, 8])
    typedef = header + len(body)
    body += bytes([3]) + _cstr("tinyvm_value") + struct.pack("<I", double)
    body += bytes([4]) + _cstr(name) + _uleb(size)
    for member, offset in members:
        body += bytes([5]) + _cstr(member) + struct.pack("<I", typedef) + _uleb(offset)
    body += bytes([0, 0])
    info = struct.pack("<IHIB", 7 + len(body), 4, 0, 8) + bytes(body)
    names = b"\0.shstrtab\0.debug_abbrev\0.debug_info\0"
    sections = [(names, 1, 3), (abbrev, 11, 1), (info, 25, 1)]  # (data, name offset, type)
    out = bytearray(64)
    offsets = []
    for data, _, _ in sections:
        offsets.append(len(out))
        out += data
    while len(out) % 8:
        out.append(0)
    shoff = len(out)
    out += bytes(64)  # the null section
    for (data, name, kind), offset in zip(sections, offsets):
        out += struct.pack("<IIQQQQIIQQ", name, kind, 0, 0, offset, len(data), 0, 0, 1, 0)
    out[0:64] = struct.pack(
        "<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, bytes(7),
        1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(sections) + 1, 1)
    return bytes(out)


_STRUCTS = {}
_STRUCT_DIR = []


def _struct_type(class_name, fields, size):
    """The struct type `class_name` with `fields` ((name, offset) pairs)."""
    key = (class_name, tuple(fields), size)
    if key in _STRUCTS:
        return _STRUCTS[key]
    import os
    import tempfile
    if not _STRUCT_DIR:
        _STRUCT_DIR.append(tempfile.mkdtemp(prefix="tinyvm-gdb-"))
    base = re.sub(r"[^A-Za-z0-9_]", "_", class_name) or "instance"
    name, n = base, 1
    while True:
        try:
            gdb.lookup_type("struct " + name)
        except gdb.error:
            break
        n += 1
        name = "%s_%d" % (base, n)
    path = os.path.join(_STRUCT_DIR[0], "%s.o" % name)
    with open(path, "wb") as f:
        f.write(struct_object(name, fields, size))
    confirm = gdb.parameter("confirm")
    gdb.execute("set confirm off")
    try:
        gdb.execute("add-symbol-file %s" % path, to_string=True)
    finally:
        gdb.execute("set confirm %s" % ("on" if confirm else "off"))
    _STRUCTS[key] = gdb.lookup_type("struct " + name)
    return _STRUCTS[key]


IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _map_struct(ptr):
    """A map's entries as a struct over its entry array: a member per live
    entry, named by its key when that is a string spelled as an identifier,
    else `_N` (its position among the live entries)."""
    entries = _u64(ptr + LAYOUT["MAP_ENTRIES"])
    used = _u64(ptr + LAYOUT["MAP_USED"])
    size, value_at = LAYOUT["MAP_ENTRY_SIZE"], LAYOUT["MAP_ENTRY_VALUE"]
    members, taken = [], set()
    for i in range(used):
        key = _u64(entries + size * i)
        if key == TOMBSTONE:
            continue
        string = _object(key, "KIND_STRING")
        name = _string(string) if string is not None else None
        if name is None or not IDENTIFIER.match(name) or name in taken:
            name = "_%d" % len(members)
        taken.add(name)
        members.append((name, size * i + value_at))
    struct_type = _struct_type("Map", members, size * max(used, 1))
    return gdb.Value(entries).cast(struct_type.pointer()).dereference()


def _class_name(instance):
    klass = _u64(instance + LAYOUT["INSTANCE_CLASS"])
    return _string(_u64(klass + LAYOUT["CLASS_NAME"]))



class TvmFunction(gdb.Function):
    """$tvm(VALUE): a TinyVM value as gdb can take it apart. An array
    becomes a C array of its elements ($tvm(trail)[1], $tvm(trail)[0] + 1);
    an instance a struct of its fields ($tvm(this).count, $tvm(this)); a
    map a struct of its entries, named by their keys ($tvm(m).name; other
    keys _N, or use $key); a string its text; a number stays a number;
    anything else as it is."""

    def __init__(self):
        super().__init__("tvm")

    def invoke(self, value):
        bits = value_bits(value)
        value_type = _value_type()
        array = _object(bits, "KIND_ARRAY")
        if array is not None and value_type is not None:
            count = _u64(array + LAYOUT["ARRAY_LEN"])
            items = _u64(array + LAYOUT["ARRAY_PTR"])
            if count == 0:
                return gdb.Value(items).cast(value_type.array(-1).pointer()).dereference()
            return gdb.Value(items).cast(value_type.array(count - 1).pointer()).dereference()
        instance = _object(bits, "KIND_INSTANCE")
        if instance is not None:
            names = [(name, 8 * i) for i, (name, _) in enumerate(_fields(instance))]
            struct_type = _struct_type(_class_name(instance), names, 8 * len(names))
            slots = _u64(instance + LAYOUT["INSTANCE_FIELDS"])
            return gdb.Value(slots).cast(struct_type.pointer()).dereference()
        table = _object(bits, "KIND_MAP")
        if table is not None:
            return _map_struct(table)
        string = _object(bits, "KIND_STRING")
        if string is not None:
            return gdb.Value(_string(string))
        return value


def _key_matches(key, wanted):
    """Whether map key `key` (bits) is `wanted`: a gdb string, number or
    TinyVM value."""
    name = _type_name(wanted)
    if name in (VALUE_TYPE, BITS_TYPE):
        bits = value_bits(wanted)
        if key == bits:
            return True
        a, b = _object(key, "KIND_STRING"), _object(bits, "KIND_STRING")
        return a is not None and b is not None and _string(a) == _string(b)
    code = wanted.type.strip_typedefs().code
    if code in (gdb.TYPE_CODE_ARRAY, gdb.TYPE_CODE_PTR):
        string = _object(key, "KIND_STRING")
        return string is not None and _string(string) == wanted.string()
    if code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_FLT, gdb.TYPE_CODE_BOOL):
        return key & QNAN != QNAN and struct.unpack("<d", key.to_bytes(8, "little"))[0] == float(wanted)
    return False


class KeyFunction(gdb.Function):
    """$key(MAP, KEY): the value of KEY in a map, as the program's
    `MAP[KEY]` reads it ($key(m, "name"), $key(m, 1), $key(m, $global("k")))."""

    def __init__(self):
        super().__init__("key")

    def invoke(self, value, wanted):
        table = _object(value_bits(value), "KIND_MAP")
        if table is None:
            raise gdb.GdbError("$key: %s is not a map" % format_value(value_bits(value)))
        entries = _u64(table + LAYOUT["MAP_ENTRIES"])
        size, value_at = LAYOUT["MAP_ENTRY_SIZE"], LAYOUT["MAP_ENTRY_VALUE"]
        for i in range(_u64(table + LAYOUT["MAP_USED"])):
            key = _u64(entries + size * i)
            if key != TOMBSTONE and _key_matches(key, wanted):
                return _as_value(entries + size * i + value_at)
        raise gdb.GdbError("$key: no such key in the map")


class FieldFunction(gdb.Function):
    """$field(INSTANCE, "name"): the field `name` of an instance, as the
    program's `INSTANCE.name` reads it ($field(this, "count") + 1)."""

    def __init__(self):
        super().__init__("field")

    def invoke(self, value, name):
        name = _string_argument(name, "$field")
        instance = _object(value_bits(value), "KIND_INSTANCE")
        if instance is None:
            raise gdb.GdbError("$field: %s is not an instance" % format_value(value_bits(value)))
        for field, addr in _fields(instance):
            if field == name:
                return _as_value(addr)
        names = ", ".join(f for f, _ in _fields(instance)) or "none"
        raise gdb.GdbError("$field: no field '%s' (fields: %s)" % (name, names))


def _vm():
    try:
        vm = gdb.parse_and_eval("(unsigned long) tvm_debug_vm")
    except gdb.error:
        raise gdb.GdbError("no TinyVM program here (no symbol tvm_debug_vm)")
    vm = int(vm)
    if vm == 0:
        raise gdb.GdbError("the TinyVM program has not started yet")
    return vm


def globals_by_name():
    """The program's globals: {name: address of its slot}."""
    vm = _vm()
    base = _u64(vm + LAYOUT["VM_GLOBALS_BASE"])
    names = _u64(vm + LAYOUT["VM_GLOBALS_NAMES"])
    count = _u64(vm + LAYOUT["VM_GLOBALS_COUNT"])
    return {_string(_u64(names + 8 * i)): base + 8 * i for i in range(count)}


class GlobalFunction(gdb.Function):
    """$global("name"): the program's global `name` ($global("counter"))."""

    def __init__(self):
        super().__init__("global")

    def invoke(self, name):
        name = _string_argument(name, "$global")
        addr = globals_by_name().get(name)
        if addr is None or _u64(addr) == UNDEFINED:
            raise gdb.GdbError("$global: no global '%s' is defined" % name)
        return _as_value(addr)


# -- Unwinding: one frame per compiled function ------------------------------

# The System V entry stub calls the fast entry and then, at the return
# address, runs `pop r13; pop r12; pop rbp; ret` (codegen/lower/mod.rs).
STUB_RETURN = bytes([0x41, 0x5D, 0x41, 0x5C, 0x5D, 0xC3])
# Where the fast entry's prologue has pushed each register (push rbp; mov
# rbp, rsp; push rbx; push r14; push r15): offsets from the fast entry
# after which [rbp - slot] holds the caller's value.
SAVED_AFTER = (("rbx", 5, 8), ("r14", 7, 16), ("r15", 9, 24))
FRAME_POINTER_SET = 4


class FrameId:
    """A frame's identity for gdb (gdb.unwinder.FrameId exists from gdb 14;
    gdb 13 wants gdb.Value attributes)."""

    def __init__(self, sp, pc):
        self.sp = gdb.Value(sp)
        self.pc = gdb.Value(pc)


def _symbol_name(pc):
    """The name of the ELF symbol around pc, or None."""
    try:
        text = gdb.execute("info symbol 0x%x" % pc, to_string=True)
    except gdb.error:
        return None
    if text.startswith("No symbol"):
        return None
    return re.split(r" \+ \d+ in | in section ", text, maxsplit=1)[0]


class EntryStubUnwinder(gdb.unwinder.Unwinder):
    """A compiled function entered from Rust runs in two frames: the entry
    stub and the body it calls. This unwinds a body frame whose caller is
    its stub straight to the stub's caller, so that the function is one
    frame in `bt`, `up` and `frame N`, and `finish` returns to Rust code."""

    def __init__(self):
        super().__init__("tinyvm-entry-stubs")

    def __call__(self, pending):
        try:
            return self._unwind(pending)
        except (gdb.error, gdb.MemoryError, ValueError, OverflowError):
            return None

    def _unwind(self, pending):
        pc = int(pending.read_register("rip"))
        rbp = int(pending.read_register("rbp"))
        ret = _u64(rbp + 8)
        if _read(ret, len(STUB_RETURN)) != STUB_RETURN or _u8(ret - 5) != 0xE8:
            return None
        fast = (ret + int.from_bytes(_read(ret - 4, 4), "little", signed=True)) & 0xFFFFFFFFFFFFFFFF
        into = pc - fast
        if 0 <= into < FRAME_POINTER_SET:
            return None
        # rbp may be a compiled frame's while pc is in a Rust function it called.
        name = _symbol_name(pc)
        if name is None or name != _symbol_name(fast):
            return None
        stub_rbp = _u64(rbp)
        registers = {
            "rip": _u64(stub_rbp + 8),
            "rsp": stub_rbp + 16,
            "rbp": _u64(stub_rbp),
            "r12": _u64(stub_rbp - 8),
            "r13": _u64(stub_rbp - 16),
        }
        for register, after, slot in SAVED_AFTER:
            if into < 0 or into >= after:
                registers[register] = _u64(rbp - slot)
        info = pending.create_unwind_info(FrameId(stub_rbp + 16, fast))
        for register, value in registers.items():
            info.add_saved_register(register, gdb.Value(value).cast(pending.read_register(register).type))
        return info


# -- Backtraces: Rust frames without hashes ----------------------------------

RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")


class Demangled(FrameDecorator):
    """A frame whose Rust function name loses its `::h0123...` hash."""

    def function(self):
        name = super().function()
        if isinstance(name, int):
            name = self.inferior_frame().name() or name
        if isinstance(name, str):
            return RUST_HASH.sub("", name)
        return name


class DemangleFilter:
    def __init__(self):
        self.name = "tinyvm-rust-names"
        self.priority = 100
        self.enabled = True
        gdb.frame_filters[self.name] = self

    def filter(self, frames):
        return map(Demangled, frames)


# Load once, even when both `tinyvm gdb` and auto-load bring the script.
if not getattr(gdb, "_tinyvm_loaded", False):
    gdb._tinyvm_loaded = True
    gdb.pretty_printers.append(lookup)
    TvmFunction()
    FieldFunction()
    GlobalFunction()
    KeyFunction()
    gdb.unwinder.register_unwinder(None, EntryStubUnwinder(), replace=True)
    DemangleFilter()
