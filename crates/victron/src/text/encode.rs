//! The TEXT encoder: blocks with correct checksums, for simulators and tests.

use voltwire_core::EncodeError;

use super::decoder::{MAX_LABEL_LEN, MAX_VALUE_LEN};

/// Fields per block the encoder writes before starting a new block (the protocol's limit).
pub const BLOCK_FIELDS: usize = 22;

/// Writes fields and checksums, counting the length even past the end of the buffer.
pub(crate) struct Writer<'a> {
    out: &'a mut [u8],
    pos: usize,
    sum: u8,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        Self {
            out,
            pos: 0,
            sum: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.pos
    }

    fn put(&mut self, b: u8) {
        if let Some(slot) = self.out.get_mut(self.pos) {
            *slot = b;
        }
        self.pos += 1;
        self.sum = self.sum.wrapping_add(b);
    }

    fn put_all(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.put(b);
        }
    }

    /// One `\r\n label \t value` field.
    pub(crate) fn field(&mut self, label: &[u8], value: &[u8]) -> Result<(), EncodeError> {
        let ok_label = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && label != b"Checksum"
            && label
                .iter()
                .all(|&c| (0x21..=0x7E).contains(&c) && c != b':');
        if !ok_label {
            return Err(EncodeError::InvalidText { field: "label" });
        }
        let ok_value = value.len() <= MAX_VALUE_LEN
            && value
                .iter()
                .all(|&c| (0x20..=0x7E).contains(&c) && c != b':');
        if !ok_value {
            return Err(EncodeError::InvalidText { field: "value" });
        }
        self.put_all(b"\r\n");
        self.put_all(label);
        self.put(b'\t');
        self.put_all(value);
        Ok(())
    }

    /// The closing `\r\n Checksum \t <byte>`, making the block sum to 0.
    pub(crate) fn checksum(&mut self) {
        self.put_all(b"\r\nChecksum\t");
        let c = self.sum.wrapping_neg();
        self.put(c);
        self.sum = 0;
    }
}

/// Write one block of `(label, value)` fields and its checksum into `out`; returns the
/// length written.
///
/// ```
/// # use voltwire_victron::text::emit_block;
/// let mut buf = [0u8; 64];
/// let n = emit_block(&[("V", "12530"), ("I", "640")], &mut buf).unwrap();
/// assert!(buf[..n].starts_with(b"\r\nV\t12530\r\nI\t640\r\nChecksum\t"));
/// assert_eq!(buf[..n].iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0);
/// ```
///
/// # Errors
/// [`EncodeError::InvalidText`] for an empty, too long or `Checksum` label, or a label or
/// value with a byte the protocol cannot carry (control characters, `:`, non-ASCII);
/// [`EncodeError::BufferTooSmall`] when `out` is too short.
pub fn emit_block(fields: &[(&str, &str)], out: &mut [u8]) -> Result<usize, EncodeError> {
    let have = out.len();
    let mut w = Writer::new(out);
    for (l, v) in fields {
        w.field(l.as_bytes(), v.as_bytes())?;
    }
    w.checksum();
    let needed = w.len();
    if needed > have {
        return Err(EncodeError::BufferTooSmall { needed, have });
    }
    Ok(needed)
}
