//! Reading the input: raw bytes, or hex text with `--hex`.

use std::io::Read as _;
use std::path::Path;

/// Read `path` (or stdin for `None` / `-`).
pub(crate) fn read(path: Option<&Path>) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    match path {
        None => std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?,
        Some(p) if p.as_os_str() == "-" => std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?,
        Some(p) => {
            buf = std::fs::read(p).map_err(|e| {
                format!(
                    "cannot read INPUT `{}`: {e} (give the path of a capture file, or `-` for stdin)",
                    p.display()
                )
            })?;
            buf.len()
        }
    };
    Ok(buf)
}

/// Decode hex text (whitespace ignored; an optional `0x` before a byte pair is allowed).
pub(crate) fn from_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut digits = text
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, b)| !b.is_ascii_whitespace())
        .peekable();
    while let Some((i, hi)) = digits.next() {
        if hi == b'0' && matches!(digits.peek(), Some((_, b'x' | b'X'))) {
            digits.next();
            continue;
        }
        let Some((j, lo)) = digits.next() else {
            return Err(format!(
                "--hex input has an odd number of hex digits (the last one is at byte {i}); \
                 each byte needs two digits"
            ));
        };
        let h = hex_val(hi).ok_or_else(|| bad_digit(i, hi))?;
        let l = hex_val(lo).ok_or_else(|| bad_digit(j, lo))?;
        out.push(h << 4 | l);
    }
    Ok(out)
}

fn bad_digit(at: usize, b: u8) -> String {
    format!(
        "--hex input has `{}` at byte {at}, which is not a hex digit; \
         give only hex digits and whitespace, or drop --hex to read raw bytes",
        char::from(b).escape_default()
    )
}

use voltwire_core::hex::value as hex_val;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_text() {
        assert_eq!(from_hex(b"0d 0A\n50 49 44").unwrap(), b"\r\nPID");
        assert_eq!(from_hex(b"0xA5 0x40").unwrap(), [0xA5, 0x40]);
        assert_eq!(from_hex(b"").unwrap(), b"");
        assert!(from_hex(b"0d0").unwrap_err().contains("odd number"));
        assert!(from_hex(b"zz").unwrap_err().contains("not a hex digit"));
    }
}
