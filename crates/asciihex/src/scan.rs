//! Finding frames in a byte stream.

use voltwire_core::{Framing, Protocol, Scan, ScanDecoder};

use crate::{EOI, Error, Frame, HEADER_LEN, MAX_FRAME_LEN, MAX_INFO_LEN, SOI, hex_value};

/// What [`scan_frame`] found at the front of a buffer.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Skip `skip` bytes of noise; the next `len` bytes are a valid frame.
    Frame {
        /// Noise before the frame.
        skip: usize,
        /// Length of the frame.
        len: usize,
    },
    /// Skip `skip` bytes of noise; the next `len` bytes have the shape of a frame (`~`, hex
    /// characters, CR) but fail `error` (a checksum or the length).
    Corrupt {
        /// Noise before the candidate.
        skip: usize,
        /// Length of the candidate, `~` through CR.
        len: usize,
        /// Why it is not a frame.
        error: Error,
    },
    /// Skip `skip` bytes; the rest may be the start of a frame (fewer than
    /// [`MAX_FRAME_LEN`] bytes).
    Incomplete {
        /// Noise that can be dropped.
        skip: usize,
    },
}

enum Candidate {
    Noise,
    Incomplete,
    Done(usize, Result<(), Error>),
}

fn candidate(c: &[u8]) -> Candidate {
    // c[0] is `~`. Find the first byte that is not a hex digit.
    let body = c.get(1..).unwrap_or_default();
    match body.iter().position(|&b| hex_value(b).is_none()) {
        None if c.len() >= MAX_FRAME_LEN => Candidate::Noise,
        None => Candidate::Incomplete,
        Some(i) => {
            let len = i + 2;
            if body.get(i) != Some(&EOI) || !(HEADER_LEN + 5..=MAX_FRAME_LEN).contains(&len) {
                return Candidate::Noise;
            }
            let frame = c.get(..len).unwrap_or_default();
            Candidate::Done(len, crate::frame::check(frame).map(drop))
        }
    }
}

/// Classify the next candidate in `buf`: a valid frame, a corrupt one (so that a caller can
/// report it), or an incomplete prefix. Bytes before a `~`, and `~` runs that are not
/// followed by hex digits and CR, are noise. Total: never panics; when it returns
/// `Incomplete { skip }`, fewer than [`MAX_FRAME_LEN`] bytes remain after `skip`.
pub fn scan_frame(buf: &[u8]) -> Found {
    let mut start = 0;
    loop {
        let rest = buf.get(start..).unwrap_or_default();
        let Some(p) = rest.iter().position(|&b| b == SOI) else {
            return Found::Incomplete { skip: buf.len() };
        };
        let skip = start + p;
        match candidate(buf.get(skip..).unwrap_or_default()) {
            Candidate::Noise => start = skip + 1,
            Candidate::Incomplete => return Found::Incomplete { skip },
            Candidate::Done(len, Ok(())) => return Found::Frame { skip, len },
            Candidate::Done(len, Err(error)) => return Found::Corrupt { skip, len, error },
        }
    }
}

/// The envelope as a [`Framing`]/[`Protocol`]: yields every valid frame, and a corrupt
/// candidate (`~` … CR with a bad checksum or length) as an error item — unless another `~`
/// inside it could start a real frame, in which case scanning resumes from the byte after
/// the candidate's `~` so that frame is not lost.
///
/// `N` is the INFO capacity of the [`Frame`]s it yields (default [`MAX_INFO_LEN`], any
/// frame): `ScanDecoder<AsciiHex<128>, 512>` yields `Frame<128>` items, and a valid frame with
/// more INFO is an [`Error::Capacity`] item. Scanning does not depend on `N`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
pub struct AsciiHex<const N: usize = MAX_INFO_LEN>;

impl<const N: usize> Framing for AsciiHex<N> {
    const MAX_FRAME_LEN: usize = MAX_FRAME_LEN;

