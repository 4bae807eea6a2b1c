//! The frame layer: one `:`…`\n` line, its command nibble, payload bytes and 0x55 checksum.
//!
//! ```text
//! ':' <command: 1 hex digit> <payload: 2 hex digits per byte> <checksum: 2 hex digits> ['\r'] '\n'
//!
//! :  7  00 10 00  3E  \n       Get battery capacity (register 0x1000, flags 0)
//!    |  |         |
//!    |  payload   checksum = 0x55 - 0x07 - 0x00 - 0x10 - 0x00 (mod 256)
//!    command nibble
//! ```
//!
//! [`Frame::parse`] is total: it returns for every input, without panicking, after at most
//! [`MAX_LINE_LEN`] bytes of work. Once it returns `Ok`, the frame's command is a nibble, its
//! payload holds at most [`MAX_PAYLOAD_LEN`] bytes and its checksum verified. [`Frame::emit`]
//! only fails when the output buffer is shorter than [`Frame::buffer_len`].

use core::fmt;
use core::str::FromStr;

use voltwire_core::EncodeError;
use voltwire_core::scan::Emit;

use super::HexError;

/// The longest payload a HEX frame carries: register id (2) + flags (1) + a 34-byte history
/// record. Longer lines are rejected as [`HexError::TooLong`].
pub const MAX_PAYLOAD_LEN: usize = 37;

/// The longest valid line, counting the `:`, the optional `\r` and the `\n`:
/// `1 + 1 + 2 × MAX_PAYLOAD_LEN + 2 + 1 + 1` = 80 bytes. A stream decoder that collects a
/// `:`…`\n` run can give up on (and resynchronise after) any run longer than this.
pub const MAX_LINE_LEN: usize = 1 + 1 + 2 * MAX_PAYLOAD_LEN + 2 + 2;

/// The value that command + payload + checksum add up to (mod 256).
pub const CHECKSUM_TARGET: u8 = 0x55;

/// Start marker of a HEX frame.
pub const START: u8 = b':';

/// Payload storage of a [`Frame`] (and of the generic payloads of some responses).
pub type Payload = heapless::Vec<u8, MAX_PAYLOAD_LEN>;

/// One HEX frame: a command nibble and up to [`MAX_PAYLOAD_LEN`] payload bytes.
///
/// The checksum is not stored: [`Frame::parse`] verifies it and [`Frame::emit`] computes it.
/// The fields are private so that every `Frame` is emittable: the command is `0..=0xF` and the
/// payload fits [`MAX_PAYLOAD_LEN`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    command: u8,
    payload: Payload,
}

use voltwire_core::hex::{digit as hex_digit, value as hex_value};

impl Frame {
    /// A frame with `command` (a nibble, `0..=0xF`) and `payload`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] with field `"command"` when `command > 0xF`, or `"payload"`
    /// when `payload` is longer than [`MAX_PAYLOAD_LEN`].
    pub fn new(command: u8, payload: &[u8]) -> Result<Self, EncodeError> {
        if command > 0x0F {
            return Err(EncodeError::OutOfRange { field: "command" });
        }
        let payload = Payload::from_slice(payload)
            .map_err(|()| EncodeError::OutOfRange { field: "payload" })?;
        Ok(Self { command, payload })
    }

    /// The command (request) or response code nibble, `0..=0xF`.
    pub const fn command(&self) -> u8 {
        self.command
    }

    /// The payload bytes (without the checksum).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The checksum byte this frame carries on the wire.
    pub fn checksum(&self) -> u8 {
        checksum(self.command, &self.payload)
    }

