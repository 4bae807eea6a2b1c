//! CAN frames and the `t`/`T`/`r`/`R` lines that carry them.

use voltwire_core::EncodeError;

use crate::Error;

/// A classic CAN frame: the shared [`voltwire_core::can::CanFrame`] (11- or 29-bit id, data
/// or remote, 0-8 bytes), an [`embedded_can::Frame`].
pub use voltwire_core::can::CanFrame;

/// A frame line: the frame and, when the adapter has timestamps on (`Z1`), its 16-bit
/// millisecond counter (0-59999, wrapping every 60 s).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameLine {
    /// The frame.
    pub frame: CanFrame,
    /// Timestamp in ms. Wire: 4 hex digits after the data.
    pub timestamp: Option<u16>,
}

impl From<CanFrame> for FrameLine {
    fn from(frame: CanFrame) -> Self {
        Self {
            frame,
            timestamp: None,
        }
    }
}

pub(crate) use voltwire_core::hex::value as hex_val;

/// Parse hex digits (1-8) into a number.
pub(crate) fn hex_num(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |acc, &c| Some((acc << 4) | u32::from(hex_val(c)?)))
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// A tiny bounded writer over `&mut [u8]`.
pub(crate) struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut [u8], needed: usize) -> Result<Self, EncodeError> {
        if out.len() < needed {
            return Err(EncodeError::BufferTooSmall {
                needed,
                have: out.len(),
            });
        }
        Ok(Self { out, at: 0 })
    }

    pub(crate) fn byte(&mut self, b: u8) {
        if let Some(slot) = self.out.get_mut(self.at) {
            *slot = b;
            self.at += 1;
        }
    }

    pub(crate) fn bytes(&mut self, bs: &[u8]) {
        for &b in bs {
            self.byte(b);
        }
    }

    /// `digits` upper-case hex digits of `v`, most significant first.
    pub(crate) fn hex(&mut self, v: u32, digits: u32) {
        for i in (0..digits).rev() {
            let nib = (v >> (i * 4)) & 0xF;
            self.byte(HEX.get(nib as usize).copied().unwrap_or(b'0'));
        }
    }

    pub(crate) fn done(self) -> usize {
        self.at
    }
}

impl FrameLine {
    /// Parse a line (without its CR) that starts with `t`, `T`, `r` or `R`.
    ///
    /// # Errors
    /// [`Error::BadFrame`] for a wrong length, a non-hex digit, a DLC above 8 or an id out
    /// of range.
    pub fn parse(line: &[u8]) -> Result<Self, Error> {
        let bad = Error::BadFrame;
        let (&kind, rest) = line.split_first().ok_or(bad)?;
        let (extended, remote) = match kind {
            b't' => (false, false),
            b'T' => (true, false),
            b'r' => (false, true),
            b'R' => (true, true),
            _ => return Err(bad),
        };
        let id_len = if extended { 8 } else { 3 };
        let (id_digits, rest) = rest.split_at_checked(id_len).ok_or(bad)?;
        let id = hex_num(id_digits).ok_or(bad)?;
        let (&dlc_digit, rest) = rest.split_first().ok_or(bad)?;
        let dlc = hex_val(dlc_digit).filter(|d| *d <= 8).ok_or(bad)?;
        let data_len = if remote { 0 } else { usize::from(dlc) * 2 };
        let (data_digits, rest) = rest.split_at_checked(data_len).ok_or(bad)?;
        let mut data = [0u8; 8];
        for (slot, pair) in data.iter_mut().zip(data_digits.chunks_exact(2)) {
            *slot = u8::try_from(hex_num(pair).ok_or(bad)?).map_err(|_| bad)?;
        }
        let timestamp = match rest.len() {
            0 => None,
            4 => Some(u16::try_from(hex_num(rest).ok_or(bad)?).map_err(|_| bad)?),
            _ => return Err(bad),
        };
        let frame = if remote {
            CanFrame::remote_frame(id, extended, usize::from(dlc))
        } else {
            CanFrame::data_frame(
                id,
                extended,
                data.get(..usize::from(dlc)).unwrap_or_default(),
            )
        }
        .ok_or(bad)?;
        Ok(Self { frame, timestamp })
    }

    /// Bytes [`FrameLine::emit`] writes, including the CR.
    pub fn buffer_len(&self) -> usize {
        let id = if self.frame.is_extended() { 8 } else { 3 };
        let data = if self.frame.is_remote() {
            0
        } else {
            self.frame.dlc() * 2
        };
        let ts = if self.timestamp.is_some() { 4 } else { 0 };
        1 + id + 1 + data + ts + 1
    }

    /// Write the line (upper-case hex, CR-terminated); returns the bytes written.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(out, self.buffer_len())?;
        let f = &self.frame;
        w.byte(match (f.is_extended(), f.is_remote()) {
            (false, false) => b't',
            (true, false) => b'T',
            (false, true) => b'r',
            (true, true) => b'R',
        });
        w.hex(f.id(), if f.is_extended() { 8 } else { 3 });
        w.hex(u32::try_from(f.dlc()).unwrap_or(0), 1);
        for &b in f.data() {
            w.hex(u32::from(b), 2);
        }
        if let Some(ts) = self.timestamp {
            w.hex(u32::from(ts), 4);
        }
        w.byte(b'\r');
        Ok(w.done())
    }
}