    fn scan(buf: &[u8]) -> Scan {
        let mut start = 0;
        loop {
            match scan_frame(buf.get(start..).unwrap_or_default()) {
                Found::Frame { skip, len } => {
                    return Scan::Frame {
                        skip: start + skip,
                        len,
                    };
                }
                Found::Incomplete { skip } => return Scan::Incomplete { skip: start + skip },
                Found::Corrupt { skip, len, .. } => {
                    let at = start + skip;
                    let inner = buf.get(at + 1..at + len).unwrap_or_default();
                    if !inner.contains(&SOI) {
                        // A whole frame that fails its checks: `parse` reports why.
                        return Scan::Frame { skip: at, len };
                    }
                    // Retry from the byte after the failed candidate's `~`.
                    start = at + 1;
                }
            }
        }
    }
}

impl<const N: usize> Protocol for AsciiHex<N> {
    type Message = Frame<N>;
    type Error = Error;

    fn parse(frame: &[u8]) -> Result<Frame<N>, Error> {
        Frame::parse_sized(frame)
    }
}

/// A streaming decoder of frames with a fixed buffer of [`MAX_FRAME_LEN`] bytes.
pub type Decoder = ScanDecoder<AsciiHex, MAX_FRAME_LEN>;

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn finds_frames_between_noise() {
        let mut buf = std::vec::Vec::new();
        buf.extend_from_slice(b"\x00~zz~25");
        let at = buf.len();
        buf.extend_from_slice(b"~25014642E00201FD30\r\n");
        assert_eq!(scan_frame(&buf), Found::Frame { skip: at, len: 20 });
        assert_eq!(
            scan_frame(b"xx~25014642E00201FD31\r"),
            Found::Corrupt {
                skip: 2,
                len: 20,
                error: Error::Checksum {
                    expected: 0xFD30,
                    found: 0xFD31
                }
            }
        );
        // A whole corrupt frame is handed to `parse`, which reports it ...
        assert_eq!(
            <AsciiHex>::scan(b"~25014642E00201FD31\r~2501"),
            Scan::Frame { skip: 0, len: 20 }
        );
        // ... unless another `~` inside it may start the real frame.
        assert_eq!(
            <AsciiHex>::scan(b"~2~25014642E00201FD30\r"),
            Scan::Frame { skip: 2, len: 20 }
        );
        assert_eq!(scan_frame(b"ab~2501"), Found::Incomplete { skip: 2 });
        assert_eq!(scan_frame(b"abc"), Found::Incomplete { skip: 3 });
    }

    #[test]
    fn decoder_reports_a_corrupt_frame_and_goes_on() {
        use voltwire_core::StreamDecoder as _;
        let mut d = Decoder::new();
        let mut items = std::vec::Vec::new();
        d.feed_all(b"~25014642E00201FD31\r~25014642E00201FD30\r", |l| {
            items.push((l.offset, l.value.map(|f| f.cid2)));
        });
        assert_eq!(
            items,
            [
                (
                    0,
                    Err(Error::Checksum {
                        expected: 0xFD30,
                        found: 0xFD31
                    })
                ),
                (20, Ok(0x42)),
            ]
        );
    }

    #[test]
    fn caller_sized_decoder_reports_frames_it_cannot_hold() {
        use voltwire_core::StreamDecoder as _;
        let mut d = ScanDecoder::<AsciiHex<0>, 64>::new();
        let mut items = std::vec::Vec::new();
        d.feed_all(b"~25014642E00201FD30\r~200246610000FDAB\r", |l| {
            items.push((l.offset, l.value.map(|f| (f.cid2, f.info.len()))));
        });
        assert_eq!(
            items,
            [
                (
                    0,
                    Err(Error::Capacity {
                        len: 1,
                        capacity: 0
                    })
                ),
                (20, Ok((0x61, 0))),
            ]
        );
        assert_eq!(
            Error::Capacity {
                len: 1,
                capacity: 0
            }
            .code(),
            "capacity"
        );
    }

    #[test]
    fn endless_hex_is_noise() {
        let mut buf = std::vec![b'~'];
        buf.resize(MAX_FRAME_LEN + 10, b'0');
        assert_eq!(scan_frame(&buf), Found::Incomplete { skip: buf.len() });
    }
}