    /// Parse one line. `line` must start with `:`; the trailing `\n` (optionally preceded by
    /// `\r`) may be present or not. Hex digits may be upper or lower case.
    ///
    /// # Errors
    /// [`HexError::Empty`], [`HexError::MissingColon`], [`HexError::TooShort`],
    /// [`HexError::OddDigits`], [`HexError::TooLong`] (checked before any digit is decoded),
    /// [`HexError::BadDigit`] with the offset in `line`, and [`HexError::Checksum`].
    pub fn parse(line: &[u8]) -> Result<Self, HexError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some((&first, body)) = line.split_first() else {
            return Err(HexError::Empty);
        };
        if first != START {
            return Err(HexError::MissingColon { found: first });
        }
        let digits = body.len();
        if digits == 0 {
            return Err(HexError::Empty);
        }
        if digits < 3 {
            return Err(HexError::TooShort { digits });
        }
        if digits % 2 == 0 {
            return Err(HexError::OddDigits { digits });
        }
        let len = (digits - 3) / 2;
        if len > MAX_PAYLOAD_LEN {
            return Err(HexError::TooLong { len });
        }
        let Some((&c, pairs)) = body.split_first() else {
            return Err(HexError::Empty);
        };
        let command = hex_value(c).ok_or(HexError::BadDigit { offset: 1, byte: c })?;

        // Payload bytes followed by the checksum byte.
        let mut bytes = [0u8; MAX_PAYLOAD_LEN + 1];
        for ((i, pair), slot) in pairs.chunks_exact(2).enumerate().zip(bytes.iter_mut()) {
            let offset = 2 + 2 * i;
            let [hi, lo] = *pair else {
                return Err(HexError::OddDigits { digits });
            };
            let h = hex_value(hi).ok_or(HexError::BadDigit { offset, byte: hi })?;
            let l = hex_value(lo).ok_or(HexError::BadDigit {
                offset: offset + 1,
                byte: lo,
            })?;
            *slot = (h << 4) | l;
        }
        let decoded = bytes.get(..=len).unwrap_or_default();
        let Some((&actual, payload)) = decoded.split_last() else {
            return Err(HexError::TooShort { digits });
        };
        let expected = checksum(command, payload);
        if actual != expected {
            return Err(HexError::Checksum { expected, actual });
        }
        let payload = Payload::from_slice(payload).map_err(|()| HexError::TooLong { len })?;
        Ok(Self { command, payload })
    }

    /// Bytes [`Frame::emit`] writes: `:`, the command digit, two digits per payload byte, two
    /// checksum digits and `\n`.
    pub fn buffer_len(&self) -> usize {
        2 * self.payload.len() + 5
    }

    /// Write the frame as `:` + uppercase hex + checksum + `\n`; returns the length written.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `out` is shorter than [`Frame::buffer_len`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let needed = self.buffer_len();
        let too_small = EncodeError::BufferTooSmall {
            needed,
            have: out.len(),
        };
        let out = out.get_mut(..needed).ok_or(too_small)?;
        let (colon, rest) = out.split_first_mut().ok_or(too_small)?;
        let (cmd, rest) = rest.split_first_mut().ok_or(too_small)?;
        let (newline, body) = rest.split_last_mut().ok_or(too_small)?;
        *colon = START;
        *cmd = hex_digit(self.command);
        *newline = b'\n';
        let checksum = self.checksum();
        let bytes = self.payload.iter().chain(core::iter::once(&checksum));
        for (&b, pair) in bytes.zip(body.chunks_exact_mut(2)) {
            pair.copy_from_slice(&[hex_digit(b >> 4), hex_digit(b)]);
        }
        Ok(needed)
    }

    /// The frame as a line, `\n` included (a convenience over [`Frame::emit`]).
    pub fn to_line(&self) -> heapless::Vec<u8, MAX_LINE_LEN> {
        let mut buf = [0u8; MAX_LINE_LEN];
        let n = self.emit(&mut buf).unwrap_or(0);
        heapless::Vec::from_slice(buf.get(..n).unwrap_or_default()).unwrap_or_default()
    }
}

/// The checksum byte for `command` and `payload`: `(0x55 − command − Σ payload) mod 256`.
pub fn checksum(command: u8, payload: &[u8]) -> u8 {
    payload
        .iter()
        .fold(CHECKSUM_TARGET.wrapping_sub(command), |acc, &b| {
            acc.wrapping_sub(b)
        })
}

impl Emit for Frame {
    fn buffer_len(&self) -> usize {
        Frame::buffer_len(self)
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        Frame::emit(self, out)
    }
}

/// Writes the line without its `\n`, e.g. `:70010003E`.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ":{:X}", self.command)?;
        for b in &self.payload {
            write!(f, "{b:02X}")?;
        }
        write!(f, "{:02X}", self.checksum())
    }
}

