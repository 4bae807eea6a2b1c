#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std`. It adds no
//!   API: the error type implements `core::error::Error` in every configuration.
//! - `tokio-codec`: `SoyosourceCodec`, a `voltwire_core::codec::StreamCodec` alias; implies
//!   `std`.
//! - `defmt`: `defmt::Format` on the message and the error.
//! - `sim`: [`sim::Gtn`], a simulated inverter.
//! - `serde`: `serde::Serialize` on [`Demand`] in the JSON contract's shape (`docs/json.md`,
//!   `voltwire_core::json`): `{"power_w": N}`. Serialize only. `no_std`, no alloc.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "sim")]
pub mod sim;

use voltwire_core::{Emit, EncodeError, Framing, Protocol, Scan, ScanDecoder, Watts};

/// Length of a demand frame.
pub const FRAME_LEN: usize = 8;
/// The fixed bytes before the power.
pub const HEADER: [u8; 4] = [0x24, 0x56, 0x00, 0x21];
/// The fixed byte after the power.
pub const TRAILER: u8 = 0x80;
/// The line speed (8N1).
pub const BAUD: u32 = 4800;

/// Why a frame is not a demand frame.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer than 8 bytes.
    #[error("demand frame truncated: {len} of 8 bytes")]
    Truncated {
        /// Bytes given.
        len: usize,
    },
    /// A fixed byte (24 56 00 21 at 0..4, 80 at 6) differs.
    #[error("demand frame: byte {index} is 0x{found:02X}, not the fixed 0x{expected:02X}")]
    Fixed {
        /// Position of the byte.
        index: usize,
        /// The fixed value.
        expected: u8,
        /// What was there.
        found: u8,
    },
    /// The checksum does not verify.
    #[error("demand frame checksum 0x{found:02X}, expected 0x{expected:02X}")]
    Checksum {
        /// (264 − Phi − Plo) & 0xFF.
        expected: u8,
        /// The last byte.
        found: u8,
    },
}

impl Error {
    /// The coarse class of the error.
    pub const fn kind(&self) -> voltwire_core::ErrorKind {
        match self {
            Self::Truncated { .. } | Self::Fixed { .. } => voltwire_core::ErrorKind::Framing,
            Self::Checksum { .. } => voltwire_core::ErrorKind::Checksum,
        }
    }
}

/// The checksum of a frame carrying `hi`, `lo`: (264 − hi − lo) & 0xFF.
pub const fn checksum(hi: u8, lo: u8) -> u8 {
    // 264 mod 256 = 8; wrapping arithmetic is the & 0xFF.
    8u8.wrapping_sub(hi).wrapping_sub(lo)
}

/// A demand frame: the power the inverter should feed into the house.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Demand {
    /// Output power asked for (0..=65535 W on the wire; the unit clamps to its rating).
    pub power: Watts,
}

/// `{"power_w": N}`: the power asked for, in whole watts (`docs/json.md`).
#[cfg(feature = "serde")]
impl serde::Serialize for Demand {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Demand", 1)?;
        st.serialize_field("power_w", &self.power)?;
        st.end()
    }
}

/// The fixed byte expected at `index`, if that position is fixed.
const fn fixed(index: usize) -> Option<u8> {
    match index {
        0 => Some(0x24),
        1 => Some(0x56),
        2 => Some(0x00),
        3 => Some(0x21),
        6 => Some(TRAILER),
        _ => None,
    }
}

/// Checks the fixed bytes of `frame` (as many as it has).
fn check_fixed(frame: &[u8]) -> Result<(), Error> {
    for (index, &found) in frame.iter().enumerate().take(FRAME_LEN) {
        if let Some(expected) = fixed(index) {
            if found != expected {
                return Err(Error::Fixed {
                    index,
                    expected,
                    found,
                });
            }
        }
    }
    Ok(())
}

impl Demand {
    /// Parses one 8-byte frame (exactly the first 8 bytes of `frame` are read).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::Fixed`] or [`Error::Checksum`].
    pub fn parse(frame: &[u8]) -> Result<Self, Error> {
        let Some(&[_, _, _, _, hi, lo, _, cs]) = frame.first_chunk::<FRAME_LEN>() else {
            return Err(Error::Truncated { len: frame.len() });
        };
        check_fixed(frame)?;
        let expected = checksum(hi, lo);
        if cs != expected {
            return Err(Error::Checksum {
                expected,
                found: cs,
            });
        }
        Ok(Self {
            power: Watts(i32::from(u16::from_be_bytes([hi, lo]))),
        })
    }

