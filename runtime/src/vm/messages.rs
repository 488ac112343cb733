//! The runtime error messages of the instructions, each defined once: the
//! interpreter, the slow paths it shares with generated code, and the
//! helpers generated code calls for its own error exits raise them from
//! here, so every tier reports the same text. (Natives and the thread and
//! monitor operations keep their messages beside their one definition.)

pub const STACK_OVERFLOW: &str = "Stack overflow.";
pub const OPERANDS_NUMBERS: &str = "Operands must be numbers.";
pub const OPERAND_NUMBER: &str = "Operand must be a number.";
pub const ADD_OPERANDS: &str = "Operands must be two numbers or two strings.";
pub const SUPERCLASS_NOT_CLASS: &str = "Superclass must be a class.";
pub const SUBCLASS_NOT_CLASS: &str = "Only classes can inherit.";
pub const PROPERTY_OF_NON_INSTANCE: &str = "Only instances have properties.";
pub const FIELD_OF_NON_INSTANCE: &str = "Only instances have fields.";
pub const METHOD_OF_NON_INSTANCE: &str = "Only instances have methods.";
pub const NOT_CALLABLE: &str = "Can only call functions and classes.";
pub const BAD_METHOD: &str = "Methods can only be closures defined on classes.";
pub const INDEX_NOT_NUMBER: &str = "Index must be a number.";
pub const INDEX_NOT_INTEGER: &str = "Index must be an integer.";
pub const NOT_INDEXABLE: &str = "Only arrays, maps and strings can be indexed.";
pub const NOT_INDEX_ASSIGNABLE: &str = "Only arrays and maps support index assignment.";
pub const MAP_KEY_NAN: &str = "Map key cannot be NaN.";

pub fn undefined_variable(name: &str) -> String {
    format!("Undefined variable '{}'.", name)
}

pub fn undefined_property(name: &str) -> String {
    format!("Undefined property '{}'.", name)
}

pub fn arity(expected: u32, got: usize) -> String {
    format!("Expected {} arguments but got {}.", expected, got)
}

/// A call of a native that takes `min..=max` arguments with `got`.
pub fn arity_range(min: u32, max: u32, got: usize) -> String {
    match max - min {
        0 => arity(min, got),
        1 => format!("Expected {} or {} arguments but got {}.", min, max, got),
        _ => format!("Expected {} to {} arguments but got {}.", min, max, got),
    }
}

pub fn index_out_of_bounds(index: &str, len: usize) -> String {
    format!("Index {} out of bounds for length {}.", index, len)
}