impl FromStr for Frame {
    type Err = HexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    extern crate alloc;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    #[test]
    fn worked_examples_from_the_notes() {
        // (line, command, payload)
        let cases: &[(&str, u8, &[u8])] = &[
            (":70010003E", 7, &[0x00, 0x10, 0x00]),
            (":7001000C80076", 7, &[0x00, 0x10, 0x00, 0xC8, 0x00]),
            (":70010007800C6", 7, &[0x00, 0x10, 0x00, 0x78, 0x00]),
            (":7FF0F0040", 7, &[0xFF, 0x0F, 0x00]),
            (":7ADED00B4", 7, &[0xAD, 0xED, 0x00]),
            (":80002000447", 8, &[0x00, 0x02, 0x00, 0x04]),
            (":154", 1, &[]),
            (":352", 3, &[]),
            (":451", 4, &[]),
            (":4AAAAFD", 4, &[0xAA, 0xAA]),
        ];
        for &(line, command, payload) in cases {
            let f = Frame::parse(line.as_bytes()).unwrap();
            assert_eq!(f.command(), command, "{line}");
            assert_eq!(f.payload(), payload, "{line}");
            // Emit is the exact inverse.
            let mut with_nl = line.to_string();
            with_nl.push('\n');
            assert_eq!(f.to_line().as_slice(), with_nl.as_bytes());
            assert_eq!(f.to_string(), line);
            assert_eq!(Frame::new(command, payload).unwrap(), f);
        }
    }

    #[test]
    fn checksum_wraps() {
        // 0x55 - 7 - 0xFF - 0x0F - 0 = 0x40 (mod 256).
        assert_eq!(checksum(7, &[0xFF, 0x0F, 0x00]), 0x40);
        assert_eq!(checksum(1, &[]), 0x54);
    }

    #[test]
    fn terminators_and_case() {
        let a = Frame::parse(b":70010003E").unwrap();
        assert_eq!(Frame::parse(b":70010003E\n").unwrap(), a);
        assert_eq!(Frame::parse(b":70010003E\r\n").unwrap(), a);
        assert_eq!(
            Frame::parse(b":7adED00b4\n").unwrap().payload(),
            &[0xAD, 0xED, 0x00]
        );
        assert_eq!(":70010003E".parse::<Frame>().unwrap(), a);
    }

    #[test]
    fn real_async_frames() {
        // KinDR007 SmartSolar 150/70 replay and karioja BlueSolar dump.
        for line in [
            ":A2001002470030093\n",
            ":ADBED00BF0ABA\n",
            ":ABCED0045A10000BC\n",
            ":ABBED008D28EE\n",
            ":AB4ED000DA10000FC\n",
            ":AB5ED00802801\n",
            ":AD5ED009714DE\n",
            ":A8FED000D00C2\n",
            ":A5010000002000000040000002405C60400000000002E01000000000E0000000A00BA071300D7\n",
            ":A501000000000000000000000ED04C6040000000000C200000000000B0000000900C80D120172\n",
        ] {
            let f = Frame::parse(line.as_bytes()).unwrap();
            assert_eq!(f.command(), 0xA);
            assert_eq!(f.to_line().as_slice(), line.as_bytes());
        }
    }