    /// The frame as an array.
    ///
    /// # Errors
    ///
    /// [`EncodeError::OutOfRange`] (`power`) outside 0..=65535 W.
    pub fn to_bytes(&self) -> Result<[u8; FRAME_LEN], EncodeError> {
        let p =
            u16::try_from(self.power.0).map_err(|_| EncodeError::OutOfRange { field: "power" })?;
        let [hi, lo] = p.to_be_bytes();
        let mut out = [0; FRAME_LEN];
        let fields = HEADER
            .into_iter()
            .chain([hi, lo, TRAILER, checksum(hi, lo)]);
        for (dst, b) in out.iter_mut().zip(fields) {
            *dst = b;
        }
        Ok(out)
    }
}

impl Emit for Demand {
    fn buffer_len(&self) -> usize {
        FRAME_LEN
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let have = out.len();
        let dst = out
            .get_mut(..FRAME_LEN)
            .ok_or(EncodeError::BufferTooSmall {
                needed: FRAME_LEN,
                have,
            })?;
        dst.copy_from_slice(&self.to_bytes()?);
        Ok(FRAME_LEN)
    }
}

/// The demand-frame framing for [`ScanDecoder`].
///
/// `scan` looks for `24 56 00 21 .. .. 80` with a valid checksum. A candidate whose fixed
/// bytes hold but whose checksum fails is handed out as a frame (so [`Demand::parse`]
/// reports [`Error::Checksum`], a corrupted frame, not noise) unless a plausible start lies
/// inside it, in which case it is noise from its first byte. The decision reads only the
/// candidate's 8 bytes, so it is the same for every chunking.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Soyosource;

/// Whether `bytes` could be the start of a frame (its fixed bytes hold so far).
fn plausible(bytes: &[u8]) -> bool {
    !bytes.is_empty() && check_fixed(bytes).is_ok()
}

impl Framing for Soyosource {
    const MAX_FRAME_LEN: usize = FRAME_LEN;

    fn scan(buf: &[u8]) -> Scan {
        let mut start = 0;
        while let Some(cand) = buf.get(start..).filter(|c| !c.is_empty()) {
            if !plausible(cand) {
                start += 1;
                continue;
            }
            let Some(frame) = cand.get(..FRAME_LEN) else {
                return Scan::Incomplete { skip: start };
            };
            match Demand::parse(frame) {
                Ok(_) => {
                    return Scan::Frame {
                        skip: start,
                        len: FRAME_LEN,
                    };
                }
                Err(Error::Checksum { .. })
                    if !(1..FRAME_LEN).any(|i| frame.get(i..).is_some_and(plausible)) =>
                {
                    return Scan::Frame {
                        skip: start,
                        len: FRAME_LEN,
                    };
                }
                Err(_) => start += 1,
            }
        }
        Scan::Incomplete { skip: buf.len() }
    }
}

impl Protocol for Soyosource {
    type Message = Demand;
    type Error = Error;

    fn parse(frame: &[u8]) -> Result<Demand, Error> {
        Demand::parse(frame)
    }
}

/// A resynchronising stream decoder of [`Demand`] frames (16-byte buffer, no allocation).
pub type Decoder = ScanDecoder<Soyosource, 16>;

