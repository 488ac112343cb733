//! Literals: the escapes of string literals and the two forms of number
//! literals. Pure functions of the token's bytes.

/// The bytes a string literal denotes (its text between the quotes):
/// `\n \t \r \0 \" \\` and `\u{HEX}` (a code point, written as UTF-8).
/// Any other byte stands for itself, invalid UTF-8 included. `Err` for any
/// other backslash sequence.
pub fn string_bytes(text: &[u8]) -> Result<Vec<u8>, InvalidEscape> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let escape = *text.get(i).ok_or(InvalidEscape)?;
        i += 1;
        match escape {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0' => out.push(0),
            b'"' => out.push(b'"'),
            b'\\' => out.push(b'\\'),
            b'u' => {
                let (c, used) = code_point(&text[i..])?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += used;
            }
            _ => return Err(InvalidEscape),
        }
    }
    Ok(out)
}

/// A string literal has an escape the language does not define.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidEscape;

/// `{HEX}` after `\u`: the code point and the bytes it took.
fn code_point(text: &[u8]) -> Result<(char, usize), InvalidEscape> {
    if text.first() != Some(&b'{') {
        return Err(InvalidEscape);
    }
    let close = text.iter().position(|&b| b == b'}').ok_or(InvalidEscape)?;
    let digits = &text[1..close];
    if digits.is_empty() || digits.len() > 6 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(InvalidEscape);
    }
    let value =
        u32::from_str_radix(std::str::from_utf8(digits).map_err(|_| InvalidEscape)?, 16).map_err(|_| InvalidEscape)?;
    let c = char::from_u32(value).ok_or(InvalidEscape)?;
    Ok((c, close + 1))
}

/// The value of a number literal: decimal (`12`, `3.5`) or hexadecimal
/// (`0xFF`, integers only, exact up to 2^53).
pub fn number(text: &str) -> f64 {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => hex.bytes().fold(0.0, |n, d| n * 16.0 + (d as char).to_digit(16).unwrap_or(0) as f64),
        None => text.parse::<f64>().unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode() {
        assert_eq!(string_bytes(br#"a\nb\t\r\0\"\\"#).unwrap(), b"a\nb\t\r\0\"\\");
        assert_eq!(string_bytes(br"\u{41}\u{e9}\u{1F600}").unwrap(), "A\u{e9}\u{1F600}".as_bytes());
        assert_eq!(string_bytes(b"caf\xe9").unwrap(), b"caf\xe9");
        for bad in [&br"\q"[..], br"\u41", br"\u{}", br"\u{110000}", br"\u{D800}", br"\u{1234567}", br"\u{12", b"\\"] {
            assert_eq!(string_bytes(bad), Err(InvalidEscape), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn numbers_decode() {
        assert_eq!(number("255"), 255.0);
        assert_eq!(number("0xFF"), 255.0);
        assert_eq!(number("0x10"), 16.0);
        assert_eq!(number("0xffffffff"), 4294967295.0);
        assert_eq!(number("1.5"), 1.5);
    }
}