    #[test]
    fn errors() {
        assert_eq!(Frame::parse(b""), Err(HexError::Empty));
        assert_eq!(Frame::parse(b"\n"), Err(HexError::Empty));
        assert_eq!(Frame::parse(b":\r\n"), Err(HexError::Empty));
        assert_eq!(
            Frame::parse(b"70010003E"),
            Err(HexError::MissingColon { found: b'7' })
        );
        assert_eq!(Frame::parse(b":15"), Err(HexError::TooShort { digits: 2 }));
        assert_eq!(
            Frame::parse(b":70010003"),
            Err(HexError::OddDigits { digits: 8 })
        );
        assert_eq!(
            Frame::parse(b":70010G03E"),
            Err(HexError::BadDigit {
                offset: 6,
                byte: b'G'
            })
        );
        assert_eq!(
            Frame::parse(b":X0010003E"),
            Err(HexError::BadDigit {
                offset: 1,
                byte: b'X'
            })
        );
        assert_eq!(
            Frame::parse(b":70010003F"),
            Err(HexError::Checksum {
                expected: 0x3E,
                actual: 0x3F
            })
        );
        // A stray CR in the middle is a bad digit, not a terminator.
        assert_eq!(
            Frame::parse(b":70\r10003E"),
            Err(HexError::BadDigit {
                offset: 3,
                byte: b'\r'
            })
        );
        // Longest payload is accepted, one more byte is not.
        let max = Frame::new(0xA, &[0x11; MAX_PAYLOAD_LEN]).unwrap();
        let mut line = max.to_line();
        assert_eq!(line.len(), MAX_LINE_LEN - 1);
        assert_eq!(Frame::parse(&line).unwrap(), max);
        line.pop();
        let _ = line.insert(line.len() - 2, b'0');
        let _ = line.insert(line.len() - 2, b'0');
        assert_eq!(
            Frame::parse(&line),
            Err(HexError::TooLong {
                len: MAX_PAYLOAD_LEN + 1
            })
        );
    }

    #[test]
    fn construction_limits() {
        assert_eq!(
            Frame::new(0x10, &[]),
            Err(EncodeError::OutOfRange { field: "command" })
        );
        assert_eq!(
            Frame::new(1, &[0; MAX_PAYLOAD_LEN + 1]),
            Err(EncodeError::OutOfRange { field: "payload" })
        );
    }

    #[test]
    fn emit_buffer_too_small() {
        let f = Frame::parse(b":70010003E").unwrap();
        assert_eq!(f.buffer_len(), 11);
        let mut buf = [0u8; 10];
        assert_eq!(
            f.emit(&mut buf),
            Err(EncodeError::BufferTooSmall {
                needed: 11,
                have: 10
            })
        );
        let mut buf = [0u8; 20];
        assert_eq!(Emit::emit(&f, &mut buf), Ok(11));
        assert_eq!(&buf[..11], b":70010003E\n");
    }

    proptest! {
        #[test]
        fn emit_parse_identity(command in 0u8..16, payload in proptest::collection::vec(any::<u8>(), 0..=MAX_PAYLOAD_LEN)) {
            let f = Frame::new(command, &payload).unwrap();
            let line = f.to_line();
            prop_assert_eq!(line.len(), f.buffer_len());
            prop_assert!(line.len() < MAX_LINE_LEN);
            prop_assert_eq!(Frame::parse(&line).unwrap(), f.clone());
            // Lower case and CR LF parse to the same frame.
            let mut lower: Vec<u8> = line.iter().map(u8::to_ascii_lowercase).collect();
            lower.pop();
            lower.extend_from_slice(b"\r\n");
            prop_assert_eq!(Frame::parse(&lower).unwrap(), f);
        }

        #[test]
        fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Frame::parse(&data);
        }

        #[test]
        fn parse_never_panics_on_plausible_lines(
            body in proptest::collection::vec(prop_oneof![
                Just(b'0'), Just(b'9'), Just(b'A'), Just(b'f'), Just(b'G'), Just(b'\r'), Just(b'\n'), Just(b':'), any::<u8>()
            ], 0..100)
        ) {
            let mut line = alloc::vec![b':'];
            line.extend_from_slice(&body);
            if let Ok(f) = Frame::parse(&line) {
                prop_assert_eq!(Frame::parse(&f.to_line()).unwrap(), f);
            }
        }

        #[test]
        fn single_corruption_is_detected(command in 0u8..16, payload in proptest::collection::vec(any::<u8>(), 0..=8), pos in any::<prop::sample::Index>(), delta in 1u8..=15) {
            let f = Frame::new(command, &payload).unwrap();
            let mut line = f.to_line();
            // Change one hex digit (not ':' or '\n') to another hex digit.
            let i = 1 + pos.index(line.len() - 2);
            let v = hex_value(line[i]).unwrap();
            line[i] = hex_digit(v.wrapping_add(delta));
            prop_assert!(Frame::parse(&line).is_err());
        }
    }
}