/// A `tokio_util::codec` decoder/encoder of [`Demand`] frames (feature `tokio-codec`).
#[cfg(feature = "tokio-codec")]
pub type SoyosourceCodec = voltwire_core::codec::StreamCodec<Decoder>;

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, reason = "test code")]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;
    use voltwire_core::StreamDecoder;

    type Items = Vec<(u64, Result<Demand, Error>)>;

    #[cfg(feature = "serde")]
    #[test]
    fn serde_demand_is_power_w() {
        // 500 W = 0x01F4; checksum 8 - 0x01 - 0xF4 = 0x13 (mod 256).
        let d = Demand::parse(&[0x24, 0x56, 0x00, 0x21, 0x01, 0xF4, 0x80, 0x13]).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"power_w":500}"#);
        let max = Demand {
            power: Watts(65_535),
        };
        assert_eq!(serde_json::to_string(&max).unwrap(), r#"{"power_w":65535}"#);
        assert_eq!(
            serde_json::to_string(&Demand::default()).unwrap(),
            r#"{"power_w":0}"#
        );
    }

    fn decode(bytes: &[u8], chunk: usize) -> (Items, u64) {
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for c in bytes.chunks(chunk.max(1)) {
            d.feed_all(c, |l| got.push((l.offset, l.value)));
        }
        (got, d.dropped_bytes())
    }

    #[test]
    fn known_frames() {
        // 0 W: CS = 264 & 0xFF = 0x08; 300 W = 0x012C: CS = (264 − 1 − 44) & 0xFF = 0xDB.
        assert_eq!(
            Demand { power: Watts(0) }.to_bytes().unwrap(),
            [0x24, 0x56, 0x00, 0x21, 0x00, 0x00, 0x80, 0x08]
        );
        assert_eq!(
            Demand { power: Watts(300) }.to_bytes().unwrap(),
            [0x24, 0x56, 0x00, 0x21, 0x01, 0x2C, 0x80, 0xDB]
        );
        assert_eq!(
            Demand::parse(&[0x24, 0x56, 0x00, 0x21, 0x03, 0xE8, 0x80, 0x1D]),
            Ok(Demand { power: Watts(1000) })
        );
        assert_eq!(
            Demand::parse(&[0x24, 0x56, 0x00, 0x21, 0x03, 0xE8, 0x80, 0x1E]),
            Err(Error::Checksum {
                expected: 0x1D,
                found: 0x1E
            })
        );
        assert_eq!(
            Demand::parse(&[0x24, 0x56, 0x01, 0x21, 0x03, 0xE8, 0x80, 0x1D]),
            Err(Error::Fixed {
                index: 2,
                expected: 0,
                found: 1
            })
        );
        assert_eq!(Demand::parse(&[0x24]), Err(Error::Truncated { len: 1 }));
        assert_eq!(
            Demand { power: Watts(-1) }.to_bytes(),
            Err(EncodeError::OutOfRange { field: "power" })
        );
        assert_eq!(
            Demand {
                power: Watts(65_536)
            }
            .to_bytes(),
            Err(EncodeError::OutOfRange { field: "power" })
        );
        let mut short = [0u8; 7];
        assert_eq!(
            Demand::default().emit(&mut short),
            Err(EncodeError::BufferTooSmall { needed: 8, have: 7 })
        );
    }

    #[test]
    fn resynchronises_after_garbage_and_reports_a_corrupt_frame() {
        let mut s = std::vec![0x24, 0x56, 0xFF, 0x13, 0x24];
        s.extend(Demand { power: Watts(250) }.to_bytes().unwrap());
        let mut bad = Demand { power: Watts(10) }.to_bytes().unwrap();
        bad[7] ^= 0x55;
        s.extend(bad);
        s.extend([0x00, 0x80]);
        s.extend(
            Demand {
                power: Watts(65_535),
            }
            .to_bytes()
            .unwrap(),
        );
        for chunk in [1, 3, 7, s.len()] {
            let (got, dropped) = decode(&s, chunk);
            assert_eq!(
                got,
                [
                    (5, Ok(Demand { power: Watts(250) })),
                    (
                        13,
                        Err(Error::Checksum {
                            expected: checksum(0, 10),
                            found: checksum(0, 10) ^ 0x55
                        })
                    ),
                    (
                        23,
                        Ok(Demand {
                            power: Watts(65_535)
                        })
                    ),
                ],
                "chunk {chunk}"
            );
            assert_eq!(dropped, 7);
        }
    }

    proptest! {
        #[test]
        fn round_trip(power in 0i32..=65_535) {
            let m = Demand { power: Watts(power) };
            let bytes = m.to_bytes().unwrap();
            prop_assert_eq!(Demand::parse(&bytes), Ok(m));
            let (got, dropped) = decode(&bytes, 3);
            prop_assert_eq!(got, std::vec![(0, Ok(m))]);
            prop_assert_eq!(dropped, 0);
        }

        #[test]
        fn any_input_any_chunking_same_items(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            chunk in 1usize..20,
        ) {
            let whole = decode(&data, data.len());
            prop_assert_eq!(&whole, &decode(&data, chunk));
            prop_assert!(whole.1 <= data.len() as u64);
        }

        #[test]
        fn frames_survive_surrounding_noise(
            noise in proptest::collection::vec(any::<u8>(), 0..40),
            power in 0i32..=65_535,
        ) {
            // Noise that cannot start a frame (no 0x24) before a frame: the frame is found.
            let mut data: Vec<u8> = noise.iter().map(|&b| if b == 0x24 { 0x25 } else { b }).collect();
            let m = Demand { power: Watts(power) };
            data.extend(m.to_bytes().unwrap());
            let (got, _) = decode(&data, 5);
            prop_assert_eq!(got.last().map(|g| g.1), Some(Ok(m)));
        }
    }
}
